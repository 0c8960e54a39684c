/* GridSnap: the bell in the header keeps its unread count fresh (every data-poll seconds while the page is
   visible, and when it comes back to the front), so a rider sees news without reloading.
   Plain ES5 for WeChat's built-in browser; nothing happens without XMLHttpRequest. */
(function () {
  'use strict';

  var bell = document.querySelector('a.bell[data-poll]');
  if (!bell || !window.XMLHttpRequest) { return; }
  var every = Math.max(1, parseInt(bell.getAttribute('data-poll'), 10) || 60) * 1000;
  var busy = false;

  function show(count) {
    var badge = bell.querySelector('[data-bell-count]');
    bell.setAttribute('data-unread', String(count));
    if (!count) {
      if (badge) { badge.parentNode.removeChild(badge); }
      return;
    }
    if (!badge) {
      badge = document.createElement('span');
      badge.className = 'badge-unread';
      badge.setAttribute('data-bell-count', '');
      bell.appendChild(badge);
    }
    badge.textContent = count > 99 ? '99+' : String(count);
  }

  function poll() {
    if (busy || document.hidden) { return; }
    busy = true;
    var xhr = new XMLHttpRequest();
    xhr.open('GET', bell.getAttribute('data-count-url'), true);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.onreadystatechange = function () {
      if (xhr.readyState !== 4) { return; }
      busy = false;
      if (xhr.status !== 200) { return; }
      try { show(JSON.parse(xhr.responseText).unread || 0); } catch (e) { /* keep the last count */ }
    };
    xhr.send();
  }

  setInterval(poll, every);
  document.addEventListener('visibilitychange', function () { if (!document.hidden) { poll(); } });
}());
