/* GridSnap: the rider's report page.
   Photos are downscaled on the phone (long edge 1600 px, JPEG 0.82) before upload; the location
   comes from the device, else the first photo's EXIF GPS, else a pin on the map (always draggable).
   Every report is kept in the outbox (IndexedDB) until the server has it, so a dropped connection
   loses nothing, and its Idempotency-Key means it never arrives twice.
   Plain ES5 for WeChat's built-in browser. */
(function () {
  'use strict';

  var MAX_PHOTOS = 4, LONG_EDGE = 1600, QUALITY = 0.82;
  var form = document.getElementById('report-form');
  if (!form) { return; }
  var T = JSON.parse(document.getElementById('report-i18n').textContent);
  var Outbox = window.GridSnapOutbox;
  // Whose reports these are: on a shared phone the outbox sends each one only under its own rider's login.
  var me = Outbox.currentUser();

  var el = function (id) { return document.getElementById(id); };
  var photoInput = el('photo-input'), previews = el('previews'), photoHint = el('photo-hint');
  var statusLine = el('location-status'), mapBox = el('map'), errorBox = el('form-error');
  var progress = el('progress'), bar = el('progress-bar'), submit = el('submit');
  var nearbyBox = el('nearby'), nearbyList = el('nearby-list');

  var photos = [];          // {blob, url, gps, name}
  var processing = 0;       // photos still being downscaled
  var loc = null;           // {lat, lon, accuracy, source}
  var geoState = 'pending'; // pending | ok | failed
  var map = null, marker = null;
  var pendingKey = null;    // kept across retries of the same report
  var busy = false;

  document.documentElement.className += ' js';
  el('coords').hidden = true;

  function fmt(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (m, k) { return values.hasOwnProperty(k) ? values[k] : m; });
  }

  function showError(text, box) {
    box = box || errorBox;
    if (box !== errorBox) { errorBox.hidden = true; }
    box.textContent = text;
    box.hidden = !text;
    if (text && box.scrollIntoView) { box.scrollIntoView({ block: 'center' }); }
  }

  function clearErrors() {
    showError('');
    el('photo-error').hidden = true;
    el('category-error').hidden = true;
  }

  // A missing part: the message next to it, scrolled into view, the focus moved there.
  function showMissing(text, box, target) {
    showError(text, box);
    if (target && target.focus) {
      try { target.focus({ preventScroll: true }); } catch (e) { target.focus(); }
    }
  }

  function isHeic(file) {
    return /^image\/hei[cf]/i.test(file.type || '') || /\.(heic|heif)$/i.test(file.name || '');
  }

  /* ---------- photos ---------- */

  // WebP where the browser can encode it (smaller at the same look), JPEG otherwise; the server takes both.
  var PHOTO_TYPE = (function () {
    try {
      var c = document.createElement('canvas');
      c.width = c.height = 1;
      return c.toDataURL('image/webp').indexOf('data:image/webp') === 0 ? 'image/webp' : 'image/jpeg';
    } catch (e) { return 'image/jpeg'; }
  })();
  // Lower qualities tried in turn until the photo fits TARGET_BYTES (a noisy 12 MP photo needs them).
  var QUALITIES = [QUALITY, 0.7, 0.6, 0.5], TARGET_BYTES = 300 * 1024;

  function encode(canvas, quality, cb) {
    if (canvas.toBlob) { canvas.toBlob(cb, PHOTO_TYPE, quality); return; }
    var data = canvas.toDataURL(PHOTO_TYPE, quality), bin = atob(data.split(',')[1]);
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { bytes[i] = bin.charCodeAt(i); }
    cb(new Blob([bytes], { type: data.slice(5, data.indexOf(';')) }));
  }

  function toBlob(canvas, cb, step) {
    step = step || 0;
    encode(canvas, QUALITIES[step], function (blob) {
      if (blob && blob.size > TARGET_BYTES && step + 1 < QUALITIES.length) { toBlob(canvas, cb, step + 1); return; }
      cb(blob);
    });
  }

  /* The photo as a WebP or JPEG of at most 1600 px; the original (decoded false) when the browser cannot decode it. */
  function downscale(file, cb) {
    if (!window.URL || !URL.createObjectURL || !document.createElement('canvas').getContext) { cb(file, true); return; }
    var url = URL.createObjectURL(file), img = new Image();
    img.onload = function () {
      var w = img.naturalWidth, h = img.naturalHeight, scale = Math.min(1, LONG_EDGE / Math.max(w, h));
      var canvas = document.createElement('canvas');
      canvas.width = Math.max(1, Math.round(w * scale));
      canvas.height = Math.max(1, Math.round(h * scale));
      var ctx = canvas.getContext('2d');
      ctx.fillStyle = '#fff';
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
      URL.revokeObjectURL(url);
      toBlob(canvas, function (blob) {
        cb(blob && blob.size && (blob.size < file.size || file.type !== 'image/jpeg') ? blob : file, true);
      });
    };
    img.onerror = function () { URL.revokeObjectURL(url); cb(file, false); };
    img.src = url;
  }

  function renderPreviews() {
    form.className = form.className.replace(/ has-photo/g, '') + (photos.length ? ' has-photo' : '');  // send button in reach
    previews.innerHTML = '';
    for (var i = 0; i < photos.length; i++) {
      var li = document.createElement('li'), img, btn = document.createElement('button');
      if (photos[i].placeholder) {
        // A photo this browser cannot show (HEIC): its name instead of a broken image; the server converts it.
        img = document.createElement('span');
        img.className = 'placeholder';
        img.setAttribute('role', 'img');
        img.setAttribute('aria-label', fmt(T.no_preview, { name: photos[i].original }));
        img.textContent = photos[i].original;
      } else {
        img = document.createElement('img');
        img.src = photos[i].url;
        img.alt = fmt(T.photo_n, { n: i + 1 });
      }
      btn.type = 'button';
      btn.className = 'remove';
      btn.setAttribute('aria-label', fmt(T.remove_photo, { n: i + 1 }));
      btn.textContent = '×';
      btn.setAttribute('data-index', String(i));
      li.appendChild(img);
      li.appendChild(btn);
      previews.appendChild(li);
    }
    photoHint.textContent = photos.length >= MAX_PHOTOS ? T.max_photos
      : photos.length ? fmt(T.photos_count, { n: photos.length, max: MAX_PHOTOS }) : T.up_to;
    el('camera-label').className = el('camera-label').className.replace(/ disabled/g, '') + (photos.length >= MAX_PHOTOS ? ' disabled' : '');
    photoInput.disabled = photos.length >= MAX_PHOTOS;
  }

  previews.addEventListener('click', function (e) {
    var index = e.target.getAttribute && e.target.getAttribute('data-index');
    if (index === null || index === undefined) { return; }
    var removed = photos.splice(parseInt(index, 10), 1)[0];
    if (removed && removed.url) { URL.revokeObjectURL(removed.url); }
    renderPreviews();
    if (loc && loc.source === 'exif' && !firstGps()) { loc = null; updateLocation(); }
  });

  function firstGps() {
    for (var i = 0; i < photos.length; i++) { if (photos[i].gps) { return photos[i].gps; } }
    return null;
  }

  function addFile(file) {
    if (photos.length + processing >= MAX_PHOTOS) { showError(T.max_photos); return; }
    if (file.type && file.type.indexOf('image/') !== 0 && !isHeic(file)) {
      showError(fmt(T.not_image_named, { name: file.name || '' }), el('photo-error'));
      return;
    }
    processing++;
    submit.disabled = true;
    var entry = { blob: null, url: null, gps: null, name: 'photo.jpg', original: file.name || '' };
    var steps = 0; // EXIF read and downscale both finish before the photo counts
    function finished() {
      if (++steps < 2) { return; }
      processing--;
      if (entry.unreadable) {
        // Not a picture at all (a renamed text file): said at once, naming it, instead of at sending.
        showError(fmt(T.not_image_named, { name: entry.original }), el('photo-error'));
        if (!processing) { submit.disabled = false; }
        return;
      }
      photos.push(entry);
      renderPreviews();
      if (entry.gps && (!loc || loc.source === 'exif' || (geoState === 'failed' && loc.source !== 'map'))) {
        if (!loc || loc.source !== 'device') { setLocation(entry.gps.lat, entry.gps.lon, null, 'exif'); }
      }
      if (!processing) { submit.disabled = false; }
      checkNearby();
    }
    var reader = window.GridSnapExif;
    if (reader) {
      reader.read(file, function (info) {
        if (info && typeof info.lat === 'number' && typeof info.lon === 'number') {
          entry.gps = { lat: info.lat, lon: info.lon };
        }
        finished();
      });
    } else { steps++; }
    downscale(file, function (blob, decoded) {
      if (!decoded && !isHeic(file)) { entry.unreadable = true; finished(); return; }
      entry.placeholder = !decoded;
      entry.blob = blob;
      entry.name = blob === file && file.name ? 'photo' + (/\.\w+$/.exec(file.name) || ['.jpg'])[0]
        : (blob.type === 'image/webp' ? 'photo.webp' : 'photo.jpg');
      try { entry.url = URL.createObjectURL(blob); } catch (e) { entry.url = ''; }
      finished();
    });
  }

  photoInput.addEventListener('change', function () {
    clearErrors();
    var files = photoInput.files || [];
    for (var i = 0; i < files.length; i++) { addFile(files[i]); }
    photoInput.value = '';
  });

  /* ---------- location ---------- */

  function setLocation(lat, lon, accuracy, source) {
    loc = { lat: lat, lon: lon, accuracy: accuracy, source: source };
    updateLocation();
    checkNearby();
    loadLooks();
  }

  function updateLocation() {
    el('lat').value = loc ? loc.lat.toFixed(6) : '';
    el('lon').value = loc ? loc.lon.toFixed(6) : '';
    el('accuracy').value = loc && loc.accuracy !== null ? String(Math.round(loc.accuracy)) : '';
    el('location-source').value = loc ? loc.source : 'map';
    if (!loc) {
      statusLine.textContent = geoState === 'pending' ? T.locating : T.tap_map;
    } else if (loc.source === 'device') {
      statusLine.textContent = fmt(T.located, { m: Math.round(loc.accuracy || 0) });
    } else if (loc.source === 'exif') {
      statusLine.textContent = T.from_photo;
    } else {
      statusLine.textContent = T.from_map;
    }
    statusLine.className = 'hint location-' + (loc ? loc.source : 'none');
    var warning = el('area-warning');
    warning.hidden = !loc || inArea(loc.lat, loc.lon);
    if (!warning.hidden) { warning.textContent = fmt(T.far_from, { place: form.getAttribute('data-area-name') }); }
    placeMarker();
  }

  /* ---------- the service area: a location far from it is sent, with a warning first ---------- */

  var area = JSON.parse(form.getAttribute('data-area') || '{}');

  function metres(aLat, aLon, bLat, bLon) {
    var r = Math.PI / 180, dLat = (bLat - aLat) * r, dLon = (bLon - aLon) * r;
    var h = Math.pow(Math.sin(dLat / 2), 2) + Math.cos(aLat * r) * Math.cos(bLat * r) * Math.pow(Math.sin(dLon / 2), 2);
    return 2 * 6371000 * Math.asin(Math.sqrt(h));
  }

  // Even-odd ray casting over every ring of a Polygon or MultiPolygon (holes fall out of the rule).
  function inRings(rings, lat, lon) {
    var inside = false;
    for (var r = 0; r < rings.length; r++) {
      var ring = rings[r];
      for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        var xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
        if ((yi > lat) !== (yj > lat) && lon < (xj - xi) * (lat - yi) / (yj - yi) + xi) { inside = !inside; }
      }
    }
    return inside;
  }

  function inArea(lat, lon) {
    if (area.circle) { return metres(area.circle.lat, area.circle.lon, lat, lon) <= area.circle.radius_m; }
    var g = area.geometry;
    if (!g) { return true; }
    if (g.type === 'Polygon') { return inRings(g.coordinates, lat, lon); }
    if (g.type === 'MultiPolygon') {
      for (var p = 0; p < g.coordinates.length; p++) { if (inRings(g.coordinates[p], lat, lon)) { return true; } }
      return false;
    }
    return true;
  }

  function placeMarker() {
    if (!map) { return; }
    if (!loc) { if (marker) { map.removeLayer(marker); marker = null; } return; }
    var point = window.GridSnapMap.toMap(loc.lat, loc.lon);  // drawn on the tiles' datum, kept in WGS-84
    if (!marker) {
      marker = window.L.marker(point, { draggable: true, keyboard: true, title: T.drag_pin }).addTo(map);
      marker.on('dragend', function () {
        var p = window.GridSnapMap.fromMap(marker.getLatLng());
        setLocation(p.lat, p.lon, null, 'map');
      });
      marker.getElement().addEventListener('keydown', movePinByKey);
    } else {
      marker.setLatLng(point);
    }
    map.setView(point, Math.max(map.getZoom(), 16));
  }

  // Arrow keys move the focused pin (a few metres at street zoom), for keyboards and switch access.
  function movePinByKey(e) {
    var step = { ArrowUp: [1, 0], ArrowDown: [-1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] }[e.key];
    if (!step || !loc) { return; }
    e.preventDefault();
    var metres = 5 * Math.pow(2, Math.max(0, 18 - map.getZoom())) * (e.shiftKey ? 5 : 1);
    var dLat = step[0] * metres / 111320, dLon = step[1] * metres / (111320 * Math.cos(loc.lat * Math.PI / 180));
    setLocation(loc.lat + dLat, loc.lon + dLon, null, 'map');
    marker.getElement().focus();
  }

  // The place without the map (static/js/place.js): typed, or the map's centre.
  window.GridSnapPlace = {
    set: function (lat, lon) { setLocation(lat, lon, null, 'map'); },
    centre: function () {  // in WGS-84, whatever the tiles' datum
      if (!map) { return null; }
      var p = window.GridSnapMap.fromMap(map.getCenter());
      return { lat: p.lat, lng: p.lon };
    }
  };

  function initMap() {
    if (map || !window.L) { return; }
    mapBox.hidden = false;
    var M = window.GridSnapMap;
    var center = M.toMap(parseFloat(form.getAttribute('data-lat')), parseFloat(form.getAttribute('data-lon')));
    map = M.base(window.L.map(mapBox, { zoomControl: true, attributionControl: true })).setView(center, 13);
    mapBox.gridsnapMap = map;  // the map of this page, for scripts that look at it (the browser tests)
    map.on('click', function (e) { var p = M.fromMap(e.latlng); setLocation(p.lat, p.lon, null, 'map'); });
    drawGrids();
    placeMarker();
  }

  /* The grid outlines under the pin: with no tiles (offline, no key) the rider still sees where they are. */
  function drawGrids() {
    if (!navigator.onLine) { return; }
    var xhr = new XMLHttpRequest();
    xhr.open('GET', form.getAttribute('data-grids'), true);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.onload = function () {
      if (xhr.status !== 200 || !map) { return; }
      window.L.geoJSON(window.GridSnapMap.geoJSON(JSON.parse(xhr.responseText)), {
        interactive: false,
        style: function () { return { color: '#0b5cad', weight: 1.5, fillOpacity: 0.04 }; }
      }).addTo(map);
    };
    xhr.send();
  }

  function locate() {
    if (!navigator.geolocation) { geoState = 'failed'; updateLocation(); return; }
    geoState = 'pending';
    updateLocation();
    navigator.geolocation.getCurrentPosition(function (pos) {
      geoState = 'ok';
      if (loc && loc.source === 'map') { return; } // the rider placed the pin: keep it
      setLocation(pos.coords.latitude, pos.coords.longitude, pos.coords.accuracy, 'device');
    }, function () {
      geoState = 'failed';
      var gps = firstGps();
      if (gps && (!loc || loc.source !== 'map')) { setLocation(gps.lat, gps.lon, null, 'exif'); } else { updateLocation(); }
    }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
  }

  el('locate').addEventListener('click', locate);

  /* A landmark picked by name moves the pin there (the rider drags it to the exact spot). */
  if (window.GridSnapPlaces && el('place-q')) {
    window.GridSnapPlaces.attach(el('place-q'), function (place) {
      initMap();
      setLocation(place.lat, place.lon, null, 'map');
    }, function () { return loc; });
  }

  /* ---------- "already reported?" ---------- */

  var nearbyTimer = null, nearbyRequest = 0;

  function category() {
    var checked = form.querySelector('input[name=category]:checked');
    return checked ? checked.value : '';
  }

  function checkNearby() {
    if (nearbyTimer) { clearTimeout(nearbyTimer); }
    nearbyTimer = setTimeout(loadNearby, 300);
  }

  function loadNearby() {
    var cat = category();
    if (!cat || !loc || !navigator.onLine) { nearbyBox.hidden = true; return; }
    var xhr = new XMLHttpRequest(), id = ++nearbyRequest;
    xhr.open('GET', form.getAttribute('data-nearby') + '?category=' + encodeURIComponent(cat) +
             '&lat=' + loc.lat.toFixed(6) + '&lon=' + loc.lon.toFixed(6), true);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.onload = function () {
      if (id !== nearbyRequest || xhr.status !== 200) { return; }
      var items = (JSON.parse(xhr.responseText).items || []).slice(0, 3);
      nearbyList.innerHTML = '';
      for (var i = 0; i < items.length; i++) {
        var it = items[i], li = document.createElement('li'), text = document.createElement('span');
        text.textContent = it.reference + ' · ' + it.category_name + ' · ' + fmt(T.metres_away, { m: it.distance_m }) +
          (it.description ? ' · ' + it.description : '');
        li.appendChild(text);
        if (!it.mine) {
          var btn = document.createElement('button');
          btn.type = 'button';
          btn.className = 'button big';
          btn.textContent = T.add_to_this;
          btn.setAttribute('data-id', String(it.id));
          btn.setAttribute('data-reference', it.reference);
          li.appendChild(btn);
        } else {
          var note = document.createElement('em');
          note.textContent = ' ' + T.already_following;
          li.appendChild(note);
        }
        nearbyList.appendChild(li);
      }
      nearbyBox.hidden = items.length === 0;
    };
    xhr.send();
  }

  form.addEventListener('change', function (e) {
    if (e.target && e.target.name === 'category') { checkNearby(); askLocationOnce(); }
  });

  // The location is asked for after the rider's first gesture (a photo or a tile), not on load: a prompt
  // refused without thinking cannot be asked again. Where it is already allowed, it is read at once.
  var asked = false;
  function askLocationOnce() {
    if (!asked) { asked = true; locate(); }
  }
  photoInput.addEventListener('change', askLocationOnce);

  /* ---------- "Fixed? Take a look" (reports handled lately near the rider) ---------- */

  var looksBox = el('looks'), looksList = el('looks-list'), looksAt = null, looksRequest = 0;

  function loadLooks() {
    if (!loc || !navigator.onLine) { return; }
    // Once per ~50 m moved: the pin is dragged often, the list changes only with the place.
    if (looksAt && Math.abs(looksAt.lat - loc.lat) < 0.0005 && Math.abs(looksAt.lon - loc.lon) < 0.0005) { return; }
    looksAt = { lat: loc.lat, lon: loc.lon };
    var xhr = new XMLHttpRequest(), id = ++looksRequest;
    xhr.open('GET', looksBox.getAttribute('data-api') + '?lat=' + loc.lat.toFixed(6) + '&lon=' + loc.lon.toFixed(6), true);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.onload = function () {
      if (id !== looksRequest || xhr.status !== 200) { return; }
      var items = JSON.parse(xhr.responseText).items || [];
      looksList.innerHTML = '';
      for (var i = 0; i < items.length; i++) { looksList.appendChild(lookItem(items[i])); }
      looksBox.hidden = items.length === 0;
    };
    xhr.send();
  }

  function lookItem(it) {
    var li = document.createElement('li'), text = document.createElement('span');
    li.setAttribute('data-id', String(it.id));
    text.textContent = it.reference + ' · ' + it.category_name + ' · ' + fmt(T.metres_away, { m: it.distance_m }) +
      ' · ' + fmt(T.handled_on, { when: String(it.resolved_at).replace('T', ' ').slice(0, 10) });
    li.appendChild(text);
    var pick = document.createElement('label'), input = document.createElement('input');
    pick.className = 'button big secondary look-photo';
    pick.appendChild(document.createTextNode(T.look_photo));
    input.type = 'file';
    input.accept = 'image/*';
    input.className = 'visually-hidden-input';
    pick.appendChild(input);
    li.appendChild(pick);
    var row = document.createElement('div');
    row.className = 'row look-answers';
    row.appendChild(lookButton(T.fixed, 'true', 'button big primary'));
    row.appendChild(lookButton(T.not_fixed, 'false', 'button big danger'));
    li.appendChild(row);
    input.addEventListener('change', function () {
      var file = input.files && input.files[0];
      if (!file) { return; }
      downscale(file, function (blob) {
        li.lookPhoto = { blob: blob, name: blob === file ? 'photo' + ((/\.\w+$/.exec(file.name) || ['.jpg'])[0]) : 'photo.jpg' };
        pick.firstChild.nodeValue = T.look_photo_added;
      });
    });
    return li;
  }

  function lookButton(label, fixed, cls) {
    var b = document.createElement('button');
    b.type = 'button';
    b.className = cls;
    b.textContent = label;
    b.setAttribute('data-fixed', fixed);
    return b;
  }

  looksList.addEventListener('click', function (e) {
    var fixed = e.target.getAttribute && e.target.getAttribute('data-fixed');
    if (!fixed || busy || !loc) { return; }
    var li = e.target.parentNode.parentNode, id = li.getAttribute('data-id');
    var record = {
      key: Outbox.newKey(), url: looksBox.getAttribute('data-api').replace(/fixed-nearby$/, id + '/verification'),
      created: Date.now(), user: me, fieldName: 'photo',
      fields: { fixed: fixed, lat: loc.lat.toFixed(6), lon: loc.lon.toFixed(6) },
      photos: li.lookPhoto ? [li.lookPhoto] : []
    };
    transmit(record, function (res) {
      if (res.status === 200 || res.status === 409) {  // 409: answered already (another tab)
        li.innerHTML = '';
        var thanks = document.createElement('p');
        thanks.className = 'look-thanks';
        thanks.setAttribute('role', 'status');
        thanks.textContent = T.look_thanks;
        li.appendChild(thanks);
      } else {
        showError(Outbox.message(res) || T.send_failed);
      }
    }, false);
  });

  nearbyList.addEventListener('click', function (e) {
    var id = e.target.getAttribute && e.target.getAttribute('data-id');
    if (!id || busy) { return; }
    if (!photos.length) { showError(T.need_photo_to_add); return; }
    var record = {
      key: Outbox.newKey(), url: form.getAttribute('data-api') + '/' + id + '/photos', created: Date.now(), user: me,
      fields: { comment: form.elements.description.value, lat: loc.lat.toFixed(6), lon: loc.lon.toFixed(6) },
      photos: photos.map(function (p) { return { blob: p.blob, name: p.name }; })
    };
    transmit(record, function (res) {
      if (res.status === 201) {
        done(T.added_title, e.target.getAttribute('data-reference'), new Date().toISOString(), false);
      } else {
        showError(Outbox.message(res) || T.send_failed);
        // 409: closed or too old to join since the list was shown; the list now leaves it out.
        if (res.status === 409) { loadNearby(); }
      }
    }, false);
  });

  /* ---------- sending ---------- */

  function showProgress(fraction) {
    progress.hidden = false;
    bar.style.width = Math.round(fraction * 100) + '%';
    el('conf-sending-bar').style.width = Math.round(fraction * 100) + '%';
  }

  /* Send now with a fresh CSRF token; cb(response). */
  function transmit(record, cb, keep) {
    busy = true;
    submit.disabled = true;
    showError('');
    showProgress(0.02);
    Outbox.fetchToken(function (token, status) {
      if (!token) { finish({ status: status === 401 ? 401 : 0, body: null }); return; }
      Outbox.send(record, token, showProgress, finish);
    });
    function finish(res) {
      busy = false;
      submit.disabled = false;
      progress.hidden = true;
      cb(res);
    }
  }

  function done(title, reference, when, queued) {
    form.hidden = true;
    var box = el('confirmation');
    el('conf-title').textContent = title;
    el('conf-reference').textContent = reference || '';
    el('conf-reference-line').hidden = !reference;
    // The server's times carry the county's offset (shown as they are); the phone's own are converted.
    el('conf-time').textContent = /[+-]\d\d:\d\d$/.test(String(when)) ? String(when).replace('T', ' ').slice(0, 16)
      : Outbox.localTime(when);
    el('conf-queued').hidden = !queued;
    el('conf-held').hidden = true;
    el('conf-sending').hidden = true;
    box.hidden = false;
    window.scrollTo(0, 0);
    box.setAttribute('tabindex', '-1');
    box.focus();  // screen readers and keyboards land on the confirmation
    pendingKey = null;
  }

  // The app says what is missing, next to it (not the browser's own bubble in its own language).
  form.noValidate = true;

  function validate() {
    clearErrors();
    if (processing) { showError(T.still_processing); return false; }
    if (!photos.length) { showMissing(T.need_photo, el('photo-error'), photoInput); return false; }
    if (!category()) {
      showMissing(T.need_category, el('category-error'), form.querySelector('input[name=category]'));
      return false;
    }
    if (!loc) { showError(T.need_location); return false; }
    return true;
  }

  form.addEventListener('submit', function (e) {
    e.preventDefault();
    if (busy) { return; }
    if (!validate()) { return; }
    pendingKey = pendingKey || Outbox.newKey();
    var capturedAt = new Date().toISOString();
    var record = {
      key: pendingKey, url: form.getAttribute('data-api'), created: Date.now(), user: me,
      label: form.querySelector('input[name=category]:checked').getAttribute('data-name'),
      fields: {
        category: category(), description: form.elements.description.value, building: form.elements.building.value,
        lat: loc.lat.toFixed(6), lon: loc.lon.toFixed(6), accuracy: loc.accuracy === null ? '' : String(Math.round(loc.accuracy)),
        location_source: loc.source, captured_at: capturedAt
      },
      photos: photos.map(function (p) { return { blob: p.blob, name: p.name }; }),
      voice: window.GridSnapVoice ? window.GridSnapVoice.note() : null  // static/js/voice.js
    };
    var saved = false;
    Outbox.put(record, function (err) {
      saved = !err;
      if (saved && navigator.onLine === false) { queued(); return; }
      if (saved) { savedOnPhone(); }  // the rider is free at once; the upload goes on and its answer fills in
      transmit(record, function (res) {
        if (res.status === 200 || res.status === 201) {
          if (saved) { Outbox.remove(record.key); }
          done(T.sent_title, res.body.reference, res.body.created_at, false);
        } else if (res.status === 429 && saved) {
          // The rider's filing limit: kept on the phone and sent by itself once the server's wait is over.
          Outbox.hold(record, res, function (until) {
            done(T.queued_title, '', capturedAt, false);
            var held = el('conf-held');
            held.textContent = (Outbox.message(res) || '') + ' ' +
              fmt(T.held, { time: Outbox.localTime(new Date(until).toISOString()) });
            held.hidden = false;
            if (window.GridSnapApp) { window.GridSnapApp.retryAt(until); }
          });
        } else if (Outbox.retryable(res.status) && saved) {
          queued();
        } else {
          // Refused (bad input): nothing was created; the rider fixes the form and sends again.
          if (saved) { Outbox.remove(record.key); }
          form.hidden = false;
          el('confirmation').hidden = true;
          showError(Outbox.message(res) || (res.status ? T.send_failed : T.offline_no_outbox));
        }
      }, true);
    });
    function queued() {
      requestSync();
      done(T.queued_title, '', capturedAt, true);
    }
    function savedOnPhone() {
      done(T.saved_title, '', capturedAt, false);
      el('conf-sending').hidden = false;
    }
  });

  function requestSync() {
    if (navigator.serviceWorker && navigator.serviceWorker.ready) {
      navigator.serviceWorker.ready.then(function (reg) {
        if (reg.sync && reg.sync.register) { return reg.sync.register('gridsnap-outbox'); }
      })['catch'](function () {});
    }
  }

  /* ---------- start ---------- */

  // Each tile carries its name for the outbox list.
  var tiles = form.querySelectorAll('input[name=category]');
  for (var i = 0; i < tiles.length; i++) {
    tiles[i].setAttribute('data-name', tiles[i].parentNode.querySelector('span').textContent);
  }
  renderPreviews();
  initMap();
  if (navigator.permissions && navigator.permissions.query) {
    navigator.permissions.query({ name: 'geolocation' }).then(function (state) {
      if (state.state === 'granted') { askLocationOnce(); } else { geoState = 'failed'; updateLocation(); }
    })['catch'](function () { geoState = 'failed'; updateLocation(); });
  } else { geoState = 'failed'; updateLocation(); }
  if (window.GridSnapApp) { window.GridSnapApp.start(); }
})();
