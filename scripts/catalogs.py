"""Keep the translation catalogs complete: extract, update, fill English from the source, compile.

English is the source language, so its catalog copies each msgid; Chinese comes from translators.
`python scripts/catalogs.py` prints the Chinese entries still missing and exits 1 if there are any;
`--merge FILE.json` first fills Chinese entries from a {msgid: translation} file from a translator.
"""

import json
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
TR = ROOT / "app" / "translations"
PYBABEL = str(Path(sys.executable).with_name("pybabel"))


def translated(msg) -> bool:
    """Every form of the entry has a string and none is marked fuzzy (the rule this script and
    tests/unit/test_catalogs.py share)."""
    strings = [msg.string] if isinstance(msg.string, str) else list(msg.string)
    return all(strings) and "fuzzy" not in msg.flags


def run(*args: str) -> None:
    subprocess.run([PYBABEL, *args], cwd=ROOT, check=True, capture_output=True)


def main() -> int:
    run("extract", "-F", "babel.cfg", "-k", "_l", "--no-location", "--sort-output", "-o", str(TR / "messages.pot"), ".")
    run("update", "-i", str(TR / "messages.pot"), "-d", str(TR), "--no-fuzzy-matching", "--ignore-obsolete")
    en = TR / "en" / "LC_MESSAGES" / "messages.po"
    with en.open("rb") as fh:
        cat = read_po(fh, locale="en")
    for msg in cat:
        if msg.id and not translated(msg):
            msg.string = msg.id if not msg.pluralizable else tuple(msg.id)
            msg.flags.discard("fuzzy")
    with en.open("wb") as fh:
        write_po(fh, cat, width=0)
    zh = TR / "zh_CN" / "LC_MESSAGES" / "messages.po"
    with zh.open("rb") as fh:
        zcat = read_po(fh, locale="zh_CN")
    merge = sys.argv[sys.argv.index("--merge") + 1] if "--merge" in sys.argv else None
    if merge:
        table = json.loads(Path(merge).read_text(encoding="utf-8"))
        for m in zcat:
            key = m.id if isinstance(m.id, str) else m.id[0]
            if m.id and key in table and table[key]:
                m.string = table[key] if not m.pluralizable else (table[key],)
                m.flags.discard("fuzzy")
        with zh.open("wb") as fh:
            write_po(fh, zcat, width=0)
    missing = [m.id for m in zcat if m.id and not translated(m)]
    run("compile", "-d", str(TR))
    for m in missing:
        print("missing zh_CN:", m if isinstance(m, str) else m[0])
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
