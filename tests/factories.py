"""Rows and requests for tests, made through the real services.

Which helper when:

- A user: `make_user(username, role, ...)`. No password hash unless you pass `password=` (hashing is slow):
  pass `password=PASSWORD` only when a password is typed (the login form, a browser page, a password
  change). `token=True` also returns bearer headers for the API: `user, headers = make_user(..., token=True)`.
  A further token of an existing user (or a plain one to pass as an Open311 api_key): `api_token(user)`,
  and `bearer(plain)` turns it into headers.
- A report: `file_report(user, ...)` files one through the real submission service, with a photo (what a
  rider's phone does). `report_row(user, ..., at=...)` writes the row as filed at a chosen moment, without
  photos, for tests about time (deadlines, weeks, backlogs).
- A report's later life: `history(report, moves)` drives the real triage service (`transition`), each move at
  its own moment; `raw_history(...)` writes events the service cannot (old or imported data) and says so.
- Logging a test client in: `log_in(client, user)` (the session a successful login leaves). Only where the
  login form itself (or the password) is under test: `log_in_through_form(client, username, password)`.
  A browser page logs in with `log_in_page` from tests/e2e/conftest.py.
- Pictures: `jpeg()`, `png()` made on the fly; `photo_fixture(name)` for the real photos in tests/fixtures.
"""

import io
import re
import struct
import zlib
from datetime import timedelta

from PIL import Image
from sqlalchemy import select

from app.auth.services import create_token, create_user, start_session
from app.extensions import db
from app.models import Category, Department, Report, ReportEvent, Team, User, utcnow
from app.reports.services import submit_report
from app.storage import photo_store

PASSWORD = "correct-horse-1"
QIANWEI = (29.2089, 103.9512)


# -- people ------------------------------------------------------------------------------------


def make_user(username="rider1", role="rider", *, password=None, token=False, team=None, department=None, **cols):
    """A user (the team is made if new; `department` is a code); (user, bearer headers) when token=True.

    With a password it goes through the real create_user (hashing it); without one it is a row that
    cannot log in through the form (log it in with `log_in`)."""
    dept_id = cols.pop("department_id", None)
    if department:
        dept_id = db.session.scalar(select(Department.id).where(Department.code == department))
    if password is not None:
        u = create_user(username, password, role, team=team, department_id=dept_id, **cols)
    else:
        u = User(
            username=username,
            display_name=cols.pop("display_name", username),
            role=role,
            password_hash="!",
            department_id=dept_id,
            **cols,
        )
        if team:
            u.team = db.session.scalar(select(Team).where(Team.name == team)) or Team(name=team)
        db.session.add(u)
    db.session.commit()
    return (u, bearer(api_token(u))) if token else u


def api_token(u) -> str:
    """A new API token of this user, in plain text."""
    _t, plain = create_token(u, "test")
    db.session.commit()
    return plain


def bearer(plain_token: str) -> dict:
    """The headers that send this token to the API."""
    return {"Authorization": f"Bearer {plain_token}"}


def log_in(client, u) -> None:
    """Log the client in as `u` (a user or a user name) with the session a successful login leaves behind."""
    if isinstance(u, str):
        u = db.session.scalar(select(User).where(User.username == u))
    login = start_session(u)
    db.session.commit()
    with client.session_transaction() as sess:
        sess["_user_id"] = login.id
        sess["_fresh"] = True


def log_in_through_form(client, username, password=PASSWORD):
    """Post the /login/password form (with its CSRF token), for tests of the form and of passwords; returns the
    answer."""
    page = client.get("/login/password")
    token = csrf_from(page.get_data(as_text=True))
    return client.post("/login/password", data={"username": username, "password": password, "csrf_token": token})


def sms_code(phone: str) -> str:
    """A sign-in code for the number, stored as a sent one would be (not sent, not counted by the limits)."""
    from app.auth import codes

    code, _row = codes.issue_code(codes.phone_number(phone))
    db.session.commit()
    return code


