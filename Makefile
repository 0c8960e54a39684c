# GridSnap: `make run` serves the demo, `make test` runs the whole suite. Both set everything up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
STAMP := $(VENV)/.installed

.PHONY: run test lint setup db migrate serve translations audit lock clean

# Installed at the versions of requirements.lock (pip constraints): the versions `make audit` scans.
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements.lock -e '.[test]'
	touch $(STAMP)

# The compiled catalogs (.mo) are built from the committed .po files.
MO := app/translations/zh_CN/LC_MESSAGES/messages.mo app/translations/en/LC_MESSAGES/messages.mo
$(MO): $(STAMP) app/translations/zh_CN/LC_MESSAGES/messages.po app/translations/en/LC_MESSAGES/messages.po
	$(BIN)/pybabel compile -d app/translations >/dev/null

setup: $(STAMP) $(MO)

db: $(STAMP) $(MO)
	$(FLASK) db upgrade
	$(FLASK) demo load --if-empty

HOST ?= 127.0.0.1
PORT ?= 5000

# The web server and, beside it, the worker that delivers notifications and escalates late reports
# (stopped with the server).
run: db
	$(FLASK) worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(FLASK) run --host $(HOST) --port $(PORT)

# Production: the migrations and the reference categories, never the demo accounts. With several app
# servers run it once per release (e.g. on one machine), then start gunicorn everywhere.
migrate: $(STAMP)
	$(FLASK) db upgrade
	$(FLASK) db seed

# Production server: gunicorn with gunicorn.conf.py (GRIDSNAP_BIND, GRIDSNAP_WORKERS, ... from the environment).
serve: migrate $(MO)
	$(BIN)/gunicorn -c gunicorn.conf.py

# The lint gate: ruff (pyflakes, isort, bugbear, pyupgrade, complexity), the formatting, and the import
# contracts of docs/ARCHITECTURE.md. `make test` runs it first.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

test: lint $(MO)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# Extract new strings, update both catalogs (English filled from the source), compile; lists missing Chinese.
translations: $(STAMP)
	$(BIN)/python scripts/catalogs.py

# Known vulnerabilities in the locked Python packages (pip-audit) and the vendored browser libraries
# (npm audit, high and critical); a scan that cannot reach its advisory database says NOT CHECKED.
audit: $(STAMP)
	$(BIN)/pip install --quiet -c requirements.lock pip-audit  # the audit extra's one package, not the project again
	$(BIN)/python scripts/audit.py

# Re-pin requirements.lock to what the virtualenv has (after changing pyproject.toml's ranges).
lock: $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,audit]'
	{ head -1 requirements.lock; $(BIN)/pip freeze --exclude-editable | grep -v '^gridsnap'; } > requirements.lock.new
	mv requirements.lock.new requirements.lock

clean:
	rm -rf $(VENV) instance/*.db
