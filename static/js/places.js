/* GridSnap: the place search box. Type a few characters of a landmark's name, or pinyin initials anywhere in
   it ("rmyy" finds 犍为县人民医院), pick one, and the page moves its pin or its map there.
   GridSnapPlaces.attach(input, onPick(item), near() -> {lat, lon} | null). Plain ES5 for WeChat's browser. */
(function (root) {
  'use strict';

  function attach(input, onPick, near) {
    var list = document.createElement('ul'), timer = null, asked = 0, items = [], active = -1;
    list.className = 'place-results';
    list.id = input.id + '-results';
    list.setAttribute('role', 'listbox');
    list.hidden = true;
    input.parentNode.insertBefore(list, input.nextSibling);
    input.setAttribute('role', 'combobox');
    input.setAttribute('aria-autocomplete', 'list');
    input.setAttribute('aria-controls', list.id);
    input.setAttribute('aria-expanded', 'false');
    input.setAttribute('autocomplete', 'off');

    function show(found) {
      items = found;
      active = -1;
      input.removeAttribute('aria-activedescendant');  // the option it named is gone
      list.innerHTML = '';
      for (var i = 0; i < found.length; i++) {
        var li = document.createElement('li'), it = found[i];
        li.id = list.id + '-' + i;
        li.setAttribute('role', 'option');
        li.setAttribute('data-index', String(i));
        li.textContent = it.name + (it.grid ? ' · ' + it.grid : '') +
          (typeof it.distance_m === 'number' ? ' · ' + (it.distance_m >= 1000 ? (it.distance_m / 1000).toFixed(1) + ' km' : it.distance_m + ' m') : '');
        list.appendChild(li);
      }
      list.hidden = !found.length;
      input.setAttribute('aria-expanded', found.length ? 'true' : 'false');
    }

    function ask() {
      var q = input.value.replace(/^\s+|\s+$/g, '');
      if (!q) { show([]); return; }
      var at = near && near(), id = ++asked, xhr = new XMLHttpRequest();
      var url = input.getAttribute('data-places') + '?limit=8&q=' + encodeURIComponent(q) +
        (at ? '&lat=' + at.lat.toFixed(6) + '&lon=' + at.lon.toFixed(6) : '');
      xhr.open('GET', url, true);
      xhr.setRequestHeader('Accept', 'application/json');
      xhr.onload = function () {
        if (id !== asked) { return; }
        show(xhr.status === 200 ? (JSON.parse(xhr.responseText).items || []) : []);
      };
      xhr.send();
    }

    function pick(i) {
      var it = items[i];
      if (!it) { return; }
      input.value = it.name;
      show([]);
      onPick(it);
    }

    function highlight(i) {
      var options = list.querySelectorAll('li');
      if (!options.length) { return; }
      active = (i + options.length) % options.length;
      for (var k = 0; k < options.length; k++) { options[k].setAttribute('aria-selected', k === active ? 'true' : 'false'); }
      input.setAttribute('aria-activedescendant', options[active].id);
    }

    input.addEventListener('input', function () {
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(ask, 250);
    });
    input.addEventListener('keydown', function (e) {
      var key = e.key || e.keyCode;
      if (list.hidden) { return; }
      if (key === 'ArrowDown' || key === 40) { highlight(active + 1); e.preventDefault(); }
      else if (key === 'ArrowUp' || key === 38) { highlight(active - 1); e.preventDefault(); }
      else if (key === 'Enter' || key === 13) { pick(active < 0 ? 0 : active); e.preventDefault(); }
      else if (key === 'Escape' || key === 27) { show([]); }
    });
    list.addEventListener('click', function (e) {
      var li = e.target;
      while (li && li !== list && !li.getAttribute('data-index')) { li = li.parentNode; }
      if (li && li !== list) { pick(parseInt(li.getAttribute('data-index'), 10)); }
    });
  }

  root.GridSnapPlaces = { attach: attach };
})(this);
