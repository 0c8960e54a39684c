"""Photo storage behind one small interface: a local folder now, S3-compatible later."""
import os
import secrets
import tempfile
from typing import Protocol

from flask import Flask, current_app


class PhotoStore(Protocol):
    """Where photo bytes live, addressed by opaque keys the server chooses."""

    def put(self, key: str, data: bytes) -> None: ...
    def get(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...
    def exists(self, key: str) -> bool: ...
    def path(self, key: str) -> str | None: ...


def new_key(suffix: str = ".jpg") -> str:
    """A random key, sharded by its first two characters; never derived from user input."""
    token = secrets.token_urlsafe(18).replace("-", "x").replace("_", "y")
    return f"{token[:2]}/{token}{suffix}"


class LocalStore:
    """Photos as files under one folder, written atomically (temporary file, then rename)."""

    def __init__(self, root: str):
        self.root = os.path.abspath(root)

    def _path(self, key: str) -> str:
        path = os.path.abspath(os.path.join(self.root, key))
        if not path.startswith(self.root + os.sep):
            raise ValueError("key outside the store")
        return path

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
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


def init_storage(app: Flask) -> None:
    """Attach the configured photo store to the app."""
    app.extensions["photo_store"] = LocalStore(app.config["UPLOAD_DIR"])


def photo_store() -> PhotoStore:
    """The current app's photo store."""
    return current_app.extensions["photo_store"]
