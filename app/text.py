"""Plain text from clients: no control characters (PostgreSQL refuses NUL in text, XML the rest)."""

_CONTROL = dict.fromkeys(c for c in range(32) if chr(c) not in "\t\n\r")
_CONTROL_AND_BREAKS = dict.fromkeys(range(32))


def clean_text(value, *, single_line: bool = False) -> str:
    """`value` as trimmed text without control characters; `single_line` drops tabs and line breaks too."""
    return str(value or "").translate(_CONTROL_AND_BREAKS if single_line else _CONTROL).strip()
