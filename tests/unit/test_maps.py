"""The base map's configuration: each provider's tiles, attribution and coordinate system, in one place."""

import pytest

from app.maps import map_config, provider, tile_hosts


def test_osm_is_the_default_and_tianditu_when_its_key_is_set():
    assert provider({}) == "osm"
    cfg = map_config({"TILE_URL": "", "TILE_ATTRIBUTION": ""})
    assert cfg["crs"] == "wgs84" and "openstreetmap.org" in cfg["layers"][0]["url"]
    assert "OpenStreetMap" in cfg["layers"][0]["attribution"]
    assert provider({"TIANDITU_KEY": "k"}) == "tianditu"
    assert provider({"TIANDITU_KEY": "k", "MAP_PROVIDER": "osm"}) == "osm"


def test_tianditu_vector_with_annotation_and_a_satellite_switch():
    cfg = map_config({"MAP_PROVIDER": "tianditu", "TIANDITU_KEY": "abc123", "MAP_APPROVAL": "GS(2024)0650号"})
    assert cfg["crs"] == "wgs84"
    urls = [layer["url"] for layer in cfg["layers"]]
    assert ["vec_w/wmts" in urls[0], "cva_w/wmts" in urls[1]] == [True, True]
    assert all("LAYER=" in u and "tk=abc123" in u and "TILEMATRIX={z}" in u and "{s}" in u for u in urls)
    assert ["img_w" in cfg["satellite"][0]["url"], "cia_w" in cfg["satellite"][1]["url"]] == [True, True]
    assert cfg["layers"][0]["subdomains"] == "01234567"
    assert "天地图" in cfg["layers"][0]["attribution"] and "审图号：GS(2024)0650号" in cfg["layers"][0]["attribution"]
    assert "https://t0.tianditu.gov.cn" in tile_hosts({"MAP_PROVIDER": "tianditu", "TIANDITU_KEY": "k"})


def test_amap_and_tencent_are_gcj02():
    amap = map_config({"MAP_PROVIDER": "amap", "AMAP_KEY": "ak"})
    assert (
        amap["crs"] == "gcj02" and "autonavi.com" in amap["layers"][0]["url"] and "key=ak" in amap["layers"][0]["url"]
    )
    assert "高德" in amap["layers"][0]["attribution"] and amap["satellite"]
    tencent = map_config({"MAP_PROVIDER": "tencent"})
    assert (
        tencent["crs"] == "gcj02"
        and tencent["layers"][0]["tms"] is True
        and "腾讯" in tencent["layers"][0]["attribution"]
    )
    assert "key=" not in tencent["layers"][0]["url"]


@pytest.mark.parametrize(
    ("config", "says"),
    [({"MAP_PROVIDER": "google"}, "must be one of"), ({"MAP_PROVIDER": "tianditu"}, "GRIDSNAP_TIANDITU_KEY")],
)
def test_a_wrong_provider_is_told_at_start_up(config, says):
    from app import create_app

    with pytest.raises(ValueError, match=says):
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x", **config})
