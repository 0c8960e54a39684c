"""Photo storage behind one small interface: a local folder (default) or an S3-compatible store."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from flask import Flask, current_app
from flask_babel import lazy_gettext as _l

from app.errors import StorageUnavailable

CHUNK = 64 * 1024
UNAVAILABLE = _l("The photo store is unavailable right now. Nothing was saved; please try again in a moment.")


@dataclass(frozen=True)
class StoredObject:
    """One stored file as listed by a store: its key, size in bytes and last change (UTC)."""

    key: str
    size: int
    modified: datetime
    etag: str | None = None  # the object store's ETag (the MD5 of a single-part upload)


class PhotoStore(Protocol):
    """Where photo bytes live, addressed by opaque keys the server chooses.

    Errors: a missing key raises FileNotFoundError; an unreachable store raises StorageUnavailable.
    """

    def put(self, key: str, data: bytes) -> None: ...
    def get(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...
    def exists(self, key: str) -> bool: ...
    def path(self, key: str) -> str | None: ...
    def stat(self, key: str) -> StoredObject | None: ...
    def stream(self, key: str) -> tuple[Iterator[bytes], int]: ...
    def list(self) -> Iterator[StoredObject]: ...
    def ping(self) -> None: ...


def new_key(suffix: str = ".jpg") -> str:
    """A random key, sharded by its first two characters; never derived from user input."""
    token = secrets.token_urlsafe(18).replace("-", "x").replace("_", "y")
    return f"{token[:2]}/{token}{suffix}"


class LocalStore:
    """Photos as files under one folder, written atomically (temporary file, then rename)."""

    TMP_PREFIX = ".tmp-"

    def __init__(self, root: str):
        self.root = os.path.abspath(root)

    def __repr__(self) -> str:
        return f"LocalStore({self.root!r})"

    def _path(self, key: str) -> str:
        path = os.path.abspath(os.path.join(self.root, key))
        if not path.startswith(self.root + os.sep):
            raise ValueError("key outside the store")
        return path

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=self.TMP_PREFIX)
        except OSError as err:
            raise StorageUnavailable(UNAVAILABLE) from err
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException as err:
            if os.path.exists(tmp):
                os.unlink(tmp)
            if isinstance(err, OSError):
                raise StorageUnavailable(UNAVAILABLE) from err
            raise

    def get(self, key: str) -> bytes:
        with open(self._path(key), "rb") as fh:
            return fh.read()

    def delete(self, key: str) -> None:
        try:
            os.unlink(self._path(key))
        except FileNotFoundError:
            pass

    def exists(self, key: str) -> bool:
        return os.path.exists(self._path(key))

    def path(self, key: str) -> str | None:
        return self._path(key)

    def stat(self, key: str) -> StoredObject | None:
        try:
            st = os.stat(self._path(key))
        except FileNotFoundError:
            return None
        return StoredObject(key, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC))

    def stream(self, key: str) -> tuple[Iterator[bytes], int]:
        fh = open(self._path(key), "rb")
        size = os.fstat(fh.fileno()).st_size

        def chunks():
            with fh:
                while block := fh.read(CHUNK):
                    yield block

        return chunks(), size

    def list(self) -> Iterator[StoredObject]:
        """Every file under the root, temporary files of interrupted writes included."""
        for folder, _dirs, files in os.walk(self.root):
            for name in files:
                full = os.path.join(folder, name)
                rel = os.path.relpath(full, self.root).replace(os.sep, "/")
                if rel == ".gitkeep":
                    continue
                try:
                    st = os.stat(full)
                except FileNotFoundError:  # removed while we walked
                    continue
                yield StoredObject(rel, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC))

    def ping(self) -> None:
        """Raise StorageUnavailable unless the folder exists and is writable."""
        if not (os.path.isdir(self.root) and os.access(self.root, os.W_OK | os.X_OK)):
            raise StorageUnavailable(UNAVAILABLE)


def storage_settings(app: Flask) -> None:
    """Storage settings from GRIDSNAP_STORAGE_* variables, unless the app's config already has them."""
    env = os.environ.get
    defaults = {
        "STORAGE_BACKEND": env("GRIDSNAP_STORAGE_BACKEND") or "local",
        "STORAGE_BUCKET": env("GRIDSNAP_STORAGE_BUCKET") or "",
        "STORAGE_ENDPOINT_URL": env("GRIDSNAP_STORAGE_ENDPOINT_URL") or None,
        "STORAGE_REGION": env("GRIDSNAP_STORAGE_REGION") or None,
        "STORAGE_ACCESS_KEY_ID": env("GRIDSNAP_STORAGE_ACCESS_KEY_ID") or None,
        "STORAGE_SECRET_ACCESS_KEY": env("GRIDSNAP_STORAGE_SECRET_ACCESS_KEY") or None,
        "STORAGE_PREFIX": env("GRIDSNAP_STORAGE_PREFIX") or "",
        # "stream": photos pass through the permission-checking view; "presigned": the view
        # checks permission, then redirects to a short-lived signed URL of the object store.
        "STORAGE_SERVE": env("GRIDSNAP_STORAGE_SERVE") or "stream",
        "STORAGE_URL_TTL": int(env("GRIDSNAP_STORAGE_URL_TTL") or 300),
        # While moving from the local folder to S3: read photos not yet copied from the folder.
        "STORAGE_READ_FALLBACK": (env("GRIDSNAP_STORAGE_READ_FALLBACK") or "") == "local",
    }
    for name, value in defaults.items():
        app.config.setdefault(name, value)


