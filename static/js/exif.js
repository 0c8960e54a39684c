/* GridSnap: a small EXIF reader for photos picked on the phone (orientation and GPS only).
   Reads the JPEG APP1 "Exif" segment (or a PNG eXIf chunk): TIFF header -> IFD0 -> GPS IFD.
   Plain ES5 so it runs in WeChat's built-in browser. */
(function (root) {
  'use strict';

  var HEAD_BYTES = 256 * 1024; // EXIF sits at the start of the file: never read a whole 4 MB photo

  function ascii(view, start, length) {
    var s = '';
    for (var i = 0; i < length && start + i < view.byteLength; i++) {
      var c = view.getUint8(start + i);
      if (c === 0) { break; }
      s += String.fromCharCode(c);
    }
    return s;
  }

  /* Parse a TIFF block starting at `tiff` in `view`: {orientation, lat, lon}. */
  function parseTiff(view, tiff) {
    var out = { orientation: 1, lat: null, lon: null };
    if (tiff + 8 > view.byteLength) { return out; }
    var order = view.getUint16(tiff);
    var little;
    if (order === 0x4949) { little = true; } else if (order === 0x4D4D) { little = false; } else { return out; }
    if (view.getUint16(tiff + 2, little) !== 42) { return out; }

    function u16(off) { return view.getUint16(off, little); }
    function u32(off) { return view.getUint32(off, little); }
    function inside(off, len) { return off >= 0 && off + len <= view.byteLength; }

    function entries(ifdOffset) {
      var start = tiff + ifdOffset, list = {};
      if (!inside(start, 2)) { return list; }
      var count = u16(start);
      for (var i = 0; i < count; i++) {
        var e = start + 2 + i * 12;
        if (!inside(e, 12)) { break; }
        list[u16(e)] = { type: u16(e + 2), count: u32(e + 4), at: e + 8 };
      }
      return list;
    }

    function rationals(entry) {
      // RATIONAL (5) or SRATIONAL (10): always 8 bytes each, so stored at an offset
      if (!entry || (entry.type !== 5 && entry.type !== 10) || entry.count < 1) { return null; }
      var off = tiff + u32(entry.at), values = [];
      for (var i = 0; i < Math.min(entry.count, 3); i++) {
        if (!inside(off + i * 8, 8)) { return null; }
        var num = entry.type === 10 ? view.getInt32(off + i * 8, little) : u32(off + i * 8);
        var den = entry.type === 10 ? view.getInt32(off + i * 8 + 4, little) : u32(off + i * 8 + 4);
        values.push(den === 0 ? NaN : num / den);
      }
      return values;
    }

    function ref(entry) {
      if (!entry || entry.count < 1) { return ''; }
      // ASCII of up to 4 bytes sits in the entry itself
      var at = entry.count <= 4 ? entry.at : tiff + u32(entry.at);
      return ascii(view, at, entry.count).toUpperCase();
    }

    function degrees(values) {
      if (!values || !values.length) { return NaN; }
      var d = values[0], m = values.length > 1 ? values[1] : 0, s = values.length > 2 ? values[2] : 0;
      return d + m / 60 + s / 3600;
    }

    var ifd0 = entries(u32(tiff + 4));
    if (ifd0[0x0112]) {
      var o = u16(ifd0[0x0112].at);
      if (o >= 1 && o <= 8) { out.orientation = o; }
    }
    if (ifd0[0x8825]) {
      var gps = entries(u32(ifd0[0x8825].at));
      var lat = degrees(rationals(gps[2])), lon = degrees(rationals(gps[4]));
      if (ref(gps[1]) === 'S') { lat = -lat; }
      if (ref(gps[3]) === 'W') { lon = -lon; }
      // NaN, out of range and the 0,0 that cameras write without a fix all mean "no location"
      if (isFinite(lat) && isFinite(lon) && Math.abs(lat) <= 90 && Math.abs(lon) <= 180 &&
          !(lat === 0 && lon === 0)) {
        out.lat = lat;
        out.lon = lon;
      }
    }
    return out;
  }

  /* Find the TIFF block of a JPEG's APP1 Exif segment or a PNG's eXIf chunk; -1 when there is none. */
  function findTiff(view) {
    if (view.byteLength < 12) { return -1; }
    if (view.getUint16(0) === 0xFFD8) {
      var off = 2;
      while (off + 4 <= view.byteLength) {
        if (view.getUint8(off) !== 0xFF) { return -1; }
        var marker = view.getUint8(off + 1);
        if (marker === 0xFF) { off += 1; continue; } // fill byte
        if (marker === 0xDA || marker === 0xD9) { return -1; } // image data: no EXIF before it
        var size = view.getUint16(off + 2);
        if (marker === 0xE1 && ascii(view, off + 4, 4) === 'Exif' && view.getUint16(off + 8) === 0) {
          return off + 10;
        }
        off += 2 + size;
      }
      return -1;
    }
    if (view.getUint32(0) === 0x89504E47) { // PNG
      var p = 8;
      while (p + 12 <= view.byteLength) {
        var len = view.getUint32(p), type = ascii(view, p + 4, 4);
        if (type === 'eXIf') { return p + 8; }
        if (type === 'IDAT' || type === 'IEND') { return -1; }
        p += 12 + len;
      }
    }
    return -1;
  }

  /* Parse an ArrayBuffer holding the start of an image file. */
  function parse(buffer) {
    var view = new DataView(buffer);
    try {
      var tiff = findTiff(view);
      return tiff < 0 ? { orientation: 1, lat: null, lon: null } : parseTiff(view, tiff);
    } catch (e) { // a truncated or odd file: no EXIF rather than an error
      return { orientation: 1, lat: null, lon: null };
    }
  }

  /* Read orientation and GPS from a File or Blob; calls back with {orientation, lat, lon}. */
  function read(file, callback) {
    if (!window.FileReader || !window.DataView) { callback(parse(new ArrayBuffer(0))); return; }
    var reader = new FileReader();
    reader.onload = function () { callback(parse(reader.result)); };
    reader.onerror = function () { callback({ orientation: 1, lat: null, lon: null }); };
    reader.readAsArrayBuffer(file.slice(0, HEAD_BYTES));
  }

  root.GridSnapExif = { read: read, parse: parse };
})(window);
