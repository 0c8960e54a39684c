"""Every page a rider can open, and the coordinators' and handlers' main pages, on a 360 px phone in
Chinese and English: no sideways scrolling, no console errors, one visible <h1>, <html lang> matching
the language, and on the riders' pages every link, button and form control at least 44 x 44 px.

The pages are a fixed list over the demo data (tests/e2e/demo_pages.py), loaded once for the module.
"""

import pytest

from app.demo import PASSWORD
from tests.e2e.conftest import ConsoleErrors, log_in_page, offline_tiles, phone_context
from tests.e2e.demo_pages import build_site, pages, visit

pytestmark = pytest.mark.e2e

WIDTH = 360
LANGS = {"zh-CN": "zh-CN", "en": "en"}  # browser locale -> expected <html lang>


# What a page must not do at WIDTH px; returns a list of problems (empty when the page is fine).
# The body hides sideways overflow (overflow-x: hidden), so boxes past the right edge are looked for too,
# except inside boxes that scroll or clip on purpose (wide tables in .table-scroll, the map).
CHECK_PAGE = """([width, riderPage]) => {
  var problems = [];
  function shown(el) {
    return el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true}) &&
      el.getBoundingClientRect().width > 1;
  }
  function name(el) {
    return el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' "' +
      (el.innerText || el.value || el.getAttribute('aria-label') || el.name || '').trim().slice(0, 30) + '"';
  }
  function scrolls(el) {
    for (var p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (/auto|scroll|hidden|clip/.test(getComputedStyle(p).overflowX)) { return true; }
    }
    return false;
  }
  var doc = document.documentElement;
  if (window.innerWidth !== width || doc.scrollWidth > width) {
    problems.push('page is ' + Math.max(window.innerWidth, doc.scrollWidth) + ' px wide');
  }
  document.querySelectorAll('body *').forEach(function (el) {
    var r = el.getBoundingClientRect();
    if (r.width && (r.right > width + 1 || r.left < -1) && shown(el) && !scrolls(el)) {
      problems.push('past the edge: ' + name(el) + ' ' + Math.round(r.left) + '..' + Math.round(r.right));
    }
  });
  var h1 = Array.prototype.filter.call(document.querySelectorAll('h1'), function (el) {
    return el.checkVisibility({checkVisibilityCSS: true});  // a visually hidden h1 counts
  }).length;
  if (h1 !== 1) { problems.push(h1 + ' visible h1'); }
  if (riderPage) {
    document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary')
      .forEach(function (el) {
        if (!shown(el)) { return; }
        // a checkbox or radio is tapped through its label
        var target = (el.type === 'checkbox' || el.type === 'radio') && el.closest('label') || el;
        var box = target.getBoundingClientRect();
        if (box.width < 43.5 || box.height < 43.5) {
          problems.push('small target: ' + name(el) + ' ' + Math.round(box.width) + 'x' + Math.round(box.height));
        }
      });
  }
  return problems;
}"""


@pytest.fixture(scope="module")
def site(live_app, live_server):
    return build_site(live_app, live_server.url)


@pytest.mark.parametrize("locale", list(LANGS))
def test_every_rider_page_and_the_staff_pages_fit_a_360px_phone(browser, site, locale):
    problems = []
    for user, paths, rider_page in pages(site):
        context = phone_context(browser, site.url, locale=locale, viewport={"width": WIDTH, "height": 740})
        page = context.new_page()
        offline_tiles(page)
        errors = ConsoleErrors().watch(page)
        if user:
            log_in_page(page, user, PASSWORD)
        for path in paths:
            del errors[:]
            response = visit(page, path)
            where = f"{user or 'anonymous'} {path} ({locale})"
            if response.status != 200:
                problems.append(f"{where}: HTTP {response.status}")
                continue
            lang = page.evaluate("document.documentElement.lang")
            if lang != LANGS[locale]:
                problems.append(f"{where}: <html lang={lang}>")
            problems += [f"{where}: {p}" for p in page.evaluate(CHECK_PAGE, [WIDTH, rider_page])]
            problems += [f"{where}: console: {e}" for e in errors]
        context.close()
    assert problems == [], "\n".join(problems)


def test_at_320px_in_english_nothing_is_cut_off_and_the_header_is_one_row(browser, site):
    """The narrowest phones with the longer English words: the rider pages, the leaderboard and the summary's
    "most active" tables fit, and the header stays one row."""
    problems = []
    for user, paths, _rider_page in pages(site):
        if user == "handler_jj":
            continue
        context = phone_context(browser, site.url, locale="en", viewport={"width": 320, "height": 640})
        page = context.new_page()
        offline_tiles(page)
        if user:
            log_in_page(page, user, PASSWORD)
        for path in paths:
            visit(page, path)
            where = f"{user or 'anonymous'} {path} (en, 320 px)"
            problems += [f"{where}: {p}" for p in page.evaluate(CHECK_PAGE, [320, False]) if "h1" not in p]
            rows = page.evaluate(
                """() => {
                  const links = [...document.querySelectorAll('.topbar a')].filter(a => a.offsetParent);
                  return new Set(links.map(a => Math.round(a.getBoundingClientRect().top))).size;
                }"""
            )
            if rows > 1:
                problems.append(f"{where}: the header takes {rows} rows")
        context.close()
    assert problems == [], "\n".join(problems)
