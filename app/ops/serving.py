"""gunicorn's worker count, shared by gunicorn.conf.py and bench/load.py."""

from __future__ import annotations


def default_workers(cores: int, storage_backend: str = "local") -> int:
    """Sync workers for `make serve` when GRIDSNAP_WORKERS is not set.

    With photos in the local folder a report is CPU work (Pillow) plus short database calls: cores + 1
    workers keep every core busy, and more only make them take turns (bench/load.py on 2 cores with
    PostgreSQL on the same cores: 0.64-0.68 of the pipeline's rate with 5 workers, 0.73-0.75 with 3; on
    SQLite 3 did as well as 5, at lower latency). A slow page (a summary, an export) holds one worker
    meanwhile: raise GRIDSNAP_WORKERS where many such pages are served. With photos in an object store
    each upload also waits on the network (two PUTs): 2 x cores + 1 then. Never more than 12: past that,
    workers only queue on the database and memory.
    """
    object_store = (storage_backend or "local").lower() != "local"
    return min((2 * cores + 1) if object_store else (cores + 1), 12)
