/* GridSnap: defaults for every Leaflet map, loaded right after leaflet.js (see the leaflet() macro).
   The zoom buttons speak the page's language, and the "Leaflet" link goes: a 15 px tap target next to the
   pin that would take a rider off a half-filled report. The tiles' own attribution stays. ES5. */
(function () {
  'use strict';
  var L = window.L, el = document.getElementById('leaflet-setup');
  if (!L || !el) { return; }
  L.Control.Zoom.prototype.options.zoomInTitle = el.getAttribute('data-zoom-in') || 'Zoom in';
  L.Control.Zoom.prototype.options.zoomOutTitle = el.getAttribute('data-zoom-out') || 'Zoom out';
  L.Control.Attribution.prototype.options.prefix = false;
})();
