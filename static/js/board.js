/* The triage board: select-all for bulk actions, the map view, and response templates. ES5 only. */
(function () {
  'use strict';
  var all = document.getElementById('select-all');
  if (all) {
    all.addEventListener('change', function () {
      var boxes = document.querySelectorAll('#bulk input[name="ids"]');
      for (var i = 0; i < boxes.length; i++) { boxes[i].checked = all.checked; }
    });
  }

  // Response templates: a select fills the note field of its own form.
  var pickers = document.querySelectorAll('select[data-template-for]');
  for (var p = 0; p < pickers.length; p++) {
    pickers[p].addEventListener('change', function (ev) {
      var sel = ev.target;
      var field = document.getElementById(sel.getAttribute('data-template-for'));
      if (field && sel.value) { field.value = sel.value; field.focus(); }
    });
  }

  var mapEl = document.getElementById('board-map');
  if (mapEl && window.L) {
    var M = window.GridSnapMap;
    var map = M.base(L.map(mapEl)).setView(M.toMap(29.2089, 103.9512), 13);
    var placeBox = document.getElementById('board-place-q');
    if (placeBox && window.GridSnapPlaces) {  // a landmark picked by name: the map goes there
      window.GridSnapPlaces.attach(placeBox, function (place) {
        map.setView(M.toMap(place.lat, place.lon), 17);
      }, function () { return M.fromMap(map.getCenter()); });
    }
    var cluster = L.markerClusterGroup();
    map.addLayer(cluster);
    var xhr = new XMLHttpRequest();
    xhr.open('GET', mapEl.getAttribute('data-points'));
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.onload = function () {
      if (xhr.status !== 200) { return; }
      var data = JSON.parse(xhr.responseText), bounds = [];
      for (var i = 0; i < data.points.length; i++) {
        var pt = data.points[i];
        var at = M.toMap(pt.lat, pt.lon);
        var m = L.circleMarker(at, {
          radius: 8, color: '#fff', weight: 2, fillColor: pt.color, fillOpacity: 0.9
        });
        var a = document.createElement('a');
        a.href = pt.url;
        a.textContent = pt.reference;
        m.bindPopup(a);
        cluster.addLayer(m);
        bounds.push(at);
      }
      mapEl.setAttribute('data-count', String(data.points.length));
      if (bounds.length) { map.fitBounds(bounds, {maxZoom: 16}); }
    };
    xhr.send();
  }

  var small = document.getElementById('report-map');
  if (small && window.L) {
    var lat = parseFloat(small.getAttribute('data-lat')), lon = parseFloat(small.getAttribute('data-lon'));
    var here = window.GridSnapMap.toMap(lat, lon);
    var sm = window.GridSnapMap.base(L.map(small)).setView(here, 17);
    L.circleMarker(here, {radius: 9, color: '#b3261e', fillOpacity: 0.8}).addTo(sm);
  }

  // A report filed without a pin ("location needed"): a tap on the map fills the pin form.
  var pinMap = document.getElementById('pin-map');
  var pinForm = document.getElementById('location-form');
  if (pinMap && pinForm && window.L) {
    var PM = window.GridSnapMap;
    var pm = PM.base(L.map(pinMap)).setView(
      PM.toMap(parseFloat(pinMap.getAttribute('data-lat')), parseFloat(pinMap.getAttribute('data-lon'))), 14);
    var placed = null;
    pm.on('click', function (e) {
      var wgs = PM.fromMap(e.latlng);  // the form speaks WGS-84 whatever the tiles are
      pinForm.elements.lat.value = wgs.lat.toFixed(6);
      pinForm.elements.lon.value = wgs.lon.toFixed(6);
      if (placed) { placed.setLatLng(e.latlng); } else {
        placed = L.circleMarker(e.latlng, {radius: 9, color: '#b3261e', fillOpacity: 0.8}).addTo(pm);
      }
    });
  }
})();
