"""Where things are: grid cells for indexed nearby searches, geodesic distance, reverse geocoding."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict

from geopy.distance import geodesic

# ~111 m of latitude; cells are 0.001 degree squares, so 100 m searches cover a 3x3 block.
CELL_DEG = 0.001
_COLS = 360_000


def cell_of(lat: float, lon: float) -> int:
    """The integer id of the ~100 m cell containing a point."""
    row = int(math.floor((lat + 90) / CELL_DEG))
    col = int(math.floor((lon + 180) / CELL_DEG))
    return row * _COLS + col


def cells_near(lat: float, lon: float, radius_m: float) -> list[int]:
    """Every cell id that may hold a point within radius_m of (lat, lon)."""
    dlat = radius_m / 111_000
    dlon = radius_m / (111_000 * max(0.01, math.cos(math.radians(lat))))
    r0 = int(math.floor((lat - dlat + 90) / CELL_DEG))
    r1 = int(math.floor((lat + dlat + 90) / CELL_DEG))
    c0 = int(math.floor((lon - dlon + 180) / CELL_DEG))
    c1 = int(math.floor((lon + dlon + 180) / CELL_DEG))
    return [r * _COLS + c for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)]


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Geodesic distance in metres."""
    return geodesic(a, b).meters


def valid_location(lat, lon) -> bool:
    """Finite, in range, and not the 0,0 that broken GPS reports."""
    try:
        lat, lon = float(lat), float(lon)
    except (TypeError, ValueError):
        return False
    if math.isnan(lat) or math.isnan(lon) or math.isinf(lat) or math.isinf(lon):
        return False
    return -90 <= lat <= 90 and -180 <= lon <= 180 and not (lat == 0 and lon == 0)


class ReverseGeocoder:
    """geopy behind a short timeout and an LRU cache; any failure means 'no address'."""

    def __init__(self, name: str, user_agent: str, timeout: float, size: int = 2048):
        self.name = name
        self.timeout = timeout
        self._cache: OrderedDict[tuple[float, float], str | None] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size
        self._geocoder = None
        if name:
            from geopy.geocoders import get_geocoder_for_service

            self._geocoder = get_geocoder_for_service(name)(user_agent=user_agent, timeout=timeout)

    def address(self, lat: float, lon: float, language: str = "zh") -> str | None:
        """A street address for the point, or None when no geocoder answers in time."""
        if self._geocoder is None:
            return None
        key = (round(lat, 4), round(lon, 4))
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        try:
            found = self._geocoder.reverse((lat, lon), language=language, timeout=self.timeout)
            value = found.address[:300] if found else None
        except Exception:  # network down, timeout, quota: the report goes on without an address
            return None
        with self._lock:
            self._cache[key] = value
            if len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return value
