"""A run's page reads as results: issues grouped by reason with counts (the why and the fix once per
reason), a Course column on people's issues, a group paginated on its own, plain words rather than
reason codes, and no exception class name anywhere, old rows included."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest
from django.urls import reverse

from portal.models import Course, Department
from sync.models import CatalogCourse
from sync.runs import issues
from sync.runs.readable import GROUP_PREVIEW, plain
from sync.runs.reasons import REASONS
from tests.sync.engine.test_sync_run import big_course, drop
from tests.sync.engine_helpers import add_entry, catalog_from_sim, sync
from tests.sync.runs.run_helpers import FIRST_COURSE, PERSON_REASONS, run_with_many_issues

pytestmark = pytest.mark.django_db

EXCEPTION_WORDS = ["IntegrityError", "ReadTimeout", "DoesNotExist", "UNIQUE constraint"]


@pytest.fixture
def run(institution_a):
    return run_with_many_issues(institution_a)


def page(client, run, **params) -> str:
    """The run page's HTML, entities decoded (the sentences' apostrophes)."""
    return html.unescape(client.get(reverse("sync-run", args=[run.id]), params).content.decode())


def group(body: str, code: str) -> str:
    """The HTML of one reason's group."""
    match = re.search(
        rf'<details class="issue-group[^"]*" id="reason-{code}".*?</details>\s*(?=<details class="issue|<p><a)',
        body,
        re.S,
    )
    assert match, f"no group for {code}"
    return match.group(0)


def test_issues_are_grouped_by_reason_with_counts_errors_first(client_a, run):
    body = page(client_a, run)

    codes = re.findall(r'<details class="issue-group[^"]*" id="reason-(\w+)"', body)
    assert set(codes) == {*PERSON_REASONS, "internal_error", "canvas_error", "entry_ended"}
    assert codes[:2] == ["canvas_error", "internal_error"]  # errors first, then the larger groups
    assert "96 people in 12 courses" in group(body, "pending_invitation")
    assert "1 course" in group(body, "internal_error")
    assert "480 issues" not in body and "485 issues, grouped by reason (8 reasons)" in body
    assert 'id="reason-pending_invitation" open' not in body  # folded until opened


def test_each_reason_says_why_and_what_to_do_once(client_a, run):
    body = page(client_a, run)

    for code in PERSON_REASONS:
        assert body.count(REASONS[code].sentence) == 1, code
        assert body.count(REASONS[code].fix) == 1, code
    pending = group(body, "pending_invitation")
    assert pending.count("<tr>") == GROUP_PREVIEW + 1  # the header and the first rows
    assert 'href="?code=pending_invitation#issues"' in pending and "Show all 96 people in 12 courses" in pending


def test_people_have_a_course_column_named_as_the_catalogue_names_it(client_a, run):
    body = page(client_a, run)

    pending = group(body, "pending_invitation")
    assert '<th scope="col">Person</th><th scope="col">Course</th>' in pending
    assert '<td data-label="Course">Catalogue course 0 (CAT-000)</td>' in pending
    failed = group(body, "internal_error")  # a course's own issue: the course is the row, no second column
    assert failed.split("<tbody>")[0].count("<th ") == 1 and '<td data-label="Course">Broken Course' in failed


def test_a_course_only_the_portal_knows_is_named_by_the_portal(client_a, run, institution_a):
    dept = Department.objects.create(institution=institution_a, name="Moot")
    Course.objects.create(institution=institution_a, department=dept, course_id="LAW-900", name="Moot Court", lms_id=77)
    issues.record(run.id, "test_student", object_type="person", canvas_id=5, canvas_course_id=77, label="Test Student")

    assert '<td data-label="Course">Moot Court (LAW-900)</td>' in group(page(client_a, run), "test_student")


def test_another_institutions_catalogue_never_names_a_course(client_a, run, institution_b):
    CatalogCourse.objects.filter(canvas_id=FIRST_COURSE).delete()
    CatalogCourse.objects.create(institution=institution_b, canvas_id=FIRST_COURSE, name="Beta's own course")

    body = page(client_a, run, code="pending_invitation")

    assert "Beta's own course" not in body and f"Canvas course {FIRST_COURSE}" in body


def test_a_group_alone_is_paginated_and_keeps_its_reason(client_a, run, monkeypatch):
    monkeypatch.setattr("sync.runs.views.ISSUES_PAGE_SIZE", 50)

    first = page(client_a, run, code="pending_invitation")
    second = page(client_a, run, code="pending_invitation", page=2)

    assert re.findall(r'id="reason-(\w+)"', first) == ["pending_invitation"]
    assert 'id="reason-pending_invitation" open' in first
    assert group(first, "pending_invitation").count("<tr>") == 51 and "Page 1 of 2" in first
    assert 'href="?code=pending_invitation&page=2#issues"' in first
    assert group(second, "pending_invitation").count("<tr>") == 47 and "Page 2 of 2" in second
    assert "Show all" not in first


