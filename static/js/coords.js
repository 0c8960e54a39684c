/* GridSnap: WGS-84 <-> GCJ-02 ("Mars coordinates", the datum of AMap and Tencent tiles). Positions are stored
   and sent in WGS-84; only what is drawn on GCJ-02 tiles is shifted. Outside China nothing moves (the usual
   rough bounding box). The inverse is iterated to well under a centimetre. Plain ES5. */
(function (root) {
  'use strict';
  var A = 6378245.0, EE = 0.00669342162296594323, PI = Math.PI;

  function outOfChina(lat, lon) {
    return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271;
  }

  function dLat(x, y) {
    var r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    r += (20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0 / 3.0;
    r += (20.0 * Math.sin(y * PI) + 40.0 * Math.sin(y / 3.0 * PI)) * 2.0 / 3.0;
    r += (160.0 * Math.sin(y / 12.0 * PI) + 320 * Math.sin(y * PI / 30.0)) * 2.0 / 3.0;
    return r;
  }

  function dLon(x, y) {
    var r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    r += (20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0 / 3.0;
    r += (20.0 * Math.sin(x * PI) + 40.0 * Math.sin(x / 3.0 * PI)) * 2.0 / 3.0;
    r += (150.0 * Math.sin(x / 12.0 * PI) + 300.0 * Math.sin(x / 30.0 * PI)) * 2.0 / 3.0;
    return r;
  }

  /* WGS-84 -> GCJ-02: [lat, lon]. */
  function toGcj(lat, lon) {
    if (outOfChina(lat, lon)) { return [lat, lon]; }
    var la = dLat(lon - 105.0, lat - 35.0), lo = dLon(lon - 105.0, lat - 35.0);
    var rad = lat / 180.0 * PI, magic = Math.sin(rad);
    magic = 1 - EE * magic * magic;
    var sq = Math.sqrt(magic);
    la = (la * 180.0) / ((A * (1 - EE)) / (magic * sq) * PI);
    lo = (lo * 180.0) / (A / sq * Math.cos(rad) * PI);
    return [lat + la, lon + lo];
  }

  /* GCJ-02 -> WGS-84: [lat, lon], by fixed-point iteration on toGcj. */
  function toWgs(lat, lon) {
    if (outOfChina(lat, lon)) { return [lat, lon]; }
    var wLat = lat, wLon = lon;
    for (var i = 0; i < 30; i++) {
      var g = toGcj(wLat, wLon), eLat = g[0] - lat, eLon = g[1] - lon;
      wLat -= eLat;
      wLon -= eLon;
      if (Math.abs(eLat) < 1e-10 && Math.abs(eLon) < 1e-10) { break; }
    }
    return [wLat, wLon];
  }

  root.GridSnapCoords = { toGcj: toGcj, toWgs: toWgs, outOfChina: outOfChina };
})(this);
