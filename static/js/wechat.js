/* WeChat's in-app browser (user agent "MicroMessenger"): say in one line what does not work there (no
   installing; on iOS, and wherever service workers are missing, no offline start) and how to open the page
   in the phone's browser. Camera, location and the outbox work as anywhere else. Plain ES5. */
(function () {
  'use strict';
  var note = document.getElementById('wechat-note');
  if (!note || !/MicroMessenger/i.test(navigator.userAgent)) { return; }
  var ios = /iPhone|iPad|iPod/i.test(navigator.userAgent);
  // Offline start needs a service worker: feature-tested, and never assumed in iOS WeChat (WKWebView).
  var offline = !ios && 'serviceWorker' in navigator && window.isSecureContext === true;
  document.documentElement.className += ' wechat' + (ios ? ' wechat-ios' : ' wechat-android');
  note.textContent = note.getAttribute(offline ? 'data-install' : 'data-offline');
  note.setAttribute('data-kind', offline ? 'install' : 'offline');
  note.hidden = false;
})();