def csrf_from(html: str) -> str:
    m = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf-token" content="([^"]+)"', html
    )
    assert m, "no CSRF token on the page"
    return m.group(1)


# -- reports -----------------------------------------------------------------------------------


def file_report(u, category="illegal_parking", lat=QIANWEI[0], lon=QIANWEI[1], **kw):
    """A report filed now through the real submission service, with a photo (`photos=` for others)."""
    r, _created = submit_report(
        u, photo_store(), category=category, photos=kw.pop("photos", [jpeg()]), lat=lat, lon=lon, **kw
    )
    db.session.commit()
    return r


def report_row(u, category="illegal_parking", at=None, lat=QIANWEI[0], lon=QIANWEI[1], **cols):
    """A report row filed at a chosen moment (no photos), with its deadlines and `submitted` event."""
    from app.reports.geo import cell_of

    at = at or utcnow()
    cat = db.session.scalar(select(Category).where(Category.code == category))
    r = Report(
        user_id=u.id,
        category_id=cat.id,
        lat=lat,
        lon=lon,
        cell=cell_of(lat, lon),
        created_at=at,
        captured_at=at,
        updated_at=at,
        accept_due_at=cols.pop("accept_due_at", at + timedelta(hours=cat.accept_hours)),
        resolve_due_at=cols.pop("resolve_due_at", at + timedelta(hours=cat.resolve_hours)),
        department_id=cols.pop("department_id", cat.default_department_id),
        **cols,
    )
    db.session.add(r)
    db.session.flush()
    db.session.add(ReportEvent(report_id=r.id, kind="submitted", created_at=at, to_status="submitted"))
    db.session.commit()
    return r


def _filed_before(r, first) -> None:
    """Date the report (and its events so far) before its first move, keeping the timeline in order."""
    if first is None or r.created_at <= first:
        return
    for ev in db.session.scalars(select(ReportEvent).where(ReportEvent.report_id == r.id)):
        ev.created_at = first - (r.created_at - ev.created_at) - timedelta(minutes=5)
    r.created_at = first - timedelta(minutes=5)
    db.session.flush()


def history(r, moves, actor=None):
    """Move a report through the real triage service: moves are (to_status, when[, what the move needs]).

    What a move needs is given as the service takes it (note, outcome, duplicate_of, department_id,
    assignee_id); left out, a note is made up where one is required and a dispatch goes to the report's
    department. The actor is a coordinator, made on first use, unless one is given."""
    from app.triage.services import transition
    from app.triage.workflow import is_legal, requirements

    _filed_before(r, min((m[1] for m in moves), default=None))
    if actor is None:
        actor = db.session.scalar(select(User).where(User.username == "history-coordinator")) or make_user(
            "history-coordinator", "coordinator"
        )
    for to, when, *rest in moves:
        given = dict(rest[0]) if rest else {}
        needs = requirements(r.status, to) if is_legal(r.status, to) else ()  # else the service refuses it
        if "note" in needs:
            given.setdefault("note", f"{to} in a test")
        if "assignee_or_department" in needs and not given.get("assignee_id"):
            given.setdefault("department_id", r.department_id or db.session.scalar(select(Department.id)))
        transition(r, actor, to, version=r.version, now=when, **given)
    db.session.commit()
    return r


def raw_history(r, moves, actor=None):
    """Write status events directly, without the triage service: ONLY for histories the service cannot
    write (a close without an outcome, or with one it does not know, as older events or imports carry; a
    reopened report still measured against its first deadline, as reopened before reopening refreshed it).
    Moves are (to_status, when[, details]); the report's status (and, when closed, its outcome) follow."""
    _filed_before(r, min((m[1] for m in moves), default=None))
    prev = r.status
    for to, when, *rest in moves:
        details = rest[0] if rest else {}
        db.session.add(
            ReportEvent(
                report_id=r.id,
                actor=actor,
                kind="transition",
                created_at=when,
                from_status=prev,
                to_status=to,
                details=details,
            )
        )
        prev = to
        if to == "accepted" and (r.first_accepted_at is None or when < r.first_accepted_at):
            r.first_accepted_at = when
    r.status = prev
    if prev == "closed":
        r.outcome = (moves[-1][2] if len(moves[-1]) > 2 else {}).get("outcome")
        r.closed_at = moves[-1][1]
    db.session.commit()
    return r


# -- pictures and stored files -----------------------------------------------------------------


def jpeg(width=640, height=480, colour=(200, 80, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "JPEG")
    return out.getvalue()


def png(width: int, height: int, mode: str = "RGBA") -> bytes:
    """A valid PNG (RGBA, RGB, or "I;16": 16-bit grey) of any size, written a row at a time: a 7000 x 7000
    picture is ~1 MB of file and never 196 MB of memory here."""
    depth, colour_type, channels = {"RGBA": (8, 6, 4), "RGB": (8, 2, 3), "I;16": (16, 0, 1)}[mode]
    row = b"\x00" + bytes((x * 7) % 251 for x in range(width * channels * depth // 8))  # filter 0, a pattern
    packer = zlib.compressobj(1)
    data = b"".join([*(packer.compress(row) for _ in range(height)), packer.flush()])

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def photo_fixture(name: str) -> bytes:
    """A real photo from tests/fixtures/photos (see its MANIFEST.tsv)."""
    from tests.conftest import fixture_bytes

    return fixture_bytes("photos/" + name)


def stored_keys() -> list[str]:
    """Every object in the app's photo store (for the local folder: every file, temporary ones too)."""
    return sorted(o.key for o in photo_store().list())
