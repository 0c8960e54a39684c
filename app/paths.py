"""Where the app's files are: at the top of a source checkout, or inside the package once installed."""

import os

PACKAGE = os.path.dirname(os.path.abspath(__file__))
CHECKOUT = os.path.dirname(PACKAGE)
# A wheel carries templates/, static/ and migrations/ inside app/ (setup.py); a checkout has them on top.
INSTALLED = not os.path.isfile(os.path.join(CHECKOUT, "pyproject.toml"))


def shipped(name: str) -> str:
    """The folder `templates`, `static` or `migrations`, wherever this copy of the app keeps it."""
    return os.path.join(PACKAGE if INSTALLED else CHECKOUT, name)


def default_instance_dir() -> str | None:
    """instance/ in a checkout; once installed, Flask's own default (<prefix>/var/app-instance)."""
    return None if INSTALLED else os.path.join(CHECKOUT, "instance")


def default_upload_dir(instance_path: str) -> str:
    """uploads/ in a checkout; beside the database in the instance folder once installed."""
    return os.path.join(instance_path if INSTALLED else CHECKOUT, "uploads")