def test_reasons_read_as_words_not_codes(client_a, run):
    body = page(client_a, run)

    for code in {*PERSON_REASONS, "internal_error", "canvas_error", "entry_ended"}:
        assert REASONS[code].title in body
        assert f">{code}<" not in body and f"> {code}" not in body, code


def test_a_run_level_row_names_what_it_is_about(client_a, run):
    ended = group(page(client_a, run), "entry_ended")
    assert '<td data-label="Who or what">Old Course 0 ended on 2025-12-10.</td>' in ended
    assert '<td data-label="Who or what">End date has passed</td>' not in ended


def test_no_exception_name_reaches_the_run_page_the_csv_or_the_why_page(client_a, run):
    body = page(client_a, run) + page(client_a, run, code="internal_error") + page(client_a, run, code="canvas_error")
    csv_text = client_a.get(reverse("sync-run-csv", args=[run.id])).content.decode()
    why = client_a.get(reverse("sync-why"), {"q": "Broken Course"}).content.decode()

    for text in (body, csv_text, why):
        for word in EXCEPTION_WORDS:
            assert word not in text
    assert "Unexpected error; nothing in this course was changed." in body
    assert "Canvas timed out on GET /api/v1/courses/9013/enrollments." in body
    assert REASONS["internal_error"].sentence in why


def test_the_csv_still_has_every_issue_and_its_code(client_a, run):
    rows = list(csv.reader(io.StringIO(client_a.get(reverse("sync-run-csv", args=[run.id])).content.decode())))
    assert len(rows) == 1 + run.issues.count()
    assert {row[2] for row in rows[1:]} == {*PERSON_REASONS, "internal_error", "canvas_error", "entry_ended"}
    only = client_a.get(reverse("sync-run-csv", args=[run.id]), {"code": "no_person_id"}).content.decode()
    assert len(only.strip().splitlines()) == 1 + 96


@pytest.mark.parametrize(
    "stored, shown",
    [
        (
            "Unexpected error (IntegrityError); nothing in this course was changed.",
            "Unexpected error; nothing in this course was changed.",
        ),
        ("Canvas timed out on GET /api/v1/x: ReadTimeout.", "Canvas timed out on GET /api/v1/x."),
        ("POST /login/oauth2/token failed: requests.exceptions.ConnectionError", "POST /login/oauth2/token failed"),
        ("It failed. IntegrityError: UNIQUE constraint failed: portal_course.course_id", "It failed."),
        ("Course.DoesNotExist: Course matching query does not exist.", ""),
        ("Canvas answered HTTP 500 (Internal Server Error).", "Canvas answered HTTP 500 (Internal Server Error)."),
        ("Error: the section has no SIS ID.", "Error: the section has no SIS ID."),
    ],
)
def test_plain_takes_exception_names_out(stored, shown):
    assert plain(stored) == shown


@pytest.mark.parametrize("params", [{}, {"code": "pending_invitation"}, {"code": "pending_invitation", "page": "2"}])
def test_another_institutions_run_page_is_a_404_with_any_filter(client_b, run, params):
    assert client_b.get(reverse("sync-run", args=[run.id]), params).status_code == 404
    assert client_b.get(reverse("sync-run-csv", args=[run.id]), params).status_code == 404


def test_a_night_with_no_new_problem_does_not_point_to_a_list_below(client_a, connected, sim, institution_a):
    catalog_from_sim(institution_a, sim)
    add_entry(institution_a, 501)
    first = sync(institution_a)
    second = sync(institution_a)  # the same people left out: still open, nothing new

    def changes(run) -> str:
        body = html.unescape(client_a.get(reverse("sync-run", args=[run.id])).content.decode())
        return re.sub(r"<[^>]+>", "", re.search(r'data-testid="problem-changes">(.*?)</p>', body).group(1))

    assert re.match(r"Problems in the courses this sync read: [1-9]\d* new \(listed below\)", changes(first))
    assert changes(second).startswith("Problems in the courses this sync read: 0 new · 0 resolved")


def test_a_held_courses_changes_read_as_not_applied(client_a, connected, sim, institution_a):
    """The held course's row counted '8 deactivated' under Counts while nothing had changed."""
    big_course(sim)
    catalog_from_sim(institution_a, sim)
    add_entry(institution_a, 501)
    sync(institution_a)
    drop(sim, 8)
    held = sync(institution_a)

    body = html.unescape(client_a.get(reverse("sync-run", args=[held.id])).content.decode())
    assert "<strong>Held, not applied:</strong> 0 added · 0 re-labelled · 8 deactivated" in body
