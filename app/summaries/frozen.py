"""Renderings of published records kept in memory: a published version never changes, so its page body
and CSV are rendered once per process (and language), not on every request. Kept on the app, at most
SIZE of them, the least recently used dropped first."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from threading import Lock

from flask import current_app

SIZE = 64
_LOCK = Lock()


def rendered(key: tuple, make: Callable[[], str]) -> str:
    """The rendering under `key`, made (outside the lock) the first time it is asked for."""
    cache: OrderedDict = current_app.extensions.setdefault("gridsnap.frozen", OrderedDict())
    with _LOCK:
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
    value = make()
    with _LOCK:
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > SIZE:
            cache.popitem(last=False)
    return value
