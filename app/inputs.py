"""Numbers, row ids, page numbers and dates sent by clients: read strictly, refused with a clear 400.

Python's int() reads '²', '1_0' and numbers of any size; the database's integer columns stop at
2**31 - 1 (PostgreSQL raises beyond it, SQLite beyond 2**63), and dates near year 1 or 9999 overflow
once shifted to UTC. So ids, pages and dates from clients are checked here before any query.
"""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from werkzeug.routing import IntegerConverter

from app.errors import ValidationFailed

MAX_ID = 2**31 - 1  # the largest value of an Integer column
MAX_PAGE = 1_000_000


def whole_number(value, maximum: int = MAX_ID) -> int | None:
    """`value` as a whole number from 0 to `maximum` (a JSON integer or ASCII digits), else None."""
    if isinstance(value, bool):  # JSON true is not the number 1
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        if not (text.isascii() and text.isdigit()) or len(text) > len(str(maximum)):
            return None
        number = int(text)
    else:
        return None
    return number if 0 <= number <= maximum else None


def integer(value: str | None, default: int | None = None) -> int | None:
    """An optionally signed whole number in ASCII digits (absent or empty: `default`); ValueError for
    anything else (int() alone takes '²', '1_000' and '１')."""
    if value is None or value == "":
        return default
    digits = value.strip().removeprefix("-")
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError(value)
    return int(value)


def record_id(value) -> int | None:
    """`value` as a row id (1 to MAX_ID), else None."""
    number = whole_number(value)
    return number if number else None


def _out_of_range(name: str, high: int) -> ValidationFailed:
    return ValidationFailed(
        _l("%(name)s must be a whole number from %(low)d to %(high)d.", name=name, low=1, high=high),
        code="invalid_number",
    )


def page_number(value, maximum: int = MAX_PAGE) -> int:
    """A page number from a query string (absent or empty: 1); 400 unless a whole number 1..maximum."""
    try:
        page = integer(value if value is None else str(value), 1)
    except ValueError:
        raise ValidationFailed(_l("The page number must be a whole number."), code="invalid_page") from None
    if not 1 <= page <= maximum:
        raise _out_of_range("page", maximum)
    return page


def id_filter(value, name: str) -> int | None:
    """A row id from a query string (absent or empty: None); 400 unless a whole number 1..MAX_ID."""
    if value is None or value == "":
        return None
    number = record_id(value)
    if number is None:
        raise _out_of_range(name, MAX_ID)
    return number


YES, NO = ("1", "true", "on", "yes"), ("", "0", "false", "off", "no")


def flag(value, name: str) -> bool:
    """A yes/no value (absent: no): JSON true/false, or 1/0, true/false, on/off, yes/no; 400 otherwise."""
    if isinstance(value, bool):
        return value
    text = "" if value is None else str(value).strip().lower() if isinstance(value, (int, str)) else "?"
    if text in YES:
        return True
    if text in NO:
        return False
    raise ValidationFailed(_l("%(name)s must be 1 or 0.", name=name), code="invalid_flag")


def day(value: str | None, what: str) -> date | None:
    """A YYYY-MM-DD date between 1900 and 2999 (absent or empty: None); 400 otherwise."""
    if not value:
        return None
    try:
        when = date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(_l("%(what)s is not a date (YYYY-MM-DD).", what=what), code="invalid_date") from None
    if not 1900 <= when.year <= 2999:
        raise ValidationFailed(_l("%(what)s must be a date between 1900 and 2999.", what=what), code="invalid_date")
    return when


class RowIdConverter(IntegerConverter):
    """`<int:...>` in URLs: a number beyond any row id is a 404, not a database error."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)
