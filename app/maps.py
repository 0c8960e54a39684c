"""Base maps: one place for every provider's tile URLs, keys, attributions and coordinate system.

GRIDSNAP_MAP_PROVIDER=osm|tianditu|amap|tencent (default: tianditu when GRIDSNAP_TIANDITU_KEY is set, else osm).
- tianditu (天地图, the national official map): vector + its annotation (vec_w + cva_w), satellite + annotation
  (img_w + cia_w); CGCS2000, which is WGS-84 to within centimetres: positions are drawn as they are.
- amap (高德) and tencent (腾讯): GCJ-02 tiles. The browser converts every position it draws WGS-84 → GCJ-02 and
  every position a user picks back (static/js/coords.js); the database, the API and Open311 speak WGS-84.
- osm: OpenStreetMap, or any WGS-84 XYZ tiles through GRIDSNAP_TILE_URL / GRIDSNAP_TILE_ATTRIBUTION.
The page gets map_config() as JSON (the leaflet() macro); static/js/map.js builds the layers from it.
"""

from __future__ import annotations

from typing import Any

PROVIDERS = ("osm", "tianditu", "amap", "tencent")
GCJ02 = ("amap", "tencent")

TIANDITU = (
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={layer}"
    "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={key}"
)
AMAP_ROADS = "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"
AMAP_SATELLITE = "https://webst0{s}.is.autonavi.com/appmaptile?style=6&x={x}&y={y}&z={z}"
AMAP_LABELS = "https://webst0{s}.is.autonavi.com/appmaptile?style=8&x={x}&y={y}&z={z}"
TENCENT = "https://rt{s}.map.gtimg.com/realtimerender?z={z}&x={x}&y={y}&type=vector&style=0"
OSM = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = "&copy; OpenStreetMap contributors"


def provider(config) -> str:
    """The configured provider, checked (a wrong name or a missing key is told at start-up)."""
    name = (config.get("MAP_PROVIDER") or "").strip().lower()
    if not name:
        name = "tianditu" if config.get("TIANDITU_KEY") else "osm"
    if name not in PROVIDERS:
        raise ValueError(f"GRIDSNAP_MAP_PROVIDER must be one of {', '.join(PROVIDERS)}, not {name!r}")
    if name == "tianditu" and not config.get("TIANDITU_KEY"):
        raise ValueError("GRIDSNAP_MAP_PROVIDER=tianditu needs GRIDSNAP_TIANDITU_KEY (the console's tk)")
    return name


def _with_key(url: str, param: str, key: str | None) -> str:
    return f"{url}&{param}={key}" if key else url


def map_config(config) -> dict[str, Any]:
    """What the browser needs to draw the base map: layers (drawn together), the satellite layers when the
    provider has them, and the coordinate system of the tiles ("wgs84" or "gcj02")."""
    name = provider(config)
    approval = (config.get("MAP_APPROVAL") or "").strip()  # 审图号, as the provider publishes it
    if name == "tianditu":
        key = config["TIANDITU_KEY"]
        credit = "&copy; 天地图 · 国家地理信息公共服务平台" + (f" · 审图号：{approval}" if approval else "")

        def layer(code: str) -> dict:
            return {"url": TIANDITU.replace("{layer}", code).replace("{key}", key), "subdomains": "01234567"}

        base = [dict(layer("vec"), attribution=credit), layer("cva")]
        satellite = [dict(layer("img"), attribution=credit), layer("cia")]
        return {"provider": name, "crs": "wgs84", "layers": base, "satellite": satellite, "maxZoom": 18}
    if name == "amap":
        key = config.get("AMAP_KEY")
        credit = "&copy; 高德地图 AutoNavi" + (f" · 审图号：{approval}" if approval else "")
        base = [{"url": _with_key(AMAP_ROADS, "key", key), "subdomains": "1234", "attribution": credit}]
        satellite = [
            {"url": _with_key(AMAP_SATELLITE, "key", key), "subdomains": "1234", "attribution": credit},
            {"url": _with_key(AMAP_LABELS, "key", key), "subdomains": "1234"},
        ]
        return {"provider": name, "crs": "gcj02", "layers": base, "satellite": satellite, "maxZoom": 18}
    if name == "tencent":
        key = config.get("TENCENT_MAP_KEY")
        credit = "&copy; 腾讯地图 Tencent" + (f" · 审图号：{approval}" if approval else "")
        base = [{"url": _with_key(TENCENT, "key", key), "subdomains": "0123", "tms": True, "attribution": credit}]
        return {"provider": name, "crs": "gcj02", "layers": base, "satellite": [], "maxZoom": 18}
    url = config.get("TILE_URL") or OSM
    credit = config.get("TILE_ATTRIBUTION") or OSM_ATTRIBUTION
    return {"provider": name, "crs": "wgs84", "layers": [{"url": url, "attribution": credit}], "satellite": []}


def tile_hosts(config) -> list[str]:
    """The origins tiles come from (the Content-Security-Policy's img-src and the service worker's tile cache)."""
    from urllib.parse import urlsplit

    cfg = map_config(config)
    hosts = []
    for layer in cfg["layers"] + cfg["satellite"]:
        parts = urlsplit(layer["url"])
        for s in layer.get("subdomains") or [""]:
            host = f"{parts.scheme}://{parts.netloc.replace('{s}', s)}"
            if host not in hosts:
                hosts.append(host)
    return hosts
