"""The outside audit's check, kept: axe-core (tests/vendor/axe-core, WCAG 2.0 and 2.1, levels A and AA) finds no
violation on any page a rider opens, in Chinese and in English, on a phone, nor on the staff pages on a desktop.

The pages are those of the page sweep (tests/e2e/demo_pages.py, over the demo data), with the states the sweep
does not reach:
- the header's menu open; a team's page as a plain member, and another team's;
- signing in and joining a team gone wrong (a wrong number, a wrong code, a wrong password, passwords that
  differ), and the code sent;
- the report form with a photo in, a category chosen, the place search's list open, a place typed wrong, the
  "Fixed? Take a look" and "Already reported?" cards, the errors of an empty send, the confirmation after sending;
- a report page asking "Is it fixed?", its details unfolded; the notifications; the error page (404);
- a receipt's public check, valid and not valid.
"""

from pathlib import Path

import pytest
from sqlalchemy import select

from app.demo import PASSWORD
from app.extensions import db
from app.models import User, utcnow
from app.notify.delivery import deliver_due
from tests import factories
from tests.e2e.conftest import QIANWEI, SAMSUNG, log_in_page, offline_tiles, phone_context
from tests.e2e.demo_pages import build_site, pages, visit

pytestmark = pytest.mark.e2e

AXE = Path(__file__).resolve().parents[1] / "vendor" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
LOCALES = ["zh-CN", "en"]
SHOWN = 5  # elements shown per violation

# axe's violations, reduced to what a reader of the failure needs.
RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary}))
  }));
}"""


def axe_problems(page, where: str) -> list[str]:
    """Run axe on the page as it is now; one line per violation and one per element it names."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    lines = []
    for v in page.evaluate(RUN_AXE, TAGS):
        lines.append(f"{where}: {v['id']} ({v['impact']}): {v['help']}")
        lines += [f"    {n['target']}: {' '.join(n['summary'].split())}" for n in v["nodes"][:SHOWN]]
        if len(v["nodes"]) > SHOWN:
            lines.append(f"    ... and {len(v['nodes']) - SHOWN} more")
    return lines


@pytest.fixture(scope="module")
def site(live_app, live_server):
    """The demo, with a report of rider_zhang resolved just now (its page asks "Is it fixed?"), another rider's
    resolved at the phone's position (the report form offers to take a look), and the notifications delivered."""
    s = build_site(live_app, live_server.url)
    with live_app.app_context():
        users = {u.username: u for u in db.session.scalars(select(User))}
        now = utcnow()
        moves = [("accepted", now), ("assigned", now), ("resolved", now)]
        mine = factories.file_report(users["rider_zhang"], lat=QIANWEI["latitude"] + 0.01, lon=QIANWEI["longitude"])
        factories.history(mine, moves, actor=users["coord_wang"])
        near = factories.file_report(users["rider_sun"], lat=QIANWEI["latitude"], lon=QIANWEI["longitude"])
        factories.history(near, moves, actor=users["coord_wang"])
        # an open report of the same kind there: "Already reported?"
        factories.file_report(users["rider_liu"], lat=QIANWEI["latitude"], lon=QIANWEI["longitude"])
        deliver_due()
        db.session.commit()
        s.resolved = mine.id
        s.other_team = users["rider_zhao"].team_id
        db.session.remove()
    return s


def rider_page(browser, site, locale, user=None):
    """A phone page (the CSP bypassed only so that axe can be injected), logged in as `user` when given."""
    page = phone_context(browser, site.url, locale=locale, bypass_csp=True).new_page()
    offline_tiles(page)
    if user:
        log_in_page(page, user, PASSWORD)
    return page


def open_menu(page):
    """The header's menu, unfolded (phones)."""
    page.click(".menu-toggle")
    page.wait_for_selector(".menu-toggle[aria-expanded=true]")
    return "with the menu open"


def open_confirm_details(page):
    """The "Is it fixed?" card, with its photo and note fields unfolded."""
    assert page.locator("#confirm").is_visible(), "the report page asks “Is it fixed?”"
    page.click("#confirm summary")
    page.wait_for_selector("#confirm textarea[name=note]")
    return "with “Is it fixed?” unfolded"


@pytest.mark.parametrize("locale", LOCALES)
def test_the_rider_pages_have_no_axe_violations(browser, site, locale):
    riders = [(user, paths) for user, paths, rider_page_ in pages(site) if rider_page_]
    missing = "/reports/999999"  # the error page
    riders[1][1].extend([f"/reports/{site.resolved}", "/notifications", "/notifications/settings", missing])
    # the team pages as a member who leads none, and another team's
    riders.append(("rider_chen", [f"/teams/{site.rider_team}", f"/teams/{site.other_team}"]))
    # states of a page checked after it as it loaded: path -> an action that returns what it did
    states = {"/mine": open_menu, f"/reports/{site.resolved}": open_confirm_details}
    problems, receipt_link = [], None
    for user, paths in riders:
        page = rider_page(browser, site, locale, user)
        for path in paths:
            response = visit(page, path)
            assert response.status == (404 if path == missing else 200), f"{path}: HTTP {response.status}"
            if path == "/notifications":
                assert page.locator(".notification").count(), "the rider has notifications"
            if path.endswith("/receipt"):
                receipt_link = page.get_attribute("#receipt-link", "href")
            where = f"{user or 'anonymous'} {path}"
            problems += axe_problems(page, f"{where} ({locale})")
            if path in states:
                problems += axe_problems(page, f"{where} {states[path](page)} ({locale})")
        page.context.close()

    page = rider_page(browser, site, locale)  # anyone: the receipt's check
    page.goto(receipt_link)
    assert page.get_attribute("#receipt-state", "data-state") == "valid"
    problems += axe_problems(page, f"anonymous /verify/<token> ({locale})")
    assert page.goto(receipt_link[:-6] + "AAAAAA").status == 400
    problems += axe_problems(page, f"anonymous /verify/<tampered> ({locale})")
    page.context.close()
    assert problems == [], "\n" + "\n".join(problems)


