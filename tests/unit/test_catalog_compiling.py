"""A checkout run without `make` still speaks Chinese: missing or stale catalogs are compiled at start."""

import gettext
import os
import shutil
from pathlib import Path

from app.i18n import compile_stale_catalogs

SOURCE = Path(__file__).resolve().parents[2] / "app" / "translations" / "zh_CN" / "LC_MESSAGES" / "messages.po"


def test_a_missing_catalog_is_compiled_and_a_fresh_one_left_alone(tmp_path):
    folder = tmp_path / "zh_CN" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    shutil.copy(SOURCE, folder / "messages.po")
    assert compile_stale_catalogs(str(tmp_path)) == [str(folder / "messages.mo")]
    with (folder / "messages.mo").open("rb") as fh:
        assert gettext.GNUTranslations(fh).gettext("Log in") == "登录"
    assert compile_stale_catalogs(str(tmp_path)) == []
    os.utime(folder / "messages.po", (1e10, 1e10))  # the .po edited after it was compiled
    assert compile_stale_catalogs(str(tmp_path)) == [str(folder / "messages.mo")]
