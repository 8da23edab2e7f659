"""“Why isn't this synced?” answers once and truthfully: a person once, one line per course (named),
each reason's why and fix once; an order of events only when the timestamps show it; "Nothing found"
only when nothing matched; another institution's courses and people never."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from sync.models import CatalogCourse, SyncCourseResult, SyncListEntry
from sync.runs import issues
from sync.runs.reasons import REASONS
from tests.sync.engine_helpers import add_entry, catalog_from_sim, sync
from tests.sync.runs.run_helpers import FIRST_COURSE, run_with_many_issues

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(institution_a):
    return run_with_many_issues(institution_a, courses=3, people=10)


def why(client, q: str) -> str:
    return html.unescape(client.get(reverse("sync-why"), {"q": q}).content.decode())


def listed(institution, canvas_id: int, *, added_at: dt.datetime, **fields) -> SyncListEntry:
    entry = SyncListEntry.objects.create(
        institution=institution,
        course=CatalogCourse.objects.get(institution=institution, canvas_id=canvas_id),
        **fields,
    )
    SyncListEntry.objects.filter(id=entry.id).update(added_at=added_at)
    return entry


def test_a_person_left_out_of_several_courses_is_answered_once_with_each_course_named(client_a, run):
    body = why(client_a, "p3@example.edu")

    assert body.count("<h2>Person: Person 3") == 1
    assert f"<p>Left out of 3 courses, still so after the latest sync (#{run.id}):</p>" in body
    for n in range(3):
        assert body.count(f"<strong>Catalogue course {n} (CAT-00{n})</strong>: ") == 1
    reason = REASONS["role_not_chosen"]
    assert body.count(reason.sentence) == 1 and body.count(reason.fix) == 1
    assert ">Role not chosen on Configure</a>" in body and ">role_not_chosen<" not in body


def test_two_issues_of_one_person_in_one_course_make_one_line(client_a, run):
    issues.record(
        run.id,
        "role_not_chosen",
        object_type="enrollment",
        canvas_id=103,
        canvas_course_id=FIRST_COURSE,
        label="Person 3 (p3@example.edu)",
    )  # a second enrollment of theirs there, another section
    issues.record(
        run.id,
        "pending_invitation",
        object_type="enrollment",
        canvas_id=103,
        canvas_course_id=FIRST_COURSE,
        label="Person 3 (p3@example.edu)",
    )

    body = why(client_a, "103")

    line = re.search(r"<li><strong>Catalogue course 0 \(CAT-000\)</strong>: (.*?)</li>", body, re.S)
    assert body.count("<strong>Catalogue course 0 (CAT-000)</strong>") == 1 and line
    assert line.group(1).count("Role not chosen on Configure") == 1 and "Pending invitation" in line.group(1)
    assert body.count("<h2>Person: ") == 1


def test_more_people_than_shown_are_counted_not_hidden(client_a, run):
    body = why(client_a, "example.edu")
    assert body.count("<h2>Person: ") == 5 and "5 more people match “example.edu”" in body


def test_an_entry_added_after_the_latest_sync_started_says_so(client_a, run, institution_a):
    listed(institution_a, FIRST_COURSE + 1, added_at=run.created_at + dt.timedelta(minutes=1))
    CatalogCourse.objects.create(institution=institution_a, canvas_id=7001, name="Late Course")
    listed(institution_a, 7001, added_at=run.created_at + dt.timedelta(minutes=1))

    body = why(client_a, "Late Course")

    assert f"after the latest sync (#{run.id}) started; Sync Now to sync it." in body
    assert "Nothing found" not in body


def test_an_entry_listed_before_the_sync_is_never_said_to_be_added_after_it(client_a, run, institution_a):
    CatalogCourse.objects.create(institution=institution_a, canvas_id=7002, name="Ended Course")
    listed(institution_a, 7002, added_at=run.created_at - dt.timedelta(days=30), end_date=dt.date(2020, 1, 31))
    CatalogCourse.objects.create(institution=institution_a, canvas_id=7003, name="Extended Course")
    listed(institution_a, 7003, added_at=run.created_at - dt.timedelta(days=30))  # its end date extended since

    ended = why(client_a, "Ended Course")
    extended = why(client_a, "Extended Course")

    assert f"ended on Jan 31, 2020, so the latest sync (#{run.id}) left it out" in ended
    assert f"The latest sync (#{run.id}) did not include it" in extended
    for body in (ended, extended):
        assert "after the latest sync" not in body and "ran before it was added" not in body


def test_a_synced_course_says_what_the_latest_sync_did_without_an_order_claim(client_a, run, institution_a):
    listed(institution_a, FIRST_COURSE, added_at=timezone.now() - dt.timedelta(days=1))

    body = why(client_a, "CAT-000")

    assert f"Latest sync (#{run.id}): Synced." in body and "after the latest sync" not in body


def test_a_failed_course_is_explained_once_without_the_exception(client_a, run):
    body = why(client_a, "Broken Course")
    assert "<strong>The course</strong>: " in body and "IntegrityError" not in body
    reason = REASONS["internal_error"]
    assert body.count(reason.sentence) == 1 and body.count(reason.fix) == 1
    assert f"Latest sync (#{run.id}): Failed; why and what to do are below." in body


def test_nothing_found_only_when_nothing_matches(client_a, run):
    assert "Nothing found" not in why(client_a, "Catalogue course 1")
    assert "Nothing found for “no-such-thing”" in why(client_a, "no-such-thing")


def test_another_institutions_courses_and_people_are_never_answered(client_b, run):
    for q in ("Catalogue course 1", "p3@example.edu", "103", "Broken Course"):
        answers = why(client_b, q).split('class="why-answers"')[1]
        assert "<h2>Nothing found" in answers and "<h2>Course:" not in answers and "<h2>Person:" not in answers


def test_a_course_the_sync_left_out_is_explained_once(client_a, connected, sim, institution_a):
    """The unpublished course of a real sync: its reason's sentence and fix once, not three times (the
    catalogue's state, the latest sync's result and the open problem each said it)."""
    catalog_from_sim(institution_a, sim)
    add_entry(institution_a, 503)  # unpublished in the simulator's small dataset
    run = sync(institution_a)
    assert SyncCourseResult.objects.get(run=run, canvas_course_id=503).message  # the sync said why

    body = why(client_a, "503")

    reason = REASONS["course_unpublished"]
    assert body.count(reason.sentence) == 1 and body.count(reason.fix) == 1
    assert "only published courses are synced" not in body  # the catalogue's line, said by the reason
    assert f"Latest sync (#{run.id}): Not synced; why and what to do are below." in body
    assert "<strong>The course</strong>: " in body
