/* GridSnap: the base map of every page, from the server's map configuration (app/maps.py): the provider's
   layers with their attribution, a satellite switch where the provider has one, and the conversion of
   positions for tiles in GCJ-02 (AMap, Tencent). Everything GridSnap stores and sends is WGS-84:
     GridSnapMap.toMap(lat, lon)  -> [lat, lon] to draw on this map
     GridSnapMap.fromMap(latlng)  -> {lat, lon} in WGS-84 from a position on this map (a tap, a dragged pin)
     GridSnapMap.geoJSON(data)    -> a copy of GeoJSON with its coordinates converted for drawing
   When the tiles do not load (no network, no key), the map still shows its shapes and pins on a plain
   background. Plain ES5 for WeChat's browser. */
(function (root) {
  'use strict';
  var el = document.getElementById('map-config');
  var cfg = el ? JSON.parse(el.textContent) : { crs: 'wgs84', layers: [], satellite: [] };
  var C = root.GridSnapCoords;
  var gcj = cfg.crs === 'gcj02' && !!C;

  function toMap(lat, lon) {
    return gcj ? C.toGcj(lat, lon) : [lat, lon];
  }

  function fromMap(latlng) {
    var p = gcj ? C.toWgs(latlng.lat, latlng.lng) : [latlng.lat, latlng.lng];
    return { lat: p[0], lon: p[1] };
  }

  function convertCoords(coords) {
    if (typeof coords[0] === 'number') {
      var p = toMap(coords[1], coords[0]);
      return [p[1], p[0]].concat(coords.slice(2));
    }
    var out = [];
    for (var i = 0; i < coords.length; i++) { out.push(convertCoords(coords[i])); }
    return out;
  }

  function convertGeometry(g) {
    if (!g) { return g; }
    if (g.type === 'GeometryCollection') {
      var gs = [];
      for (var i = 0; i < g.geometries.length; i++) { gs.push(convertGeometry(g.geometries[i])); }
      return { type: g.type, geometries: gs };
    }
    return { type: g.type, coordinates: convertCoords(g.coordinates) };
  }

  function geoJSON(data) {
    if (!gcj || !data) { return data; }
    if (data.type === 'FeatureCollection') {
      var fs = [];
      for (var i = 0; i < data.features.length; i++) { fs.push(geoJSON(data.features[i])); }
      return { type: data.type, features: fs };
    }
    if (data.type === 'Feature') {
      return { type: 'Feature', properties: data.properties, id: data.id, geometry: convertGeometry(data.geometry) };
    }
    return convertGeometry(data);
  }

  function group(layers) {
    var L = root.L, made = [];
    for (var i = 0; i < layers.length; i++) {
      var spec = layers[i], options = { maxZoom: cfg.maxZoom || 19, attribution: spec.attribution || '' };
      if (spec.subdomains) { options.subdomains = spec.subdomains; }
      if (spec.tms) { options.tms = true; }
      made.push(L.tileLayer(spec.url, options));
    }
    return L.layerGroup(made);
  }

  /* The base layers on a Leaflet map (and the satellite switch); returns the map. */
  function base(map) {
    var L = root.L;
    map.getContainer().className += ' map-plain';  // a plain background under tiles that do not come
    if (!cfg.layers || !cfg.layers.length) { return map; }
    var roads = group(cfg.layers).addTo(map);
    if (cfg.satellite && cfg.satellite.length) {
      var choices = {};
      choices[cfg.labels && cfg.labels.roads || 'Map'] = roads;
      choices[cfg.labels && cfg.labels.satellite || 'Satellite'] = group(cfg.satellite);
      L.control.layers(choices, null, { position: 'topright' }).addTo(map);
    }
    return map;
  }

  root.GridSnapMap = { config: cfg, toMap: toMap, fromMap: fromMap, geoJSON: geoJSON, base: base };
})(this);
