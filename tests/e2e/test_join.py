"""A rider joins a team through an invite link on a phone: the form, logging in, the welcome page.

Headless Chromium, 390x844 (see conftest). The team and invite are made in the live app's context.
"""

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Team, User, utcnow
from app.teams import services
from app.teams.models import TeamInvite
from tests import factories
from tests.e2e.conftest import log_in_page

pytestmark = pytest.mark.e2e


def invite_for(name: str, requires_approval: bool = False, **changes) -> TeamInvite:
    coord = factories.make_user("coord", role="coordinator")
    team = services.save_team(None, coord, name=name, slogan="路在脚下", requires_approval=requires_approval)
    invite = services.create_invite(team, coord, 7)
    for key, value in changes.items():
        setattr(invite, key, value)
    db.session.commit()
    return invite


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def fill_join_form(page, texts, name: str, phone: str, password: str, confirm: str | None = None) -> None:
    """Name and number, "Send me a code", then the code that came by text message and the password."""
    page.fill("input[name=display_name]", name)
    page.fill("input[name=phone]", phone)
    sent = len(texts)
    page.click("#join-form button[value=send]")
    page.wait_for_load_state()
    if len(texts) == sent:  # refused (a landline): the form says why
        return
    page.fill("input[name=code]", texts[-1][2]["code"])
    page.fill("input[name=password]", password)
    page.fill("input[name=confirm]", confirm or password)
    page.press("input[name=confirm]", "Enter")  # Enter joins (the default button), it sends no new code
    page.wait_for_load_state()


def log_in_after_joining(page, username: str, password: str) -> None:
    """A join answers alike for new and registered numbers: the login page, which tells both what to do."""
    assert "/login/password" in page.url
    assert username in page.inner_text(".flash")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_rider_joins_through_an_invite_link_on_a_phone(live, phone, texts):
    invite = invite_for("犍路先锋")
    token, team_id = invite.token, invite.team_id
    phone.goto(f"/join/{token}")
    assert "犍路先锋" in phone.inner_text("h1")
    assert no_horizontal_scroll(phone)
    assert phone.get_attribute("input[name=phone]", "inputmode") == "tel"
    button = phone.locator("#join-form button[type=submit]").bounding_box()
    assert button["height"] >= 44

    # A landline is refused next to the field; what was typed stays.
    fill_join_form(phone, texts, "新骑手", "010 6552 9988", "long-enough-pw")
    assert phone.locator("#join-form .error").count() == 1
    assert phone.input_value("input[name=display_name]") == "新骑手"

    fill_join_form(phone, texts, "新骑手", "138 0013 8000", "long-enough-pw")
    assert no_horizontal_scroll(phone)
    log_in_after_joining(phone, "13800138000", "long-enough-pw")
    assert phone.url.endswith("/welcome")
    body = phone.inner_text("main")
    assert "138****8000" in body and "+8613800138000" not in body
    assert phone.locator("main a.huge").count() == 1  # no approval needed: straight to reporting
    assert no_horizontal_scroll(phone)

    db.session.expire_all()
    user = db.session.scalar(select(User).where(User.phone == "+8613800138000"))
    assert (user.team_id, user.role, user.approved, user.display_name) == (team_id, "rider", True, "新骑手")
    assert db.session.scalar(select(TeamInvite.uses).where(TeamInvite.token == token)) == 1

    # Next time they log in with the mobile number they joined with.
    phone.context.clear_cookies()
    log_in_page(phone, "13800138000", "long-enough-pw")
    assert "/login" not in phone.url
    # The 400 of the refused form and offline map tiles log "Failed to load resource"; no script errors.
    assert [e for e in phone.errors if not e.startswith("Failed to load resource")] == []


def test_joining_a_team_that_requires_approval_waits_for_a_coordinator(live, phone, texts):
    invite = invite_for("小哥传声筒", requires_approval=True)
    phone.goto(f"/join/{invite.token}")
    fill_join_form(phone, texts, "小李", "13900139000", "long-enough-pw")
    log_in_after_joining(phone, "13900139000", "long-enough-pw")
    assert phone.url.endswith("/welcome")
    assert phone.locator("#awaiting-approval").is_visible()
    assert phone.locator("main a.huge").count() == 0
    db.session.expire_all()
    assert db.session.scalar(select(User.approved).where(User.phone == "+8613900139000")) is False


def test_expired_and_withdrawn_invite_links_explain_themselves(live, phone):
    expired = invite_for("犍路先锋", expires_at=utcnow() - timedelta(minutes=1))
    coord = db.session.scalar(select(User).where(User.username == "coord"))
    withdrawn = services.create_invite(db.session.get(Team, expired.team_id), coord, 7)
    services.revoke_invite(withdrawn, coord)
    db.session.commit()
    for token in (expired.token, withdrawn.token):
        response = phone.goto(f"/join/{token}")
        assert response.status == 410
        assert phone.locator("input[name=phone]").count() == 0
        assert no_horizontal_scroll(phone)
    assert db.session.scalar(select(User).where(User.role == "rider")) is None
