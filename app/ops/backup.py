"""Backups: a consistent copy of the database plus the photos it references, and their restore."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
from datetime import UTC, datetime

from sqlalchemy import Engine, func, inspect, select, text

from app.extensions import db
from app.models import Photo, Report
from app.storage import PhotoStore

FORMAT = 1


class BackupError(Exception):
    """A backup that cannot be made or restored, with the reason."""


def _libpq_url(engine: Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _libpq_env(engine: Engine) -> dict:
    # The password goes through the environment, never the command line (visible in ps).
    env = dict(os.environ)
    if engine.url.password:
        env["PGPASSWORD"] = str(engine.url.password)
    return env


def _libpq_dbname(engine: Engine) -> str:
    return engine.url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)


def _counts_and_keys(conn) -> tuple[dict[str, int], list[str]]:
    counts = {
        t.name: conn.execute(select(func.count()).select_from(t)).scalar()
        for t in db.metadata.sorted_tables
        if inspect(conn).has_table(t.name)
    }
    keys = []
    for key, thumb in conn.execute(select(Photo.key, Photo.thumb_key).order_by(Photo.id)):
        keys += [key, thumb]
    keys += conn.scalars(select(Report.voice_key).where(Report.voice_key.is_not(None)).order_by(Report.id)).all()
    return counts, keys


def _dump_sqlite(engine: Engine, dest: str) -> tuple[dict, list[str]]:
    # The online backup API copies a consistent snapshot while the app keeps writing.
    src = sqlite3.connect(engine.url.database)
    out = sqlite3.connect(dest)
    try:
        src.backup(out)
    finally:
        out.close()
        src.close()
    from sqlalchemy import create_engine

    snap = create_engine(f"sqlite:///{dest}")
    try:
        with snap.connect() as conn:
            return _counts_and_keys(conn)
    finally:
        snap.dispose()


def _dump_postgresql(engine: Engine, dest: str) -> tuple[dict, list[str]]:
    # pg_dump reads the snapshot this transaction exported, so the photo list matches the dump exactly.
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar()
            run = subprocess.run(
                [
                    "pg_dump",
                    "-Fc",
                    "--no-owner",
                    "--no-privileges",
                    f"--snapshot={snapshot}",
                    "-f",
                    dest,
                    "--dbname",
                    _libpq_dbname(engine),
                ],
                env=_libpq_env(engine),
                capture_output=True,
                text=True,
            )
            if run.returncode != 0:
                raise BackupError(f"pg_dump failed: {run.stderr.strip()}")
            return _counts_and_keys(conn)


def create_backup(engine: Engine, store: PhotoStore, output: str, copy_photos: bool = True) -> str:
    """Write a new backup folder under output and return its path."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = os.path.join(output, f"gridsnap-{stamp}")
    os.makedirs(folder, mode=0o700, exist_ok=False)  # owner-only: it holds password hashes, phones, photos
    dialect = engine.dialect.name
    db_file = "database.sqlite3" if dialect == "sqlite" else "database.pgdump"
    if dialect == "sqlite":
        counts, keys = _dump_sqlite(engine, os.path.join(folder, db_file))
    elif dialect == "postgresql":
        counts, keys = _dump_postgresql(engine, os.path.join(folder, db_file))
    else:
        raise BackupError(f"no backup method for {dialect}")
    photos = []
    for key in keys:
        try:
            data = store.get(key)
        except FileNotFoundError:
            photos.append({"key": key, "missing": True})
            continue
        entry = {"key": key, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        if copy_photos:
            path = os.path.join(folder, "photos", key)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as fh:
                fh.write(data)
        photos.append(entry)
    manifest = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": {"dialect": dialect, "file": db_file},
        "rows": counts,
        "photos_copied": copy_photos,
        "photos": photos,
    }
    tmp = os.path.join(folder, "manifest.json.tmp")
    with open(tmp, "w") as fh:
        json.dump(manifest, fh, indent=1)
    os.replace(tmp, os.path.join(folder, "manifest.json"))  # the manifest last: its presence means complete
    return folder


def read_manifest(folder: str) -> dict:
    """The manifest of a complete backup folder."""
    try:
        with open(os.path.join(folder, "manifest.json")) as fh:
            manifest = json.load(fh)
    except FileNotFoundError:
        raise BackupError(f"{folder} is not a complete backup (no manifest.json)") from None
    except ValueError as err:  # not JSON, or not UTF-8
        raise BackupError(f"{folder}/manifest.json is not a backup manifest ({err})") from err
    if not isinstance(manifest, dict):
        raise BackupError(f"{folder}/manifest.json is not a backup manifest (not a JSON object)")
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    database = manifest.get("database")
    if not (
        isinstance(database, dict)
        and {"dialect", "file"} <= database.keys()
        and isinstance(manifest.get("rows"), dict)
        and isinstance(manifest.get("photos", []), list)
    ):
        raise BackupError(f"{folder}/manifest.json lacks the database, rows or photos it must list")
    return manifest


def _require_empty(engine: Engine) -> None:
    with engine.connect() as conn:
        tables = [t for t in inspect(conn).get_table_names() if t != "alembic_version"]
        filled = [t for t in tables if conn.execute(text(f'SELECT COUNT(*) FROM "{t}"')).scalar()]
    if filled:
        raise BackupError(
            f"the database is not empty (tables with rows: {', '.join(sorted(filled))}); restore onto an empty database"
        )
    if tables and engine.dialect.name == "postgresql":
        raise BackupError("the database already has tables; restore onto a newly created, empty database")


def restore_backup(engine: Engine, store: PhotoStore, folder: str) -> dict:
    """Restore a backup folder onto an empty database and a store; returns what was restored."""
    manifest = read_manifest(folder)
    dialect = manifest["database"]["dialect"]
    if dialect != engine.dialect.name:
        raise BackupError(
            f"this backup is of a {dialect} database; restore it onto {dialect}, "
            "then use `flask db copy --to URL` to change database"
        )
    _require_empty(engine)
    src = os.path.join(folder, manifest["database"]["file"])
    engine.dispose()
    if dialect == "sqlite":
        into = sqlite3.connect(engine.url.database)
        backup = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
        try:
            backup.backup(into)
        finally:
            backup.close()
            into.close()
    else:
        run = subprocess.run(
            ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--dbname", _libpq_dbname(engine), src],
            env=_libpq_env(engine),
            capture_output=True,
            text=True,
        )
        if run.returncode != 0:
            raise BackupError(f"pg_restore failed: {run.stderr.strip()}")
    restored, skipped = 0, 0
    if manifest.get("photos_copied"):
        for entry in manifest["photos"]:
            if entry.get("missing"):
                continue
            with open(os.path.join(folder, "photos", entry["key"]), "rb") as fh:
                data = fh.read()
            if hashlib.sha256(data).hexdigest() != entry["sha256"]:
                raise BackupError(f"photo {entry['key']} in the backup is damaged (checksum mismatch)")
            have = store.stat(entry["key"])
            if have is not None and have.size == entry["size"]:
                skipped += 1
                continue
            store.put(entry["key"], data)
            restored += 1
    with engine.connect() as conn:
        counts, _ = _counts_and_keys(conn)
    wrong = {t: (n, counts.get(t)) for t, n in manifest["rows"].items() if counts.get(t) != n}
    if wrong:
        raise BackupError(f"restored row counts differ from the backup: {wrong}")
    return {"rows": counts, "photos_restored": restored, "photos_already_there": skipped}
