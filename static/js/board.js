/* The triage board as a work queue (bulk bar, side panel, keyboard), its map, and the report page's
   helpers (response templates, dispatch handlers, confirmations, the draggable pin). ES5 only. */
(function () {
  'use strict';

  /* ---------- the report (page or side panel) ---------- */

  function initReport(root) {
    // Response templates: a select fills the reply field of its own form.
    var pickers = root.querySelectorAll('select[data-template-for]');
    for (var p = 0; p < pickers.length; p++) {
      pickers[p].addEventListener('change', function (ev) {
        var sel = ev.target;
        var field = document.getElementById(sel.getAttribute('data-template-for'));
        if (field && sel.value) { field.value = sel.value; field.focus(); }
      });
    }
    // Dispatch: the handler list follows the chosen department.
    var depts = root.querySelectorAll('select[data-handlers-for]');
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
    var small = root.querySelector('.small-map:not(.pin-map)');
    if (small && window.L) { smallMap(small); }
    pinMap(root);
  }

  function smallMap(small) {
    var M = window.GridSnapMap;  // drawn on the tiles' datum; what is sent stays WGS-84
    var lat = parseFloat(small.getAttribute('data-lat')), lon = parseFloat(small.getAttribute('data-lon'));
    var here = M.toMap(lat, lon);
    var sm = M.base(L.map(small)).setView(here, 17);
    if (small.getAttribute('data-draggable')) {
      // Staff correct the location by dragging the pin; the correction form carries it.
      var hint = document.getElementById('correct-pin-hint');
      var pin = L.marker(here, {
        draggable: true, keyboard: true, title: hint ? hint.textContent : '',
        icon: L.divIcon({className: 'drag-pin', iconSize: [28, 28], iconAnchor: [14, 28]})
      }).addTo(sm);
      pin.on('dragend', function () {
        var at = M.fromMap(pin.getLatLng());
        document.getElementById('correct-lat').value = at.lat.toFixed(6);
        document.getElementById('correct-lon').value = at.lon.toFixed(6);
        var box = document.getElementById('correct');
        if (box) { box.open = true; }
      });
    } else {
      L.circleMarker(here, {radius: 9, color: '#b3261e', fillOpacity: 0.8}).addTo(sm);
    }
  }

  // A report filed without a pin ("location needed"): a tap on the map fills the pin form.
  function pinMap(root) {
    var el = root.querySelector('.pin-map'), form = root.querySelector('.location-form');
    if (!el || !form || !window.L) { return; }
    var M = window.GridSnapMap;
    var pm = M.base(L.map(el)).setView(
      M.toMap(parseFloat(el.getAttribute('data-lat')), parseFloat(el.getAttribute('data-lon'))), 14);
    var placed = null;
    pm.on('click', function (e) {
      var wgs = M.fromMap(e.latlng);  // the form speaks WGS-84 whatever the tiles are
      form.elements.lat.value = wgs.lat.toFixed(6);
      form.elements.lon.value = wgs.lon.toFixed(6);
      if (placed) { placed.setLatLng(e.latlng); } else {
        placed = L.circleMarker(e.latlng, {radius: 9, color: '#b3261e', fillOpacity: 0.8}).addTo(pm);
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

  initReport(document);

  /* ---------- the queue ---------- */

  var queue = document.getElementById('bulk');
  if (queue) { initQueue(queue); }

  function initQueue(form) {
    var T = JSON.parse(document.getElementById('board-i18n').textContent);
    var bar = document.getElementById('bulk-bar'), count = document.getElementById('bulk-count');
    var panel = document.getElementById('side-panel'), layout = document.getElementById('board-layout');
    var rows = form.querySelectorAll('tbody tr[data-id]');
    var current = -1;
    var base = form.getAttribute('data-reports');
    var csrf = form.querySelector('input[name=csrf_token]').value;

    // The bulk bar appears only when rows are selected.
    function selected() { return form.querySelectorAll('input[name="ids"]:checked').length; }
    function syncBar() {
      var n = selected();
      bar.hidden = n === 0;
      count.textContent = n ? '(' + T.selected.replace('%(n)s', n) + ')' : '';
    }
    var all = document.getElementById('select-all');
    all.addEventListener('change', function () {
      var boxes = form.querySelectorAll('input[name="ids"]');
      for (var i = 0; i < boxes.length; i++) { boxes[i].checked = all.checked; }
      syncBar();
    });
    form.addEventListener('change', function (ev) { if (ev.target.name === 'ids') { syncBar(); } });
    syncBar();

    // Clicking a row opens its report beside the list (wide screens); the link keeps the full page.
    function wide() { return window.innerWidth >= 1200; }
    function openPanel(id, focusSelector) {
      if (!wide()) { window.location.href = base + id; return; }
      var xhr = new XMLHttpRequest();
      xhr.open('GET', base + id + '/panel?back=' + encodeURIComponent(form.getAttribute('data-back')));
      xhr.onload = function () {
        if (xhr.status !== 200) { return; }
        panel.innerHTML = xhr.responseText;
        panel.hidden = false;
        panel.setAttribute('data-id', String(id));
        layout.className = 'board-layout with-panel';
        initReport(panel);
        var close = document.getElementById('panel-close');
        if (close) { close.addEventListener('click', closePanel); }
        var target = focusSelector && panel.querySelector(focusSelector);
        if (target) { target.focus(); }
      };
      xhr.send();
    }
    function closePanel() {
      panel.hidden = true;
      panel.innerHTML = '';
      layout.className = 'board-layout';
      if (current >= 0) { rows[current].querySelector('a.reference').focus(); }
    }
    form.addEventListener('click', function (ev) {
      var el = ev.target;
      if (el.closest && (el.closest('label.pick') || el.closest('input'))) { return; }
      var row = el.closest ? el.closest('tr[data-id]') : null;
      if (!row) { return; }
      if (ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button === 1) { return; }  // a new tab keeps the link
      ev.preventDefault();
      if (!wide()) { window.location.href = base + row.getAttribute('data-id'); return; }  // a card: the page
      select(indexOf(row));
    });

    function indexOf(row) {
      for (var i = 0; i < rows.length; i++) { if (rows[i] === row) { return i; } }
      return -1;
    }
    function select(i, focusSelector) {
      if (!rows.length) { return; }
      current = Math.max(0, Math.min(rows.length - 1, i));
      for (var r = 0; r < rows.length; r++) {
        rows[r].className = rows[r].className.replace(/ ?current/g, '');
        rows[r].removeAttribute('aria-current');
      }
      rows[current].className += ' current';
      rows[current].setAttribute('aria-current', 'true');
      if (rows[current].scrollIntoView) { rows[current].scrollIntoView({block: 'nearest'}); }
      if (wide()) { openPanel(rows[current].getAttribute('data-id'), focusSelector); }
    }

    // A move straight from the list (accept, reject): the form the report page would send.
    function move(row, to, reply) {
      var data = 'csrf_token=' + encodeURIComponent(csrf) + '&to=' + to +
        '&version=' + encodeURIComponent(row.getAttribute('data-version')) +
        '&back=' + encodeURIComponent(form.getAttribute('data-back')) +
        (reply ? '&reply=' + encodeURIComponent(reply) : '');
      var xhr = new XMLHttpRequest();
      xhr.open('POST', base + row.getAttribute('data-id') + '/transition');
      xhr.setRequestHeader('Content-Type', 'application/x-www-form-urlencoded');
      xhr.onload = function () {
        if (xhr.status >= 400) { window.alert(T.failed); }
        window.location.reload();
      };
      xhr.send(data);
    }

    var help = document.getElementById('kbd-help');
    function toggleHelp(show) {
      help.hidden = !show;
      if (show) { document.getElementById('kbd-help-close').focus(); }
    }
    document.getElementById('kbd-help-open').addEventListener('click', function () { toggleHelp(help.hidden); });
    document.getElementById('kbd-help-close').addEventListener('click', function () { toggleHelp(false); });

    document.addEventListener('keydown', function (ev) {
      if (ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
      var t = ev.target, tag = t && t.tagName ? t.tagName.toLowerCase() : '';
      if (tag === 'input' || tag === 'textarea' || tag === 'select' || (t && t.isContentEditable)) {
        if (ev.key === 'Escape' && t.blur) { t.blur(); }
        return;
      }
      var key = ev.key;
      if (key === 'Escape') {
        if (!help.hidden) { toggleHelp(false); } else if (!panel.hidden) { closePanel(); }
        return;
      }
      var row = current >= 0 ? rows[current] : null;
      if (key === 'j') { select(current + 1); } else if (key === 'k') { select(current < 0 ? 0 : current - 1); } else if (key === '/') {
        document.getElementById('board-search').focus();
      } else if (key === '?') {
        toggleHelp(help.hidden);
      } else if (key === 'a' && row && row.getAttribute('data-status') === 'submitted') {
        move(row, 'accepted');
      } else if (key === 'r' && row && /^(submitted|accepted)$/.test(row.getAttribute('data-status'))) {
        var reason = window.prompt(T.reject_reason.replace('%(ref)s', row.getAttribute('data-reference')));
        if (reason && reason.replace(/\s+/g, '')) { move(row, 'rejected', reason); }
      } else if (key === 'd' && row) {
        if (wide()) { openPanel(row.getAttribute('data-id'), 'form.move[data-to="assigned"] select[name="department"]'); } else {
          window.location.href = base + row.getAttribute('data-id') + '#moves';
        }
      } else {
        return;
      }
      ev.preventDefault();
    });
  }

  /* ---------- the map ---------- */

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
      var data = JSON.parse(xhr.responseText), bounds = [], outside = [];
      for (var i = 0; i < data.points.length; i++) {
        var pt = data.points[i];
        // A marker (not a drawn circle): reachable with Tab, Enter opens its link (keyboard users too).
        var dot = document.createElement('span');
        dot.style.background = pt.color;
        var at = M.toMap(pt.lat, pt.lon);
        var m = L.marker(at, {
          keyboard: true, title: pt.reference, alt: pt.reference,
          icon: L.divIcon({className: 'board-point', html: dot.outerHTML, iconSize: [18, 18]})
        });
        var a = document.createElement('a');
        a.href = pt.url;
        a.textContent = pt.reference;
        m.bindPopup(a);
        cluster.addLayer(m);
        // A location outside the service area (a GPS fix from elsewhere) would zoom the map out to a
        // continent: it is on the map, but left out of the automatic zoom.
        if (!pt.outside_area) { bounds.push(at); } else { outside.push(at); }
      }
      mapEl.setAttribute('data-count', String(data.points.length));
      if (!bounds.length) { bounds = outside; }
      if (bounds.length) { map.fitBounds(bounds, {maxZoom: 16}); }
    };
    xhr.send();
  }
})();
