/* GridSnap outbox: reports kept on the phone (IndexedDB) until the server has them.

   Every report goes through here: it is saved first, then sent with its Idempotency-Key,
   and removed only once the server answered 200/201. A network failure or a 5xx keeps it
   for later (the `online` event, the next page load, or Background Sync in the service
   worker); the same key means it can never arrive twice. A 429 (the rider's filing limit)
   keeps it too, held until its Retry-After has passed: nothing of that rider is sent before.
   Plain ES5: runs in pages (XHR, with upload progress) and in the service worker (fetch). */
(function (root) {
  'use strict';

  var DB_NAME = 'gridsnap', STORE = 'outbox', DB_VERSION = 1;
  var TOKEN_URL = '/api/v1/csrf';
  var flushing = false, again = [];

  function idb() { return root.indexedDB || null; }

  function openDb(cb) {
    var factory = idb();
    if (!factory) { cb(null); return; }
    var req;
    try { req = factory.open(DB_NAME, DB_VERSION); } catch (e) { cb(null); return; }
    req.onupgradeneeded = function () {
      var db = req.result;
      if (!db.objectStoreNames.contains(STORE)) { db.createObjectStore(STORE, { keyPath: 'key' }); }
    };
    req.onsuccess = function () { cb(req.result); };
    req.onerror = function () { cb(null); };
    req.onblocked = function () { cb(null); };
  }

  /* Run fn(store, setResult) in one transaction; done(err, result) when it has committed. */
  function withStore(mode, fn, done) {
    openDb(function (db) {
      if (!db) { if (done) { done(new Error('IndexedDB is not available')); } return; }
      var result, t;
      try { t = db.transaction(STORE, mode); } catch (e) { db.close(); if (done) { done(e); } return; }
      fn(t.objectStore(STORE), function (r) { result = r; });
      t.oncomplete = function () { db.close(); if (done) { done(null, result); } };
      t.onerror = t.onabort = function () { db.close(); if (done) { done(t.error || new Error('IndexedDB error')); } };
    });
  }

  function put(record, cb) { withStore('readwrite', function (s) { s.put(record); }, cb); }
  function remove(key, cb) { withStore('readwrite', function (s) { s['delete'](key); }, cb); }
  function get(key, cb) {
    withStore('readonly', function (s, set) {
      var req = s.get(key);
      req.onsuccess = function () { set(req.result || null); };
    }, function (err, rec) { cb(err, rec || null); });
  }
  function all(cb) {
    withStore('readonly', function (s, set) {
      var out = [], req = s.openCursor();
      req.onsuccess = function () {
        var cursor = req.result;
        if (cursor) { out.push(cursor.value); cursor['continue'](); } else { set(out); }
      };
    }, function (err, list) {
      list = list || [];
      list.sort(function (a, b) { return a.created - b.created; });
      cb(err, list);
    });
  }

  function newKey() {
    var c = root.crypto || root.msCrypto, bytes = [], i;
    if (c && c.getRandomValues) {
      var buf = new Uint8Array(16);
      c.getRandomValues(buf);
      for (i = 0; i < 16; i++) { bytes.push(buf[i]); }
    } else {
      for (i = 0; i < 16; i++) { bytes.push(Math.floor(Math.random() * 256)); }
    }
    var hex = '';
    for (i = 0; i < 16; i++) { hex += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16); }
    return 'gs-' + hex;
  }

  function parseJson(text) {
    try { return JSON.parse(text); } catch (e) { return null; }
  }

  /* A fresh CSRF token (a page served from the cache carries an old one) and who is logged in.
     cb(token or null, HTTP status, user id or null). */
  function fetchToken(cb) {
    if (root.XMLHttpRequest) {
      var xhr = new XMLHttpRequest();
      xhr.open('GET', TOKEN_URL, true);
      xhr.setRequestHeader('Accept', 'application/json');
      xhr.onload = function () {
        var body = parseJson(xhr.responseText);
        cb(xhr.status === 200 && body ? body.csrf_token : null, xhr.status, body ? body.user : null);
      };
      xhr.onerror = xhr.ontimeout = function () { cb(null, 0); };
      xhr.timeout = 15000;
      xhr.send();
      return;
    }
    root.fetch(TOKEN_URL, { credentials: 'same-origin', headers: { 'Accept': 'application/json' } })
      .then(function (r) { return r.json().then(function (b) { cb(r.status === 200 ? b.csrf_token : null, r.status, b.user); }); })
      ['catch'](function () { cb(null, 0); });
  }

  function formFor(record) {
    var fd = new FormData(), name;
    for (name in record.fields) {
      if (record.fields.hasOwnProperty(name) && record.fields[name] !== null && record.fields[name] !== undefined) {
        fd.append(name, record.fields[name]);
      }
    }
    for (var i = 0; i < record.photos.length; i++) {
      fd.append(record.fieldName || 'photos', record.photos[i].blob, record.photos[i].name || ('photo-' + (i + 1) + '.jpg'));
    }
    if (record.voice) {  // the voice note (static/js/voice.js)
      fd.append('voice', record.voice.blob, record.voice.name);
      fd.append('voice_seconds', record.voice.seconds);
    }
    return fd;
  }

  /* Milliseconds to wait before trying again after a 429: its Retry-After (seconds, or an HTTP date),
     at least a minute when it has none, plus a second (the server rounds its seconds down). */
  function retryDelay(header) {
    var seconds = header ? Number(header) : NaN;
    if (isNaN(seconds) && header) { seconds = (new Date(header).getTime() - Date.now()) / 1000; }
    if (isNaN(seconds)) { seconds = 60; }
    return (Math.max(seconds, 0) + 1) * 1000;
  }

  /* Send one record. cb({status, body, retryAfter}); status 0 means the network failed. */
  function send(record, token, onProgress, cb) {
    var headers = { 'Accept': 'application/json', 'X-CSRFToken': token || '', 'Idempotency-Key': record.key };
    if (root.XMLHttpRequest) {
      var xhr = new XMLHttpRequest(), h;
      xhr.open('POST', record.url, true);
      for (h in headers) { if (headers.hasOwnProperty(h)) { xhr.setRequestHeader(h, headers[h]); } }
      if (onProgress && xhr.upload) {
        xhr.upload.onprogress = function (e) { if (e.lengthComputable) { onProgress(e.loaded / e.total); } };
      }
      xhr.onload = function () {
        cb({ status: xhr.status, body: parseJson(xhr.responseText), retryAfter: xhr.getResponseHeader('Retry-After') });
      };
      xhr.onerror = xhr.ontimeout = xhr.onabort = function () { cb({ status: 0, body: null }); };
      xhr.timeout = 120000;
      xhr.send(formFor(record));
      return;
    }
    root.fetch(record.url, { method: 'POST', credentials: 'same-origin', headers: headers, body: formFor(record) })
      .then(function (r) {
        return r.text().then(function (t) {
          cb({ status: r.status, body: parseJson(t), retryAfter: r.headers.get('Retry-After') });
        });
      })['catch'](function () { cb({ status: 0, body: null }); });
  }

  /* Worth trying again later: the network, the server or the session, not the report. */
  function retryable(status) {
    return status === 0 || status === 401 || status === 408 || status === 429 || status >= 500;
  }

  function message(res) {
    return res.body && res.body.error ? res.body.error.message : null;
  }

  /* After a 429: keep the record, held until the server's Retry-After has passed (with its message). */
  function hold(rec, res, cb) {
    rec.notBefore = Date.now() + retryDelay(res.retryAfter);
    rec.lastError = message(res) || ('HTTP ' + res.status);
    put(rec, function () { cb(rec.notBefore); });
  }

  /* The latest time until which one of these records is held, or 0. */
  function heldUntil(list) {
    var until = 0, now = Date.now();
    for (var i = 0; i < list.length; i++) {
      if (list[i].notBefore && list[i].notBefore > now && list[i].notBefore > until) { until = list[i].notBefore; }
    }
    return until;
  }

  /* The rider logged in on this page (a page's <html data-user>), or null (in the service worker). */
  function currentUser() {
    var doc = root.document;
    return (doc && Number(doc.documentElement.getAttribute('data-user'))) || null;
  }

  /* The records that may go out under this login: its own rider's (records from before riders were
     recorded on them go with whoever is logged in). */
  function own(list, user) {
    var out = [];
    for (var i = 0; i < list.length; i++) {
      if (!list[i].user || !user || list[i].user === user) { out.push(list[i]); }
    }
    return out;
  }

  /* Send everything waiting of the logged-in rider, oldest first (another rider's reports on a shared
     phone wait for their own login). While one of them is held after a 429, none is sent: the limit
     is the rider's. cb({sent: [reports], waiting: n, refused: n, retryAt: time or 0}). */
  function flush(cb) {
    cb = cb || function () {};
    // A call during a flush (the connection returning while an earlier attempt still runs) is not dropped:
    // one more flush runs when this one is over, and answers every caller that waited for it.
    if (flushing) { again.push(cb); return; }
    flushing = true;
    var done = cb;
    cb = function (summary) {
      flushing = false;
      done(summary);
      if (again.length) {
        var waiting = again;
        again = [];
        flush(function (s) { for (var i = 0; i < waiting.length; i++) { waiting[i](s); } });
      }
    };
    all(function (err, list) {
      var summary = { sent: [], waiting: 0, refused: 0, retryAt: 0 };
      if (err || !list.length) { cb(summary); return; }
      var pending = [];
      for (var i = 0; i < list.length; i++) { if (!list[i].refused) { pending.push(list[i]); } else { summary.refused++; } }
      if (!pending.length) { cb(summary); return; }
      fetchToken(function (token, status, user) {
        if (!token) {
          summary.waiting = pending.length;
          cb(summary);
          return;
        }
        pending = own(pending, user);
        summary.retryAt = heldUntil(pending);
        if (summary.retryAt) {
          summary.waiting = pending.length;
          cb(summary);
          return;
        }
        var index = 0;
        (function next() {
          if (index >= pending.length) { cb(summary); return; }
          var rec = pending[index++];
          send(rec, token, null, function (res) {
            if (res.status === 200 || res.status === 201) {
              summary.sent.push(res.body);
              remove(rec.key, function () { next(); });
            } else if (res.status === 429) {
              summary.waiting += pending.length - index + 1;
              hold(rec, res, function (until) { summary.retryAt = until; cb(summary); });
            } else if (retryable(res.status)) {
              rec.attempts = (rec.attempts || 0) + 1;
              rec.lastError = message(res) || ('HTTP ' + res.status);
              summary.waiting += pending.length - index + 1;
              // The connection is down or the server is struggling: stop here, try again later.
              put(rec, function () { cb(summary); });
            } else {
              rec.refused = message(res) || ('HTTP ' + res.status);
              summary.refused++;
              put(rec, function () { next(); });
            }
          });
        })();
      });
    });
  }

  /* "2026-11-29 21:40" in the phone's own time. */
  function localTime(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) { return ''; }
    function pad(n) { return (n < 10 ? '0' : '') + n; }
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' + pad(d.getHours()) + ':' + pad(d.getMinutes());
  }

  root.GridSnapOutbox = {
    localTime: localTime,
    available: function () { return !!idb(); },
    newKey: newKey, put: put, get: get, remove: remove, all: all,
    fetchToken: fetchToken, send: send, flush: flush, retryable: retryable, message: message,
    hold: hold, currentUser: currentUser, own: own
  };
})(typeof self !== 'undefined' ? self : this);
