"""Rows for tests: users, tokens and reports made through the real services."""
import io
import re
import struct
import zlib

from PIL import Image

from app.auth.services import create_token, create_user
from app.extensions import db
from app.reports.services import submit_report
from app.storage import photo_store

PASSWORD = "correct-horse-1"
QIANWEI = (29.2089, 103.9512)


def user(username="rider1", role="rider", **kw):
    u = create_user(username, PASSWORD, role, **kw)
    db.session.commit()
    return u


def token(u):
    _t, plain = create_token(u, "test")
    db.session.commit()
    return plain


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


def report(u, category="illegal_parking", lat=QIANWEI[0], lon=QIANWEI[1], **kw):
    r, _created = submit_report(u, photo_store(), category=category, photos=kw.pop("photos", [jpeg()]),
                                lat=lat, lon=lon, **kw)
    db.session.commit()
    return r


def csrf_from(html: str) -> str:
    m = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or \
        re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


def login(client, username, password=PASSWORD):
    page = client.get("/login")
    token = csrf_from(page.get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def history(r, moves, actor=None):
    """Write a report's status history directly as events: moves are (to_status, when, details)."""
    from datetime import timedelta

    from sqlalchemy import select

    from app.models import ReportEvent
    prev = r.status
    first = min((m[1] for m in moves), default=None)
    if first is not None and r.created_at > first:  # keep the timeline in order
        for ev in db.session.scalars(select(ReportEvent).where(ReportEvent.report_id == r.id)):
            ev.created_at = first - (r.created_at - ev.created_at) - timedelta(minutes=5)
        r.created_at = first - timedelta(minutes=5)
    for to, when, *rest in moves:
        details = rest[0] if rest else {}
        db.session.add(ReportEvent(report_id=r.id, actor=actor, kind="transition", created_at=when,
                                   from_status=prev, to_status=to, details=details))
        prev = to
        if to == "accepted" and (r.first_accepted_at is None or when < r.first_accepted_at):
            r.first_accepted_at = when  # the columns the triage service keeps beside the timeline
    r.status = prev
    if prev == "closed":
        r.outcome = (moves[-1][2] if len(moves[-1]) > 2 else {}).get("outcome")
        r.closed_at = moves[-1][1]
    db.session.commit()
    return r


def photo_fixture(name: str) -> bytes:
    """A real photo from tests/fixtures/photos (see its MANIFEST.tsv)."""
    from tests.conftest import fixture_bytes
    return fixture_bytes("photos/" + name)


def bearer(plain_token: str) -> dict:
    return {"Authorization": f"Bearer {plain_token}"}


def stored_keys() -> list[str]:
    """Every object in the app's photo store (for the local folder: every file, temporary ones too)."""
    return sorted(o.key for o in photo_store().list())


def filed_report(u, category="illegal_parking", at=None, lat=QIANWEI[0], lon=QIANWEI[1], **cols):
    """A report row filed at a chosen moment (no photos), with its deadlines and `submitted` event."""
    from datetime import timedelta

    from sqlalchemy import select

    from app.models import Category, Report, ReportEvent, utcnow
    from app.reports.geo import cell_of
    at = at or utcnow()
    cat = db.session.scalar(select(Category).where(Category.code == category))
    r = Report(user_id=u.id, category_id=cat.id, lat=lat, lon=lon, cell=cell_of(lat, lon), created_at=at,
               captured_at=at, updated_at=at,
               accept_due_at=cols.pop("accept_due_at", at + timedelta(hours=cat.accept_hours)),
               resolve_due_at=cols.pop("resolve_due_at", at + timedelta(hours=cat.resolve_hours)),
               department_id=cols.pop("department_id", cat.default_department_id), **cols)
    db.session.add(r)
    db.session.flush()
    db.session.add(ReportEvent(report_id=r.id, kind="submitted", created_at=at, to_status="submitted"))
    db.session.commit()
    return r


def token_user(username, role="rider", department=None, **cols):
    """A user who calls the API with a bearer token (returned as headers); no password hash to compute."""
    from sqlalchemy import select

    from app.models import Department, User
    dept_id = db.session.scalar(select(Department.id).where(Department.code == department)) if department else None
    u = User(username=username, display_name=cols.pop("display_name", username), role=role,
             password_hash="!", department_id=dept_id, **cols)
    db.session.add(u)
    db.session.flush()
    headers = bearer(token(u))
    return u, headers


def quick_user(username, role="rider", team=None, **cols):
    """A user row without a password hash to compute (log in with `session_login`); the team is made if new."""
    from sqlalchemy import select

    from app.models import Team, User
    u = User(username=username, display_name=cols.pop("display_name", username), role=role, password_hash="!",
             **cols)
    if team:
        u.team = db.session.scalar(select(Team).where(Team.name == team)) or Team(name=team)
    db.session.add(u)
    db.session.commit()
    return u


def session_login(client, u):
    """Log the client in as `u` through the session cookie (what a successful /login leaves behind)."""
    from app.auth.services import start_session
    login = start_session(u)
    db.session.commit()
    with client.session_transaction() as sess:
        sess["_user_id"] = login.id
        sess["_fresh"] = True
