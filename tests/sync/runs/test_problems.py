"""Problems as open items across runs: recorded by the sync that first finds them, not repeated by the
next nights, resolved by the sync that no longer finds them; the Open problems page and its CSV."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from sync.models import SyncIssue
from tests.sync.engine_helpers import add_entry, catalog_from_sim, sync

pytestmark = pytest.mark.django_db

PENDING_USER = 104  # the small dataset's pending invitation in Contracts I (501)


@pytest.fixture
def contracts(connected, sim, institution_a):
    catalog_from_sim(institution_a, sim)
    return add_entry(institution_a, 501)


def accept_invitation(sim) -> None:
    enrollment = next(
        e for e in sim.store.tables["enrollments"].values() if e["user_id"] == PENDING_USER and e["course_id"] == 501
    )
    sim.control("mutate", {"upsert": {"enrollments": [{"id": enrollment["id"], "enrollment_state": "active"}]}})


def pending(institution) -> list[SyncIssue]:
    return list(SyncIssue.objects.filter(institution=institution, code="pending_invitation"))


def test_a_problem_seen_on_two_nights_is_one_open_item_first_seen_the_first_night(contracts, institution_a, client_a):
    first = sync(institution_a)
    rows_after_first = SyncIssue.objects.count()
    second = sync(institution_a)

    assert SyncIssue.objects.count() == rows_after_first  # nothing changed in Canvas: no row written
    [item] = pending(institution_a)
    assert (item.run_id, item.is_open, item.canvas_id) == (first.id, True, PENDING_USER)
    assert second.issues.count() == 0
    assert second.status == "with_issues"  # the people it still left out are still left out
    body = client_a.get(reverse("sync-run", args=[second.id])).content.decode()
    assert "0 new" in body and "0 resolved" in body and "6 still open from earlier syncs" in body


def test_a_problem_that_goes_away_is_resolved_by_the_run_that_no_longer_finds_it(
    contracts, institution_a, sim, client_a
):
    first = sync(institution_a)
    accept_invitation(sim)
    second = sync(institution_a)

    [item] = pending(institution_a)
    assert (item.run_id, item.resolved_run_id, item.is_open) == (first.id, second.id, False)
    body = client_a.get(reverse("sync-run", args=[second.id])).content.decode()
    assert "1 resolved" in body and "Resolved in this sync" in body
    problems = client_a.get(reverse("sync-problems")).content.decode()
    assert "Pending invitation" not in problems and "Inactive enrollment" in problems
    first_page = client_a.get(reverse("sync-run", args=[first.id])).content.decode()
    assert "6 new" in first_page  # the first night still says what it found
    rows = list(csv.reader(io.StringIO(client_a.get(reverse("sync-run-csv", args=[second.id])).content.decode())))
    assert rows[0][-2:] == ["in this run", "why resolved"]
    assert [(row[2], row[-2], row[-1]) for row in rows[1:]] == [
        ("pending_invitation", "resolved", "No longer found by the sync")
    ]


def test_a_problem_that_comes_back_is_a_new_item(contracts, institution_a, sim):
    sync(institution_a)
    accept_invitation(sim)
    sync(institution_a)
    enrollment = next(e for e in sim.store.tables["enrollments"].values() if e["user_id"] == PENDING_USER)
    sim.control("mutate", {"upsert": {"enrollments": [{"id": enrollment["id"], "enrollment_state": "invited"}]}})
    third = sync(institution_a)

    items = sorted(pending(institution_a), key=lambda i: i.id)
    assert [i.is_open for i in items] == [False, True] and items[1].run_id == third.id


def test_a_course_the_run_could_not_read_keeps_its_problems_open(contracts, institution_a, sim):
    sync(institution_a)
    sim.control("faults", {"error_rate": 1.0, "error_status": 404, "paths": "/courses/501/sections"})
    failed = sync(institution_a)

    assert failed.course_results.get().status == "failed"
    assert [i.is_open for i in pending(institution_a)] == [True]


def test_open_problems_lists_filters_and_downloads(contracts, institution_a, client_a):
    sync(institution_a)

    body = client_a.get(reverse("sync-problems")).content.decode()
    assert "6 things the syncs left out are still left out" in body and "Pending invitation" in body
    by_reason = client_a.get(reverse("sync-problems"), {"code": "pending_invitation"}).content.decode()
    assert "1 open problem match" in by_reason and by_reason.count('data-label="Who or what"') == 1
    by_course = client_a.get(reverse("sync-problems"), {"course": "Contracts"}).content.decode()
    assert "6 open problems match" in by_course and by_course.count('data-label="Who or what"') == 6
    nowhere = client_a.get(reverse("sync-problems"), {"course": "No such course"}).content.decode()
    assert "No open problem matches these filters" in nowhere
    csv = client_a.get(reverse("sync-problems-csv"), {"code": "pending_invitation"}).content.decode()
    assert csv.count("\n") == 2 and "pending_invitation" in csv


def test_it_requires_access_another_institution_sees_none_of_its_problems(contracts, institution_a, client_b):
    sync(institution_a)

    other = client_b.get(reverse("sync-problems")).content.decode()
    assert "Pending invitation" not in other and "Nothing is left out" in other
    assert client_b.get(reverse("sync-problems-csv")).content.decode().count("\n") == 1


def test_open_problems_requires_login(client):
    assert client.get(reverse("sync-problems")).status_code == 302
    assert client.get(reverse("sync-problems-csv")).status_code == 302


def test_a_filter_too_long_is_said_beside_its_field(contracts, institution_a, client_a):
    body = client_a.get(reverse("sync-problems"), {"person": "x" * 300}).content.decode()
    assert "At most 255 characters; this one has 300" in body and "No problems are listed" in body


def test_why_reads_the_open_item_after_a_night_that_found_nothing_new(contracts, institution_a, client_a):
    sync(institution_a)
    second = sync(institution_a)

    body = client_a.get(reverse("sync-why"), {"q": str(PENDING_USER)}).content.decode()
    assert f"still so after the latest sync (#{second.id})" in body and "Pending invitation" in body


def test_the_dashboards_status_card_links_to_the_open_problems(contracts, institution_a, client_a):
    sync(institution_a)
    sync(institution_a)  # a second night found nothing new: the card still says what is wrong now

    body = client_a.get(reverse("dashboard")).content.decode()
    assert f'href="{reverse("sync-problems")}" data-testid="status-open-problems">6 open problems</a>' in body
    assert "None new in the last sync." in body
    history = client_a.get(reverse("sync-history")).content.decode()
    assert f'<a href="{reverse("sync-problems")}">Open problems</a>' in history
