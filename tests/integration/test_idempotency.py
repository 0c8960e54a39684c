"""Exactly once: a report's Idempotency-Key, per user, names one report however often it is sent."""

import threading

from sqlalchemy import func, select

from app.extensions import db
from app.models import Photo, Report
from app.reports.services import submit_report
from app.storage import photo_store
from tests import factories


def _file(user, key, **kw):
    report, created = submit_report(
        user,
        photo_store(),
        category="noise",
        photos=[factories.jpeg()],
        lat=29.22,
        lon=103.95,
        idempotency_key=key,
        **kw,
    )
    db.session.commit()
    return report, created


def _count(model=Report):
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_repeat_with_the_same_key_answers_with_the_first_report(app):
    rider = factories.make_user("rider1")
    first, created = _file(rider, "k-1", description="first")
    again, created_again = _file(rider, "k-1", description="sent again after a timeout")
    assert created and not created_again
    assert again.id == first.id and again.description == "first"
    assert _count() == 1 and _count(Photo) == 1


def test_the_same_key_from_another_user_is_another_report(app):
    a, b = factories.make_user("rider1"), factories.make_user("rider2")
    ra, _ = _file(a, "shared-key")
    rb, created = _file(b, "shared-key")
    assert created and ra.id != rb.id
    assert _count() == 2


def test_no_key_means_every_post_is_a_new_report(app):
    rider = factories.make_user("rider1")
    _file(rider, None)
    _file(rider, None)
    assert _count() == 2


def test_two_concurrent_requests_with_one_key_make_one_report(app):
    rider_id = factories.make_user("rider1").id
    barrier = threading.Barrier(2)
    results, errors = [], []

    def post():
        try:
            with app.app_context():
                from app.models import User

                user = db.session.get(User, rider_id)
                barrier.wait(timeout=10)
                report, created = _file(user, "race-key")
                results.append((report.id, created))
                db.session.remove()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert len(results) == 2
    assert results[0][0] == results[1][0]  # both answers name the same report
    assert sorted(created for _id, created in results) == [False, True]
    db.session.expire_all()
    assert _count() == 1
    assert _count(Photo) == 1  # the loser's files were removed
    store = photo_store()
    photo = db.session.scalar(select(Photo))
    assert store.exists(photo.key)
    assert len(list(store.list())) == 2  # one display image, one thumbnail: no orphan
