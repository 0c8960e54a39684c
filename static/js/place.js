/* The place without the map: typed as "latitude, longitude", or the map's centre. For riders whose map
   does not load (no tiles), who use a keyboard or a screen reader, and who refused the location. */
(function () {
  'use strict';
  var box = document.getElementById('place-entry');
  if (!box) { return; }
  var field = document.getElementById('place-text'), message = document.getElementById('place-message');
  var NUM = /^\s*(-?\d{1,2}(?:\.\d+)?)\s*[,，\s]\s*(-?\d{1,3}(?:\.\d+)?)\s*$/;

  function say(text, bad) {
    message.textContent = text;
    field.setAttribute('aria-invalid', bad ? 'true' : 'false');
  }

  function usePlace() {
    var m = NUM.exec(field.value), lat = m && parseFloat(m[1]), lon = m && parseFloat(m[2]);
    if (!m || lat < -90 || lat > 90 || lon < -180 || lon > 180 || (lat === 0 && lon === 0)) {
      say(box.getAttribute('data-invalid'), true);
      return;
    }
    window.GridSnapPlace.set(lat, lon);
    say(box.getAttribute('data-set'), false);
  }

  document.getElementById('place-use').addEventListener('click', usePlace);
  field.addEventListener('keydown', function (e) {
    if (e.key === 'Enter') { e.preventDefault(); usePlace(); }  // Enter places the pin; it does not send
  });
  document.getElementById('place-centre').addEventListener('click', function () {
    var c = window.GridSnapPlace && window.GridSnapPlace.centre();
    if (!c) { say(box.getAttribute('data-no-map'), true); field.focus(); return; }
    window.GridSnapPlace.set(c.lat, c.lng);
    say(box.getAttribute('data-set'), false);
  });
  box.hidden = false;
})();
