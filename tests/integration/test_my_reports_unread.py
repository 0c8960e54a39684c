"""The rider's My reports shows what changed since the last look, once."""

from app.extensions import db
from app.models import User
from app.reports import seen
from app.triage import services as triage
from tests import factories


def test_new_status_changes_show_an_unread_badge_once(client, app):
    rider = factories.make_user("rider1")
    coord = factories.make_user("coord1", "coordinator")
    report = factories.file_report(rider)
    factories.log_in(client, "rider1")
    page = client.get("/mine").get_data(as_text=True)
    assert "badge-unread" not in page  # filing it yourself is not news

    triage.transition(report, coord, "accepted", version=report.version, reply="收到，马上处理")
    db.session.commit()
    page = client.get("/mine").get_data(as_text=True)
    assert 'class="badge-unread"' in page
    assert "收到，马上处理" in page  # the timeline shows the reply to the rider
    page = client.get("/mine").get_data(as_text=True)
    assert "badge-unread" not in page  # seen now


def test_opening_the_report_clears_its_badge_and_internal_notes_never_count(client, app):
    rider = factories.make_user("rider1")
    coord = factories.make_user("coord1", "coordinator")
    report = factories.file_report(rider)
    triage.add_comment(report, coord, "internal: check with 交警 first", internal=True)
    db.session.commit()
    assert seen.unread_counts(db.session.get(User, rider.id), [report.id]) == {report.id: 0}
    triage.transition(report, coord, "accepted", version=report.version)
    db.session.commit()
    factories.log_in(client, "rider1")
    assert client.get(f"/reports/{report.id}").status_code == 200
    assert "badge-unread" not in client.get("/mine").get_data(as_text=True)
