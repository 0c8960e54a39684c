/* GridSnap: the installable app's glue for the rider's pages.
   Registers the service worker (secure origins only: HTTPS or localhost), sends the outbox when the
   page opens and whenever the connection returns, and lists waiting reports on My reports.
   Plain ES5 for WeChat's built-in browser. */
(function () {
  'use strict';

  var Outbox = window.GridSnapOutbox;
  var started = false;
  var retryTimer = null;

  function registerWorker() {
    if (!('serviceWorker' in navigator) || !window.isSecureContext) { return; }
    var url = document.documentElement.getAttribute('data-sw');
    if (!url) { return; }
    navigator.serviceWorker.register(url, { scope: '/' })['catch'](function () {});
    navigator.serviceWorker.addEventListener('message', function (e) {
      if (e.data && e.data.type === 'outbox-sent') { refreshList(true); }
    });
  }

  function flush() {
    if (!Outbox || !Outbox.available() || navigator.onLine === false) { return; }
    Outbox.flush(function (summary) {
      if (summary.retryAt) {
        retryAt(summary.retryAt);
      } else if (summary.waiting > 0) {
        tryAgainSoon();
      } else {
        backoff = 0;
      }
      if (summary.sent.length) { refreshList(true); } else { refreshList(false); }
    });
  }

  /* The attempt made when the connection returned can fail: the browser announces "online" before its
     network is usable again, or the server is busy. Nothing else would try again before the next page
     load (Background Sync retries after minutes, if at all), so try again while the page is open: after
     2 s, then 4, 8, ... at most a minute apart. */
  var backoff = 0, backoffTimer = null;
  function tryAgainSoon() {
    backoff = Math.min(backoff ? backoff * 2 : 2000, 60000);
    if (backoffTimer) { window.clearTimeout(backoffTimer); }
    backoffTimer = window.setTimeout(function () { backoffTimer = null; flush(); }, backoff);
  }

  /* Send again once the rider's filing limit lets the held reports through (while this page is open;
     otherwise the next page load does). */
  function retryAt(when) {
    if (retryTimer) { window.clearTimeout(retryTimer); }
    retryTimer = window.setTimeout(function () { retryTimer = null; flush(); }, Math.max(when - Date.now(), 0));
  }

  /* ---------- My reports: the waiting list ---------- */

  var box = null, T = null;

  function text(tag, cls, value) {
    var n = document.createElement(tag);
    if (cls) { n.className = cls; }
    n.textContent = value;
    return n;
  }

  function refreshList(sentSomething) {
    if (!box) { return; }
    if (sentSomething && navigator.onLine !== false) {
      // The server now has them: show the server's list.
      window.location.reload();
      return;
    }
    Outbox.all(function (err, all) {
      var list = Outbox.own(all, Outbox.currentUser());
      var ul = document.getElementById('outbox-list');
      ul.innerHTML = '';
      box.hidden = !list.length;
      for (var i = 0; i < list.length; i++) {
        var rec = list[i], li = document.createElement('li'), meta = document.createElement('div');
        li.className = 'outbox-item';
        li.setAttribute('data-key', rec.key);
        if (rec.photos && rec.photos[0] && window.URL && URL.createObjectURL) {
          var img = document.createElement('img');
          try { img.src = URL.createObjectURL(rec.photos[0].blob); img.alt = ''; li.appendChild(img); } catch (e) { /* no preview */ }
        }
        meta.className = 'meta';
        meta.appendChild(text('strong', '', rec.label || rec.fields.category || ''));
        meta.appendChild(document.createElement('br'));
        meta.appendChild(text('span', rec.refused ? 'refused' : 'waiting', status(rec)));
        meta.appendChild(document.createElement('br'));
        meta.appendChild(text('time', '', Outbox.localTime(rec.fields.captured_at)));
        li.appendChild(meta);
        var del = text('button', 'button', T['delete']);
        del.type = 'button';
        del.setAttribute('data-delete', rec.key);
        li.appendChild(del);
        ul.appendChild(li);
      }
    });
  }

  function status(rec) {
    if (rec.refused) { return T.refused.replace('%(reason)s', rec.refused); }
    if (rec.notBefore && rec.notBefore > Date.now()) {
      return T.held.replace('%(time)s', Outbox.localTime(new Date(rec.notBefore).toISOString())) +
        (rec.lastError ? ' ' + rec.lastError : '');
    }
    return T.waiting;
  }

  function initList() {
    box = document.getElementById('outbox');
    if (!box || !Outbox || !Outbox.available()) { return; }
    T = JSON.parse(document.getElementById('outbox-i18n').textContent);
    box.addEventListener('click', function (e) {
      var key = e.target.getAttribute && e.target.getAttribute('data-delete');
      if (key && window.confirm(T.confirm_delete)) { Outbox.remove(key, function () { refreshList(false); }); }
      if (e.target.id === 'outbox-send') { flush(); }
    });
    refreshList(false);
  }

  window.GridSnapApp = {
    start: function () {
      if (started) { return; }
      started = true;
      registerWorker();
      initList();
      window.addEventListener('online', flush);
      flush();
    },
    flush: flush,
    retryAt: retryAt
  };

  if (document.getElementById('outbox')) { window.GridSnapApp.start(); }

  /* Logging out on a shared phone: the saved copies of this rider's pages go first, so the next person
     offline does not open them (reports still waiting in the outbox stay, for this rider's next login). */
  Array.prototype.forEach.call(document.querySelectorAll('form[data-logout]'), function (logout) {
    if (!window.caches || !window.Promise) { return; }
    logout.addEventListener('submit', function (e) {
      e.preventDefault();
      var pages = JSON.parse(logout.getAttribute('data-offline-pages') || '[]');
      var gone = false;
      var go = function () { if (!gone) { gone = true; logout.submit(); } };  // submit() fires no submit event
      window.setTimeout(go, 2000);  // never stuck on a slow cache
      caches.keys().then(function (names) {  // every cache of this site is the service worker's
        return Promise.all(names.map(function (n) {
          return caches.open(n).then(function (c) {
            return Promise.all(pages.map(function (p) { return c['delete'](p); }));
          });
        }));
      }).then(go, go);
    });
  });
})();
