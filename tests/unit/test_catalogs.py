"""The Chinese and English catalogs are complete: every string in the source has a translation
that keeps its placeholders, and the compiled catalogs serve it."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from scripts.catalogs import translated

ROOT = Path(__file__).resolve().parents[2]
TR = ROOT / "app" / "translations"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\d*\}")


def catalog(lang: str):
    with (TR / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=lang)


@pytest.fixture(scope="module")
def source_ids(tmp_path_factory) -> set[str]:
    """Every msgid in the code and templates today (extracted afresh)."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    pybabel = str(Path(sys.executable).with_name("pybabel"))
    subprocess.run(
        [pybabel, "extract", "-F", "babel.cfg", "-k", "_l", "--no-location", "-o", str(pot), "."],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as fh:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_every_source_string_is_translated(source_ids, lang):
    done = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog(lang) if m.id and translated(m)}
    missing = sorted(source_ids - done)
    assert missing == [], (
        f"{len(missing)} strings without a {lang} translation (run scripts/catalogs.py): {missing[:20]}"
    )


def test_translations_keep_the_placeholders():
    wrong = []
    for m in catalog("zh_CN"):
        if not m.id:
            continue
        ids = [m.id] if isinstance(m.id, str) else list(m.id)
        strings = [m.string] if isinstance(m.string, str) else list(m.string)
        want = sorted(PLACEHOLDER.findall(ids[-1]))
        for s in strings:
            if (
                s
                and sorted(PLACEHOLDER.findall(s)) != want
                and sorted(PLACEHOLDER.findall(s)) != sorted(PLACEHOLDER.findall(ids[0]))
            ):
                wrong.append((ids[0], s))
    assert wrong == []
