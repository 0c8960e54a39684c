"""Every page a rider can open, and the coordinators' and handlers' main pages, on a 360 px phone in
Chinese and English: no sideways scrolling, no console errors, one visible <h1>, <html lang> matching
the language, and on the riders' pages every link, button and form control at least 44 x 44 px.

The pages are a fixed list over the demo data (app.demo.load_demo), loaded once for the module.
"""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.demo import PASSWORD, load_demo
from app.extensions import db
from app.models import Report, Team, User
from app.summaries.weeks import week_of
from app.teams import services as teams
from tests.conftest import _clean
from tests.e2e.conftest import ConsoleErrors, log_in_page, offline_tiles, phone_context

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


class Site:
    """The demo data's ids that the page list needs."""


@pytest.fixture(scope="module")
def site(live_app, live_server):
    with live_app.app_context():
        _clean(live_app)
        load_demo(18)
        s = Site()
        s.url = live_server.url
        users = {u.username: u for u in db.session.scalars(select(User))}
        mine = list(
            db.session.scalars(select(Report).where(Report.user_id == users["rider_zhang"].id).order_by(Report.id))
        )
        s.rider_reports = [r.id for r in mine]
        s.rider_team = users["rider_zhang"].team_id
        # A report dispatched by grid (属地) to its grid worker, a handler: their task list and its page.
        dispatched = db.session.scalars(
            select(Report)
            .where(Report.status.in_(("assigned", "in_progress")), Report.assignee_id.is_not(None))
            .order_by(Report.id)
        ).first()
        s.dispatched, s.handler = dispatched.id, dispatched.assignee.username
        s.open_report = db.session.scalar(select(Report.id).where(Report.status == "submitted").order_by(Report.id))
        team = db.session.get(Team, s.rider_team)
        invite = teams.create_invite(team, users["coord_wang"], 7)
        db.session.commit()
        # a member who joined with a phone number (shown masked to staff) and a team leader
        teams.join_team(invite.token, display_name="新来的骑手", phone="13900001234", password="a-long-password-1")
        teams.set_leader(team, users["rider_zhang"], users["coord_wang"], True)
        db.session.commit()
        s.invite, s.join = invite.id, f"/join/{invite.token}"
        s.week = week_of(datetime.now(UTC), ZoneInfo(live_app.config["TIMEZONE"])).name
        s.rider_id = users["rider_zhang"].id
        db.session.remove()
    return s


def pages(s):
    """(user or None, paths, rider page?) for every role."""
    return [
        (None, ["/login", "/login/password", s.join], True),
        (
            "rider_zhang",
            [
                "/report",
                "/mine",
                *[f"/reports/{i}" for i in s.rider_reports],
                f"/reports/{s.rider_reports[0]}/filed",
                f"/reports/{s.rider_reports[0]}/receipt",
                "/me/points",
                "/leaderboard",
                "/leaderboard?period=month",
                "/teams",
                f"/teams/{s.rider_team}",
                "/welcome",
                "/profile",
            ],
            True,
        ),
        (
            "coord_wang",
            [
                "/board",
                "/board?status=closed",
                "/board?view=map",
                f"/board/reports/{s.open_report}",
                f"/board/reports/{s.rider_reports[-1]}",
                "/teams",
                f"/teams/{s.rider_team}",
                f"/teams/invites/{s.invite}",
                f"/riders/{s.rider_id}",
                "/summaries/",
                f"/summaries/{s.week}",
                "/summaries/trends",
                "/profile",
            ],
            False,
        ),
        (s.handler, ["/tasks", f"/board/reports/{s.dispatched}"], False),
    ]


def settles_late(path: str) -> bool:
    """Pages that fetch more after "load": the maps (tiles, the board's points) and the report form."""
    return path == "/report" or "view=map" in path or path.startswith(("/board/reports/", "/summaries/2"))


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
            response = page.goto(path)
            if settles_late(path):
                page.wait_for_load_state("networkidle")
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
            page.goto(path)
            if settles_late(path):
                page.wait_for_load_state("networkidle")
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
