# GridSnap: `make run` serves the demo, `make test` runs the whole suite. Both set everything up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
STAMP := $(VENV)/.installed

.PHONY: run test setup db serve translations clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

db: $(STAMP)
	$(FLASK) db upgrade
	$(FLASK) demo load --if-empty

run: db
	$(FLASK) run --host 127.0.0.1 --port 5000

# Production server: gunicorn with gunicorn.conf.py (GRIDSNAP_BIND, GRIDSNAP_WORKERS, ... from the environment).
serve: db
	$(BIN)/gunicorn -c gunicorn.conf.py

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -o app/translations/messages.pot .
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations --no-fuzzy-matching
	$(BIN)/pybabel compile -d app/translations

clean:
	rm -rf $(VENV) instance/*.db
