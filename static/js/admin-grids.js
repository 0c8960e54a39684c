/* Admin grid pages: preview the grid areas on a Leaflet map (vendored). ES5 only. */
(function () {
  'use strict';
  var el = document.getElementById('grid-map');
  if (!el || !window.L) { return; }
  var data = JSON.parse(el.getAttribute('data-geojson') || '{"type":"FeatureCollection","features":[]}');
  var M = window.GridSnapMap;
  var map = M.base(L.map(el, { scrollWheelZoom: false }));
  var layer = L.geoJSON(M.geoJSON(data), {
    style: function () { return { color: '#0b5cad', weight: 2, fillOpacity: 0.12 }; },
    onEachFeature: function (feature, shape) {
      var p = feature.properties || {};
      var label = document.createElement('span');
      label.textContent = (p.code || '') + ' ' + (p.name || '');  // text, never HTML
      shape.bindTooltip(label, { sticky: true });
    }
  }).addTo(map);
  var bounds = layer.getBounds();
  if (bounds.isValid()) { map.fitBounds(bounds, { padding: [16, 16] }); } else { map.setView(M.toMap(29.2254, 103.9507), 12); }
}());
