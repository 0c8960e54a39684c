"""The triage board: filters, sorting, pagination and counts (page and API), bulk actions, tasks."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Department, Report, utcnow
from app.triage import services
from app.triage.board import deadline_state
from tests import factories as f

NOW = utcnow()


def dept(code):
    return db.session.scalar(select(Department.id).where(Department.code == code))


@pytest.fixture
def board(app):
    """Seven reports in different states, a coordinator and a handler; returns a namespace."""

    class B:
        pass

    b = B()
    b.rider, b.rider_h = f.make_user("rider", token=True)
    b.other_rider, b.other_h = f.make_user("rider2", token=True)
    b.coord, b.coord_h = f.make_user("coord", "coordinator", display_name="Coordinator Li", token=True)
    b.handler, b.handler_h = f.make_user(
        "handler", "handler", department="public_works", display_name="Handler Wang", token=True
    )
    db.session.commit()
    b.new = f.report_row(
        b.rider, "illegal_parking", at=NOW - timedelta(hours=1), description="blue car on the pavement"
    )
    b.old = f.report_row(b.rider, "garbage", at=NOW - timedelta(days=3), status="accepted", priority="high")
    b.assigned = f.report_row(
        b.other_rider,
        "road_damage",
        at=NOW - timedelta(days=2),
        status="assigned",
        priority="urgent",
        assignee_id=b.handler.id,
        department_id=dept("public_works"),
        resolve_due_at=NOW - timedelta(hours=1),
    )
    b.in_progress = f.report_row(
        b.rider,
        "noise",
        at=NOW - timedelta(days=5),
        status="in_progress",
        priority="low",
        department_id=dept("environment"),
    )
    b.resolved = f.report_row(b.rider, "illegal_parking", at=NOW - timedelta(days=4), status="resolved")
    b.closed = f.report_row(b.rider, "garbage", at=NOW - timedelta(days=10), status="closed", outcome="fixed")
    b.rejected = f.report_row(b.rider, "other", at=NOW - timedelta(days=6), status="rejected")
    for r in (b.new, b.old, b.assigned, b.in_progress, b.resolved, b.closed, b.rejected):
        r.reference = f"GS-T-{r.id:04d}"
    db.session.commit()
    return b


def listing(client, board, query=""):
    resp = client.get("/api/v1/reports" + query, headers=board.coord_h)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def ids(body):
    return [i["id"] for i in body["items"]]


def test_default_is_open_reports_newest_first_with_counts_per_status(client, board):
    body = listing(client, board)
    assert ids(body) == [board.new.id, board.assigned.id, board.old.id, board.resolved.id, board.in_progress.id]
    assert body["total"] == 5
    c = body["counts"]
    assert (c["submitted"], c["accepted"], c["assigned"], c["in_progress"], c["resolved"]) == (1, 1, 1, 1, 1)
    assert (c["closed"], c["rejected"], c["duplicate"], c["open"]) == (1, 1, 0, 5)


def test_status_may_repeat(client, board):
    body = listing(client, board, "?status=closed&status=rejected")
    assert ids(body) == [board.rejected.id, board.closed.id]
    assert body["total"] == 2


FILTERS = [
    ("?category=garbage", ["old"]),
    ("?department=public_works", ["assigned"]),
    ("?department=environment", ["in_progress"]),
    ("?assignee=none", ["new", "old", "resolved", "in_progress"]),
    ("?priority=urgent", ["assigned"]),
    ("?priority=low", ["in_progress"]),
    ("?overdue=1", ["assigned"]),
    ("?q=BLUE+car", ["new"]),
    ("?status=accepted&status=in_progress", ["old", "in_progress"]),
    ("?status=open&category=illegal_parking", ["new", "resolved"]),
]


def test_each_filter_narrows_the_list(client, board):
    got = {query: ids(listing(client, board, query)) for query, _e in FILTERS}
    assert got == {query: [getattr(board, name).id for name in expect] for query, expect in FILTERS}


def test_assignee_and_reference_filters(client, board):
    assert ids(listing(client, board, f"?assignee={board.handler.id}")) == [board.assigned.id]
    assert ids(listing(client, board, f"?q={board.old.reference}")) == [board.old.id]
    assert ids(listing(client, board, f"?department={dept('environment')}")) == [board.in_progress.id]


def test_date_range_filter_uses_local_days(client, board):
    from app.i18n import local_zone

    day = lambda delta: (NOW - timedelta(days=delta)).astimezone(local_zone()).date().isoformat()  # noqa: E731
    body = listing(client, board, f"?status=closed&status=rejected&from={day(7)}")
    assert ids(body) == [board.rejected.id]
    body = listing(client, board, f"?status=closed&status=rejected&to={day(8)}")
    assert ids(body) == [board.closed.id]
    body = listing(client, board, f"?from={day(3)}&to={day(2)}")
    assert ids(body) == [board.assigned.id, board.old.id]


def test_counts_follow_the_other_filters(client, board):
    c = listing(client, board, "?category=garbage")["counts"]
    assert (c["accepted"], c["closed"], c["open"], c["submitted"]) == (1, 1, 1, 0)
    c = listing(client, board, "?category=garbage&status=closed")
    assert ids(c) == [board.closed.id] and c["counts"]["accepted"] == 1


def test_counts_are_kept_by_the_database_as_reports_move(client, board):
    services.transition(board.new, board.coord, "accepted", version=1)
    db.session.commit()
    c = listing(client, board)["counts"]
    assert (c["submitted"], c["accepted"], c["open"]) == (0, 2, 5)


SORTS = [
    ("oldest", ["in_progress", "resolved", "old", "assigned", "new"]),
    ("priority", ["assigned", "old", "new", "resolved", "in_progress"]),
    ("due", ["assigned", "new", "in_progress", "old", "resolved"]),  # no running deadline: last
]


def test_sorting(client, board):
    got = {sort: ids(listing(client, board, f"?sort={sort}")) for sort, _e in SORTS}
    assert got == {sort: [getattr(board, n).id for n in expect] for sort, expect in SORTS}


def test_sort_by_recently_changed(client, board):
    services.set_priority(board.in_progress, board.coord, "high", version=1)
    db.session.commit()
    assert ids(listing(client, board, "?sort=updated"))[0] == board.in_progress.id


def test_pagination(client, board):
    page2 = listing(client, board, "?per_page=2&page=2")
    assert ids(page2) == [board.old.id, board.resolved.id]
    assert (page2["page"], page2["per_page"], page2["total"]) == (2, 2, 5)
    assert ids(listing(client, board, "?per_page=2&page=4")) == []


def test_list_items_carry_the_workflow_fields(client, board):
    item = listing(client, board, "?priority=urgent")["items"][0]
    assert (item["version"], item["priority"], item["department"], item["assignee"]) == (
        1,
        "urgent",
        "public_works",
        "Handler Wang",
    )
    assert item["overdue"] is True and item["due_at"] is not None


def test_nonsense_filters_are_a_400(client, board):
    for query in [
        "?status=done",
        "?per_page=0",
        "?per_page=500",
        "?from=yesterday",
        "?sort=random",
        "?priority=critical",
        "?assignee=bob",
        "?page=x",
    ]:
        resp = client.get("/api/v1/reports" + query, headers=board.coord_h)
        assert resp.status_code == 400 and resp.get_json()["error"]["message"], query


def test_riders_and_handlers_get_only_their_own_reports_from_the_list(client, board):
    mine = client.get("/api/v1/reports", headers=board.other_h).get_json()
    assert ids(mine) == [board.assigned.id] and "counts" not in mine
    handler = client.get("/api/v1/reports", headers=board.handler_h).get_json()
    assert ids(handler) == []


# -- the page --------------------------------------------------------------------------------------


@pytest.fixture
def coordinator_client(client, board):
    f.make_user("coordweb", "coordinator", display_name="Coordinator Zhao")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    f.log_in(client, "coordweb")
    return client


def test_board_page_shows_tabs_with_counts_and_keeps_filters_in_links(coordinator_client, board):
    html = coordinator_client.get("/board?category=garbage&sort=oldest").get_data(as_text=True)
    assert 'data-status="closed">' in html
    assert board.old.reference in html and board.new.reference not in html
    tab_links = [href for href in _hrefs(html) if href.startswith("/board?") and "status=closed" in href]
    assert tab_links and all(parse_qs(urlsplit(href).query)["category"] == ["garbage"] for href in tab_links)
    assert all(parse_qs(urlsplit(href).query)["sort"] == ["oldest"] for href in tab_links)


def test_board_pager_links_keep_the_filter(coordinator_client, board):
    html = coordinator_client.get("/board?per_page=2&sort=oldest").get_data(as_text=True)
    assert board.in_progress.reference in html and board.old.reference not in html
    nxt = [href for href in _hrefs(html) if parse_qs(urlsplit(href).query).get("page") == ["2"]]
    assert len(nxt) == 1
    args = parse_qs(urlsplit(nxt[0]).query)
    assert (args["page"], args["per_page"], args["sort"]) == (["2"], ["2"], ["oldest"])
    html = coordinator_client.get(nxt[0]).get_data(as_text=True)
    assert board.old.reference in html and board.assigned.reference in html
    assert board.in_progress.reference not in html and board.new.reference not in html


def test_board_marks_overdue_red_and_due_soon_yellow(coordinator_client, board):
    board.in_progress.resolve_due_at = NOW + timedelta(hours=1)  # window of days, one hour left
    db.session.commit()
    html = coordinator_client.get("/board").get_data(as_text=True)
    assert f'class="overdue" data-id="{board.assigned.id}"' in html
    assert f'class="due-soon" data-id="{board.in_progress.id}"' in html
    assert f'class="" data-id="{board.new.id}"' in html


def test_board_map_points_follow_the_filter(coordinator_client, board):
    body = coordinator_client.get("/board/map.json?category=illegal_parking").get_json()
    assert sorted(p["id"] for p in body["points"]) == sorted([board.new.id, board.resolved.id])
    assert body["points"][0]["url"].startswith("/board/reports/")


def test_board_is_for_coordinators_and_admins(client, board):
    assert client.get("/board").status_code == 302  # to the login page
    f.make_user("riderweb")
    f.log_in(client, "riderweb")
    assert client.get("/board").status_code == 403
    assert client.get("/board/map.json").status_code == 403


def _hrefs(html):
    import html as h
    import re

    return [h.unescape(m) for m in re.findall(r'href="([^"]+)"', html)]


def test_deadline_state_is_red_when_past_and_yellow_in_the_last_quarter():
    created = NOW - timedelta(hours=90)
    due = created + timedelta(hours=100)  # 10 h of 100 h left: last quarter
    assert deadline_state("accepted", None, due, created, now=NOW) == "due_soon"
    assert deadline_state("accepted", None, created + timedelta(hours=200), created, now=NOW) is None
    assert deadline_state("assigned", None, NOW - timedelta(minutes=1), created, now=NOW) == "overdue"
    assert deadline_state("submitted", NOW - timedelta(minutes=1), None, created, now=NOW) == "overdue"
    assert deadline_state("resolved", None, NOW - timedelta(days=1), created, now=NOW) is None
    assert deadline_state("closed", NOW - timedelta(days=9), NOW - timedelta(days=9), created, now=NOW) is None


# -- bulk actions -----------------------------------------------------------------------------------


def test_bulk_accept_and_priority_each_row_on_its_own(app, board):
    results = services.bulk(board.coord, [board.new.id, board.old.id], "accept")
    db.session.commit()
    assert [(r["id"], r["ok"]) for r in results] == [(board.new.id, True), (board.old.id, False)]
    assert results[1]["code"] == "invalid_transition"
    assert db.session.get(Report, board.new.id).status == "accepted"
    results = services.bulk(board.coord, [board.new.id, board.old.id], "priority", priority="urgent")
    db.session.commit()
    assert all(r["ok"] for r in results)
    assert {db.session.get(Report, i).priority for i in (board.new.id, board.old.id)} == {"urgent"}


def test_bulk_reject_needs_a_reason(app, board):
    results = services.bulk(board.coord, [board.new.id], "reject")
    assert results[0]["code"] == "note_required"
    results = services.bulk(board.coord, [board.new.id], "reject", note="not our area")
    db.session.commit()
    assert results[0]["ok"] and db.session.get(Report, board.new.id).status == "rejected"
    # the reason is the rider's to read (a move's note is otherwise internal)
    from app.models import ReportEvent

    move = db.session.scalar(
        select(ReportEvent).where(ReportEvent.report_id == board.new.id, ReportEvent.kind == "transition")
    )
    assert (move.note, move.internal) == ("not our area", False)


def test_bulk_assign_dispatches_to_a_department(app, board):
    results = services.bulk(board.coord, [board.old.id], "assign", department_id="urban_management")
    db.session.commit()
    r = db.session.get(Report, board.old.id)
    assert results[0]["ok"] and (r.status, r.department.code) == ("assigned", "urban_management")


def test_bulk_with_a_stale_row_fails_that_row_only(app, board):
    results = services.bulk(
        board.coord, [board.new.id, board.rejected.id], "accept", versions={board.new.id: 7, board.rejected.id: 1}
    )
    db.session.commit()
    assert [(r["ok"], r.get("code")) for r in results] == [(False, "stale_version"), (True, None)]


def test_bulk_is_for_staff_only(app, board):
    from app.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.bulk(board.handler, [board.assigned.id], "priority", priority="low")


def test_bulk_form_on_the_board(coordinator_client, board):
    html = coordinator_client.get("/board").get_data(as_text=True)
    token = f.csrf_from(html)
    resp = coordinator_client.post(
        "/board/bulk",
        data={
            "csrf_token": token,
            "action": "accept",
            "ids": [str(board.new.id), str(board.old.id)],
            f"v_{board.new.id}": "1",
            f"v_{board.old.id}": "1",
            "back": "/board?sort=oldest",
        },
    )
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/board?sort=oldest")
    db.session.expire_all()
    assert db.session.get(Report, board.new.id).status == "accepted"
    page = coordinator_client.get("/board?sort=oldest").get_data(as_text=True)
    assert "1 of 2 reports updated" in page
    assert f"{board.old.reference}: A report that is Accepted cannot be moved to Accepted." in page
    assert (
        coordinator_client.post("/board/bulk", data={"action": "accept", "ids": [str(board.new.id)]}).status_code == 400
    )


# -- a handler's tasks ------------------------------------------------------------------------------


def test_my_tasks_lists_reports_of_the_handler_and_their_department_overdue_first(client, board):
    later = f.report_row(
        board.rider,
        "road_damage",
        at=NOW - timedelta(hours=3),
        status="in_progress",
        department_id=dept("public_works"),
    )
    elsewhere = f.report_row(board.rider, "noise", at=NOW, status="assigned", department_id=dept("environment"))
    for r in (later, elsewhere):
        r.reference = f"GS-T-{r.id:04d}"
    db.session.commit()
    f.make_user("handlerweb", "handler", department_id=dept("public_works"))
    f.log_in(client, "handlerweb")
    html = client.get("/tasks").get_data(as_text=True)
    assert html.index(board.assigned.reference) < html.index(later.reference)
    assert elsewhere.reference not in html


# -- the indexes stay in use ------------------------------------------------------------------------


# (The duplicate lookup's (cell, created_at) index is only chosen on realistic data: bench/triage.py
# prints that plan on a million rows; on a few test rows both planners rightly prefer another index.)
def query_plan(run, marker="FROM report") -> str:
    """The plan of the first statement `run()` sends that contains `marker` (EXPLAIN on this database)."""
    from sqlalchemy import event

    seen = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        if marker in statement:
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        run()
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    statement, parameters = seen[0]
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("ANALYZE")
        if db.engine.dialect.name == "postgresql":
            cur.execute("SET enable_seqscan = off")  # tiny test tables: ask whether an index *can* serve it
            cur.execute("EXPLAIN " + statement, parameters)
        else:
            cur.execute("EXPLAIN QUERY PLAN " + statement, parameters)
        return "\n".join(str(row) for row in cur.fetchall())
    finally:
        raw.rollback()
        raw.close()


def test_board_first_page_reads_the_partial_index_of_open_reports(board):
    from werkzeug.datastructures import MultiDict

    from app.triage import board as queries

    plan = query_plan(lambda: queries.board_rows(queries.parse_filter(MultiDict())))
    # the partial index of open reports led by created_at (not the summaries' backlog index, which is
    # led by category_id and would leave every open report to sort)
    assert "ix_report_open_created" in plan, plan


# sqlite_stat1 of bench/triage.py's million reports (upgraded after its ANALYZE: no row for the backlog index)
MILLION = [
    ("category", "sqlite_autoindex_category_1", "10 1"),
    ("department", "sqlite_autoindex_department_1", "7 1"),
    ("report", "ix_report_assignee_status", "1000036 333346 76926"),
    ("report", "ix_report_category_created", "1000036 100004 1"),
    ("report", "ix_report_cell_created", "1000036 31 1"),
    ("report", "ix_report_created", "1000036 1"),
    ("report", "ix_report_department_status", "1000036 142863 21278"),
    ("report", "ix_report_duplicate_of", "1000036 500018"),
    ("report", "ix_report_grid_id", "1000036 1000036"),
    ("report", "ix_report_open_created", "203925 1"),
    ("report", "ix_report_status_created", "1000036 125005 1"),
    ("report", "ix_report_user_created", "1000036 166673 1"),
    ("report", "sqlite_autoindex_report_1", "1000036 1"),
    ("report", "sqlite_autoindex_report_2", "1000036 166673 23811"),
    ("user", "ix_user_department_id", "11 4"),
    ("user", "ix_user_team_id", "11 4"),
    ("user", "sqlite_autoindex_user_1", "11 1"),
]


@pytest.mark.parametrize("statistics", ["none yet", "a million reports, all but the backlog index"])
def test_board_first_page_walks_open_reports_newest_first_whatever_the_statistics(board, statistics):
    """SQLite plans with whatever sqlite_stat1 holds.
    - A database never analyzed: the planner would take ix_report_status_created and sort every open
      report; the app's `PRAGMA optimize` when a connection goes back to the pool writes statistics.
    - Statistics for every index but the summaries' ix_report_open_backlog (a database upgraded after its
      last ANALYZE): the planner once walked the categories and, through that index, every open report,
      then sorted them (330 ms at a million); the join to category can no longer be turned round."""
    import sqlite3

    from sqlalchemy import event
    from werkzeug.datastructures import MultiDict

    from app.triage import board as queries

    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's planner and its statistics table")
    seen = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        if "FROM report" in statement:
            seen.append((statement, parameters))

    def first_page_and_map():
        queries.board_rows(queries.parse_filter(MultiDict()))
        queries.map_points(queries.parse_filter(MultiDict()))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        first_page_and_map()
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    db.session.remove()
    path = db.engine.url.database
    with sqlite3.connect(path) as raw:
        raw.execute("ANALYZE")
        raw.execute("DELETE FROM sqlite_stat1")
        if statistics != "none yet":
            raw.executemany("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)", MILLION)
    raw.close()
    if statistics == "none yet":
        db.engine.dispose()  # a new connection: it reads the (missing) statistics afresh
        first_page_and_map()
        db.session.remove()  # back to the pool: the app runs PRAGMA optimize
    raw = sqlite3.connect(path)
    try:
        analyzed = {row[0] for row in raw.execute("SELECT idx FROM sqlite_stat1 WHERE tbl = 'report'")}
        assert "ix_report_open_created" in analyzed, analyzed
        for statement, parameters in seen:
            plan = " ; ".join(row[-1] for row in raw.execute("EXPLAIN QUERY PLAN " + statement, parameters))
            assert "ix_report_open_created" in plan and "TEMP B-TREE FOR ORDER BY" not in plan, (statement[:300], plan)
    finally:
        raw.execute("DELETE FROM sqlite_stat1")  # no made-up statistics for the tests that follow
        raw.commit()
        raw.close()
