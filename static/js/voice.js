/* A voice note on the report form: hold the button to record (MediaRecorder), let go to stop; at most 60 s
   and about 100 KB per 30 s. report.js takes the note with the report (window.GridSnapVoice.note()) and the
   outbox sends it with the photos. Plain ES5 for WeChat's browser. */
(function () {
  'use strict';
  var box = document.getElementById('voice');
  if (!box) { return; }
  var button = document.getElementById('voice-record');
  var status = document.getElementById('voice-status');
  var player = document.getElementById('voice-player');
  var remove = document.getElementById('voice-remove');
  var T = JSON.parse(document.getElementById('voice-i18n').textContent);
  var MAX_MS = 60000, BITS = 24000, MAX_BYTES = 200 * 1024, PER_30S = 100 * 1024, SLACK = 8 * 1024;
  var EXT = { 'audio/webm': '.webm', 'audio/ogg': '.ogg', 'audio/mp4': '.m4a' };
  var recorder = null, chunks = [], started = 0, timer = null, holding = false, note = null, url = null;

  window.GridSnapVoice = {
    note: function () { return note; },
    clear: clear
  };

  if (!window.MediaRecorder || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    button.disabled = true;
    status.textContent = T.unsupported;
    return;
  }

  function fmt(s, n) { return s.replace('%(n)s', String(n)); }

  function pickType() {
    var types = ['audio/webm;codecs=opus', 'audio/ogg;codecs=opus', 'audio/mp4;codecs=mp4a.40.2', 'audio/mp4'];
    for (var i = 0; i < types.length; i++) {
      if (MediaRecorder.isTypeSupported && MediaRecorder.isTypeSupported(types[i])) { return types[i]; }
    }
    return '';
  }

  function start() {
    holding = true;
    if (recorder) { return; }
    navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
      if (!holding) {  // let go while the browser asked for the microphone
        stopTracks(stream);
        status.textContent = T.hold;
        return;
      }
      var type = pickType(), options = { audioBitsPerSecond: BITS };
      if (type) { options.mimeType = type; }
      try { recorder = new MediaRecorder(stream, options); } catch (e) { recorder = new MediaRecorder(stream); }
      chunks = [];
      recorder.ondataavailable = function (ev) { if (ev.data && ev.data.size) { chunks.push(ev.data); } };
      recorder.onstop = function () { stopTracks(stream); finish(recorder); };
      recorder.start(1000);
      started = Date.now();
      button.setAttribute('aria-pressed', 'true');
      box.className += ' recording';
      tick();
      timer = setInterval(tick, 250);
    })['catch'](function () {
      holding = false;
      status.textContent = T.denied;
    });
  }

  function tick() {
    var ms = Date.now() - started;
    status.textContent = fmt(T.recording, Math.floor(ms / 1000));
    if (ms >= MAX_MS) { stop(); }
  }

  function stop() {
    holding = false;
    if (recorder && recorder.state !== 'inactive') { recorder.stop(); }
    clearInterval(timer);
  }

  function stopTracks(stream) {
    var tracks = stream.getTracks();
    for (var i = 0; i < tracks.length; i++) { tracks[i].stop(); }
  }

  function finish(rec) {
    var seconds = Math.min((Date.now() - started) / 1000, MAX_MS / 1000);
    var type = (rec.mimeType || pickType() || 'audio/webm').split(';')[0];
    var blob = new Blob(chunks, { type: type });
    recorder = null;
    button.setAttribute('aria-pressed', 'false');
    box.className = box.className.replace(/ recording/g, '');
    if (seconds < 0.5 || !blob.size) { status.textContent = T.hold; return; }
    if (blob.size > MAX_BYTES || blob.size > Math.ceil(seconds / 30 * PER_30S) + SLACK) {
      status.textContent = T.too_large;
      return;
    }
    clear();
    note = { blob: blob, name: 'voice' + (EXT[type] || '.webm'), seconds: seconds.toFixed(1) };
    url = URL.createObjectURL(blob);
    player.src = url;
    player.hidden = false;
    remove.hidden = false;
    status.textContent = fmt(T.recorded, Math.round(seconds));
  }

  function clear() {
    note = null;
    if (url) { URL.revokeObjectURL(url); url = null; }
    player.removeAttribute('src');
    player.hidden = true;
    remove.hidden = true;
  }

  // Hold to record: pointer (finger, mouse), or Space / Enter held down on the focused button.
  button.addEventListener('pointerdown', function (e) {
    e.preventDefault();
    if (button.setPointerCapture && e.pointerId !== undefined) {
      try { button.setPointerCapture(e.pointerId); } catch (err) { /* not capturable: pointerup still ends it */ }
    }
    start();
  });
  button.addEventListener('pointerup', stop);
  button.addEventListener('pointercancel', stop);
  button.addEventListener('contextmenu', function (e) { e.preventDefault(); });  // a long press is no menu
  button.addEventListener('keydown', function (e) {
    if ((e.key === ' ' || e.key === 'Enter') && !e.repeat) { e.preventDefault(); start(); }
  });
  button.addEventListener('keyup', function (e) {
    if (e.key === ' ' || e.key === 'Enter') { e.preventDefault(); stop(); }
  });
  remove.addEventListener('click', function () { clear(); status.textContent = T.removed; button.focus(); });
})();
