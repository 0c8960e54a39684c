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
  var zh = el.getAttribute('data-lang') === 'zh';
  var map = L.map(el, { scrollWheelZoom: false });
  L.tileLayer(el.getAttribute('data-tiles'), {
    maxZoom: 19, attribution: el.getAttribute('data-attribution')
  }).addTo(map);
  var bounds = [];
  for (var j = 0; j < spots.length; j++) {
    var h = spots[j];
    var circle = L.circle([h.lat, h.lon], { radius: 150, color: '#b3261e', weight: 2, fillOpacity: 0.25 });
    circle.bindTooltip(String(j + 1), { permanent: true, direction: 'center', className: 'hotspot-rank' });
    var label = document.createElement('span');  // text, never HTML: names come from admins and grid files
    label.textContent = '#' + (j + 1) + ' · ' + h.count + ' · ' + (zh ? h.category_zh : h.category_en) +
                        (h.place ? ' · ' + h.place : (h.grid_name ? ' · ' + h.grid_name : ''));
    circle.bindPopup(label);
    circle.addTo(map);
    bounds.push([h.lat, h.lon]);
  }
  if (bounds.length === 1) { map.setView(bounds[0], 16); } else { map.fitBounds(bounds, { padding: [30, 30] }); }
}());