def build_store(config: dict, backend: str | None = None) -> PhotoStore:
    """The store a configuration names (backend overrides STORAGE_BACKEND)."""
    backend = backend or config["STORAGE_BACKEND"]
    if backend == "local":
        return LocalStore(config["UPLOAD_DIR"])
    if backend == "s3":
        from app.storage.s3 import S3Store, S3WithLocalFallback

        s3 = S3Store.from_config(config)
        if config.get("STORAGE_READ_FALLBACK"):
            return S3WithLocalFallback(s3, LocalStore(config["UPLOAD_DIR"]))
        return s3
    raise ValueError(f"unknown storage backend {backend!r} (use 'local' or 's3')")


def init_storage(app: Flask) -> None:
    """Attach the configured photo store to the app."""
    storage_settings(app)
    app.extensions["photo_store"] = build_store(app.config)


def photo_store() -> PhotoStore:
    """The current app's photo store."""
    return current_app.extensions["photo_store"]


def photo_response(key: str):
    """Serve one stored photo to a caller already allowed to see it: a file, a stream or a redirect."""
    from flask import Response, abort, redirect, request, send_file

    store, cfg = photo_store(), current_app.config
    etag = key.rsplit("/", 1)[-1].split(".")[0]  # keys are random and never rewritten
    if etag in request.if_none_match:
        response = Response(status=304)
    elif cfg["STORAGE_SERVE"] == "presigned" and (url := _presigned(store, key, cfg["STORAGE_URL_TTL"])):
        response = redirect(url, 302)
        response.headers["Cache-Control"] = f"private, max-age={max(0, cfg['STORAGE_URL_TTL'] // 2)}"
        return response
    else:
        try:
            path = store.path(key)
            if path:
                response = send_file(path, mimetype="image/jpeg", max_age=0, conditional=False, etag=False)
            else:
                chunks, size = store.stream(key)
                response = Response(chunks, mimetype="image/jpeg", direct_passthrough=True)
                response.content_length = size
        except FileNotFoundError:
            current_app.logger.error("photo file missing from the store: %s", key)
            abort(404)
    response.set_etag(etag)
    response.headers["Cache-Control"] = "private, max-age=86400, immutable"
    return response


def _presigned(store, key: str, ttl: int) -> str | None:
    make = getattr(store, "presigned_url", None)
    return make(key, ttl) if make else None
