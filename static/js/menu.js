/* The header on a phone: the pages fold into one menu so the header is one row for every role. ES5. */
(function () {
  'use strict';
  var button = document.querySelector('.menu-toggle');
  if (!button) { return; }
  var root = document.documentElement;
  root.className += ' has-menu';
  button.hidden = false;
  function setOpen(open) {
    root.className = root.className.replace(/ menu-open/g, '') + (open ? ' menu-open' : '');
    button.setAttribute('aria-expanded', open ? 'true' : 'false');
  }
  button.addEventListener('click', function () { setOpen(button.getAttribute('aria-expanded') !== 'true'); });
  document.addEventListener('keydown', function (e) {
    if ((e.key === 'Escape' || e.keyCode === 27) && button.getAttribute('aria-expanded') === 'true') {
      setOpen(false);
      button.focus();
    }
  });
})();
