/* Weekly summary page: the hotspot map (Leaflet, vendored); print buttons there and on invite sheets. ES5 only. */
(function () {
  'use strict';
  var buttons = document.querySelectorAll('[data-print]');
  for (var i = 0; i < buttons.length; i++) {
    buttons[i].addEventListener('click', function () { window.print(); });
  }
  var el = document.getElementById('hotspot-map');
  if (!el || !window.L) { return; }
  var spots = JSON.parse(el.getAttribute('data-hotspots') || '[]');
  // By name: the nearest landmark and the grid (a record published by older code may hold a plain name).
  function where(h) {
    var p = h.place;
    if (p && typeof p === 'object') { return [p.grid, p.landmark].filter(Boolean).join(' · '); }
    return p || h.grid || '';
  }
  var zh = el.getAttribute('data-lang') === 'zh';
  var M = window.GridSnapMap;
  var map = M.base(L.map(el, { scrollWheelZoom: false }));
  var bounds = [];
  for (var j = 0; j < spots.length; j++) {
    var h = spots[j];
    var at = M.toMap(h.lat, h.lon);
    var circle = L.circle(at, { radius: 150, color: '#b3261e', weight: 2, fillOpacity: 0.25 });
    circle.bindTooltip(String(j + 1), { permanent: true, direction: 'center', className: 'hotspot-rank' });
    var label = document.createElement('span');  // text, never HTML: names come from admins and grid files
    label.textContent = '#' + (j + 1) + ' · ' + h.count + ' · ' + (zh ? h.category_zh : h.category_en) +
                        (where(h) ? ' · ' + where(h) : '');
    circle.bindPopup(label);
    circle.addTo(map);
    bounds.push(at);
  }
  if (bounds.length === 1) { map.setView(bounds[0], 16); } else { map.fitBounds(bounds, { padding: [30, 30] }); }
}());
