"""Build hook: a wheel carries the templates, static files, migrations and compiled catalogs inside `app/`.

In a source checkout they stay at the top level (the layout the project keeps); `app.paths` finds either.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = ("templates", "static", "migrations")


class BuildWithAssets(build_py):
    """The usual build, plus the folders the app reads at run time and the .mo files of every catalog."""

    def run(self):
        super().run()
        if self.dry_run:
            return
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        target = Path(self.build_lib) / "app"
        for name in SHIPPED:
            shutil.copytree(
                ROOT / name, target / name, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        for po in (ROOT / "app" / "translations").glob("*/LC_MESSAGES/messages.po"):
            out = target / po.relative_to(ROOT / "app").with_suffix(".mo")
            out.parent.mkdir(parents=True, exist_ok=True)
            with po.open("rb") as src, out.open("wb") as dst:
                write_mo(dst, read_po(src, locale=po.parent.parent.name))


setup(cmdclass={"build_py": BuildWithAssets})
