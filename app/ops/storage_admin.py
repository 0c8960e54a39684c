"""Keeping the photo store and the database in agreement: orphan checks and copying between stores."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import Photo, Report
from app.storage import PhotoStore, StoredObject


def referenced_keys() -> set[str]:
    """Every key a Photo row points at (display and thumbnail), and every report's voice note."""
    keys: set[str] = set()
    for key, thumb in db.session.execute(select(Photo.key, Photo.thumb_key)):
        keys.add(key)
        keys.add(thumb)
    keys.update(db.session.scalars(select(Report.voice_key).where(Report.voice_key.is_not(None))))
    return keys


@dataclass
class CheckResult:
    """What `storage check` found."""

    stored: int = 0
    orphans: list[StoredObject] = field(default_factory=list)  # no Photo row, older than the cut-off
    recent_unreferenced: int = 0  # no row yet, but young: probably an upload still in flight
    missing: list[str] = field(default_factory=list)  # a Photo row whose file is gone
    removed: int = 0


def check_store(
    store: PhotoStore, older_than: timedelta = timedelta(hours=1), fix: bool = False, now: datetime | None = None
) -> CheckResult:
    """Compare the store with the Photo rows; with fix, delete orphans older than older_than."""
    now = now or datetime.now(UTC)
    # List the store before reading the rows: a file written and committed in between is then
    # referenced, never mistaken for an orphan.
    listed = list(store.list())
    wanted = referenced_keys()
    result = CheckResult(stored=len(listed))
    present = set()
    for obj in listed:
        present.add(obj.key)
        if obj.key in wanted:
            continue
        if now - obj.modified >= older_than:
            result.orphans.append(obj)
        else:
            result.recent_unreferenced += 1
    result.missing = sorted(wanted - present)
    if fix:
        for obj in result.orphans:
            store.delete(obj.key)
            result.removed += 1
    return result


@dataclass
class CopyResult:
    copied: int = 0
    skipped: int = 0  # already there with the same size and checksum
    missing: list[str] = field(default_factory=list)  # referenced but absent from the source


def _md5(store: PhotoStore, obj: StoredObject) -> str:
    # A single-part upload's ETag is its MD5; anything else is hashed from the bytes.
    if obj.etag and "-" not in obj.etag and len(obj.etag) == 32:
        return obj.etag
    return hashlib.md5(store.get(obj.key)).hexdigest()


def copy_photos(source: PhotoStore, target: PhotoStore, keys: list[str] | None = None) -> CopyResult:
    """Copy every referenced photo from source to target; safe to re-run (identical copies are skipped)."""
    result = CopyResult()
    for key in sorted(keys if keys is not None else referenced_keys()):
        try:
            data = source.get(key)
        except FileNotFoundError:
            result.missing.append(key)
            continue
        have = target.stat(key)
        if have is not None and have.size == len(data) and _md5(target, have) == hashlib.md5(data).hexdigest():
            result.skipped += 1
            continue
        target.put(key, data)
        result.copied += 1
    return result
