"""Static files for phones on slow networks: versioned URLs cached for a year, compressed responses.

`url_for('static', filename=...)` gains `?v=<content hash>`, so a changed file gets a new URL and
every other file can be cached by the browser (and the service worker) for a year.
Responses (HTML, CSS, JS, JSON, SVG) are compressed by Flask-Compress (zstd, brotli, gzip).
"""

import hashlib
import os

from flask import Flask

from app.extensions import compress

_versions: dict[str, tuple[float, str]] = {}


def static_version(static_folder: str, filename: str) -> str | None:
    """A short hash of the file's content (recomputed when its modification time changes)."""
    path = os.path.join(static_folder, filename)
    try:
        mtime = os.path.getmtime(path)
    except OSError:
        return None
    cached = _versions.get(path)
    if cached and cached[0] == mtime:
        return cached[1]
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(65536), b""):
            digest.update(chunk)
    version = digest.hexdigest()[:12]
    _versions[path] = (mtime, version)
    return version


def init_app(app: Flask) -> None:
    app.config.setdefault(
        "COMPRESS_MIMETYPES",
        [
            "text/html",
            "text/css",
            "text/plain",
            "text/csv",
            "text/xml",
            "application/xml",
            "application/json",
            "application/javascript",
            "text/javascript",
            "image/svg+xml",
            "application/manifest+json",
            "application/geo+json",
        ],
    )
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip", "deflate"])
    app.config.setdefault("COMPRESS_ALGORITHM_STREAMING", ["br", "deflate"])
    compress.init_app(app)

    @app.url_defaults
    def _version_static(endpoint, values):
        if endpoint == "static" and "filename" in values and "v" not in values:
            version = static_version(app.static_folder, values["filename"])
            if version:
                values["v"] = version
