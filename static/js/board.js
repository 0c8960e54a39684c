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

  // Dispatch: the handler list follows the chosen department.
  var depts = document.querySelectorAll('select[data-handlers-for]');
  for (var d = 0; d < depts.length; d++) {
    depts[d].addEventListener('change', function (ev) {
      var dep = ev.target, sel = document.getElementById(dep.getAttribute('data-handlers-for'));
      if (!sel) { return; }
      var all = JSON.parse(sel.getAttribute('data-handlers') || '[]');
      while (sel.options.length > 1) { sel.remove(1); }
      for (var i = 0; i < all.length; i++) {
        if (all[i][2] === dep.value) {
          var opt = document.createElement('option');
          opt.value = String(all[i][0]);
          opt.textContent = all[i][1];
          sel.appendChild(opt);
        }
      }
    });
  }

  // Reject and duplicate end a report: asked once more before they are sent.
  document.addEventListener('click', function (ev) {
    var el = ev.target;
    while (el && el !== document && !(el.getAttribute && el.getAttribute('data-confirm'))) { el = el.parentNode; }
    if (!el || el === document) { return; }
    if (!window.confirm(el.getAttribute('data-confirm'))) { ev.preventDefault(); }
  });

  var mapEl = document.getElementById('board-map');
  if (mapEl && window.L) {
    var map = L.map(mapEl).setView([29.2089, 103.9512], 13);
    L.tileLayer(mapEl.getAttribute('data-tiles'), {
      maxZoom: 19, attribution: mapEl.getAttribute('data-attribution')
    }).addTo(map);
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
        var m = L.circleMarker([pt.lat, pt.lon], {
          radius: 8, color: '#fff', weight: 2, fillColor: pt.color, fillOpacity: 0.9
        });
        var a = document.createElement('a');
        a.href = pt.url;
        a.textContent = pt.reference;
        m.bindPopup(a);
        cluster.addLayer(m);
        bounds.push([pt.lat, pt.lon]);
      }
      mapEl.setAttribute('data-count', String(data.points.length));
      if (bounds.length) { map.fitBounds(bounds, {maxZoom: 16}); }
    };
    xhr.send();
  }

  var small = document.getElementById('report-map');
  if (small && window.L) {
    var lat = parseFloat(small.getAttribute('data-lat')), lon = parseFloat(small.getAttribute('data-lon'));
    var sm = L.map(small).setView([lat, lon], 17);
    L.tileLayer(small.getAttribute('data-tiles'), {
      maxZoom: 19, attribution: small.getAttribute('data-attribution')
    }).addTo(sm);
    if (small.getAttribute('data-draggable')) {
      // Staff correct the location by dragging the pin; the correction form carries it.
      var pin = L.marker([lat, lon], {
        draggable: true, keyboard: true, title: document.getElementById('correct-pin-hint') ?
          document.getElementById('correct-pin-hint').textContent : '',
        icon: L.divIcon({className: 'drag-pin', iconSize: [28, 28], iconAnchor: [14, 28]})
      }).addTo(sm);
      pin.on('dragend', function () {
        var at = pin.getLatLng();
        document.getElementById('correct-lat').value = at.lat.toFixed(6);
        document.getElementById('correct-lon').value = at.lng.toFixed(6);
        var box = document.getElementById('correct');
        if (box) { box.open = true; }
      });
    } else {
      L.circleMarker([lat, lon], {radius: 9, color: '#b3261e', fillOpacity: 0.8}).addTo(sm);
    }
  }
})();