@pytest.mark.parametrize("locale", LOCALES)
def test_signing_in_has_no_axe_violations_when_it_goes_wrong_either(browser, site, texts, locale):
    """The SMS form: a wrong number, the code sent, a wrong code; the password form: a wrong password; joining a
    team by invite: the code sent, then a wrong code and passwords that differ."""
    page = rider_page(browser, site, locale)
    problems = []

    def check(state):
        page.wait_for_load_state()
        problems.extend(axe_problems(page, f"anonymous {state} ({locale})"))

    page.goto("/login")
    page.fill("input[name=phone]", "12345")
    page.click("button[value=send]")
    page.wait_for_selector("input[name=phone][aria-invalid=true]")
    check("/login with a wrong number")
    number = {"zh-CN": "138 0013 8001", "en": "138 0013 8002"}[locale]  # one code a minute per number
    page.fill("input[name=phone]", number)
    page.click("button[value=send]")
    page.wait_for_selector("#code-sent")
    check("/login with the code sent")
    wrong = f"{(int(texts[-1][2]['code']) + 1) % 1_000_000:06d}"
    page.fill("input[name=code]", wrong)
    page.click("button[value=verify]")
    page.wait_for_selector("input[name=code][aria-invalid=true]")
    check("/login with a wrong code")
    page.goto("/login/password")
    page.fill("input[name=username]", "rider_zhang")
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")
    page.wait_for_selector("[role=alert]")
    check("/login/password with a wrong password")
    page.goto(site.join)
    page.fill("input[name=display_name]", "新骑手")
    page.fill("input[name=phone]", {"zh-CN": "139 0000 2001", "en": "139 0000 2002"}[locale])
    page.click("#join-form button[value=send]")
    page.wait_for_selector("#code-sent")
    check("/join/<token> with the code sent")
    page.fill("input[name=code]", f"{(int(texts[-1][2]['code']) + 1) % 1_000_000:06d}")
    page.fill("input[name=password]", "a-long-password-2")
    page.fill("input[name=confirm]", "a-different-password")
    page.click("#join-form button[value=join]")
    page.wait_for_selector("#join-form [aria-invalid=true]")
    check("/join/<token> with a wrong code and passwords that differ")
    page.context.close()
    assert problems == [], "\n" + "\n".join(problems)


@pytest.mark.parametrize("locale", LOCALES)
def test_the_report_form_in_every_state_has_no_axe_violations(browser, site, locale):
    page = rider_page(browser, site, locale, "rider_chen")  # chen: near another rider's report just resolved
    problems = []

    def check(state):
        problems.extend(axe_problems(page, f"/report {state} ({locale})"))

    page.goto("/report")
    page.click("#submit")  # nothing chosen: the errors are shown
    page.wait_for_selector("#photo-error:not([hidden])")
    check("after an empty send")
    page.set_input_files("#photo-input", SAMSUNG)
    page.wait_for_selector("#previews li img")
    page.wait_for_selector("#looks:not([hidden]) #looks-list li")  # the location came: "Fixed? Take a look"
    check("with a photo and the fixed-nearby card")
    page.click("label.tile:has(input[value=illegal_parking])")
    page.wait_for_selector("#nearby:not([hidden]) #nearby-list li")
    check("with a category chosen and the already-reported card")
    page.fill("#place-q", "rmyy")
    page.wait_for_selector("#place-q-results li[role=option]")
    page.press("#place-q", "ArrowDown")
    check("with the place search's list open")
    page.press("#place-q", "Escape")
    page.fill("#place-text", "the bridge")
    page.click("#place-use")
    assert page.get_attribute("#place-text", "aria-invalid") == "true"
    check("with a place typed wrong")
    page.fill("#place-text", f"{QIANWEI['latitude']}, {QIANWEI['longitude']}")
    page.click("#place-use")
    page.click("#submit")
    page.wait_for_selector("#conf-reference-line:not([hidden])")
    check("after sending")
    page.context.close()
    assert problems == [], "\n" + "\n".join(problems)


@pytest.mark.parametrize("locale", LOCALES)
def test_the_staff_pages_on_a_desktop_have_no_axe_violations(browser, site, locale):
    """The coordinators' and handlers' pages of the sweep (board, its map, report pages, teams, summaries, trends,
    tasks) at a desktop's width, where the side panel and the wide tables are."""
    problems = []
    for user, paths, rider in pages(site):
        if rider:
            continue
        context = browser.new_context(
            viewport={"width": 1366, "height": 800}, base_url=site.url, locale=locale, bypass_csp=True
        )
        page = context.new_page()
        offline_tiles(page)
        log_in_page(page, user, PASSWORD)
        for path in paths:
            visit(page, path)
            problems += axe_problems(page, f"{user} {path} ({locale}, 1366 px)")
        context.close()
    assert problems == [], "\n" + "\n".join(problems)
