"""Open problems in a browser, at a laptop's and a phone's width: what is wrong now across runs,
filtered by reason and course, reached from the dashboard's status card; and a second night's run
page saying what it changed (nothing new, what it resolved, what is still open). Nothing scrolls
sideways. SHOTS_DIR=/tmp/shots saves full-page screenshots."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from sync.engine.plan import Exclusion
from sync.models import CourseResultStatus, RunKind, RunStatus, SyncCourseResult, SyncRun
from sync.runs import issues
from sync.runs.lifecycle import create_run
from tests.conftest import login
from tests.e2e.axe import assert_accessible
from tests.e2e.widths import looks_right
from tests.sync.runs.run_helpers import FIRST_COURSE, PERSON_REASONS, course_name, run_with_many_issues

pytestmark = pytest.mark.e2e

COURSES, PEOPLE = 4, 10


def second_night(institution) -> SyncRun:
    """The same courses a night later: every pending invitation was accepted, the rest still so."""
    run = create_run(institution, RunKind.SYNC, params={"preview": False})
    for n in range(COURSES):
        canvas_id = FIRST_COURSE + n
        SyncCourseResult.objects.create(
            run=run, canvas_course_id=canvas_id, label=course_name(n), status=CourseResultStatus.APPLIED
        )
        still = [
            Exclusion(PERSON_REASONS[p % len(PERSON_REASONS)], "enrollment", 100 + p, f"Person {p} (p{p}@example.edu)")
            for p in range(PEOPLE)
            if PERSON_REASONS[p % len(PERSON_REASONS)] != "pending_invitation"
        ]
        issues.track_course(run, canvas_id, None, still)
    SyncRun.objects.filter(id=run.id).update(status=RunStatus.WITH_ISSUES)
    return run


def test_open_problems_say_what_is_wrong_now_and_a_night_what_it_changed(page, width, admin_a, institution_a):
    run_with_many_issues(institution_a, courses=COURSES, people=PEOPLE)
    night = second_night(institution_a)
    login(page, "alice@alpha.test")

    page.goto(f"/admin-settings/lms/history/{night.id}/")
    expect(page.get_by_test_id("problem-changes")).to_contain_text("0 new")
    expect(page.get_by_test_id("problem-changes")).to_contain_text("8 resolved")
    expect(page.get_by_test_id("problem-changes")).to_contain_text("32 still open from earlier syncs")
    resolved = page.locator("details.issue-group").filter(has=page.locator("summary", has_text="Pending invitation"))
    resolved.locator("summary").click()
    expect(resolved.get_by_role("table", name="Resolved: Pending invitation").get_by_role("row")).to_have_count(9)
    looks_right(page, "run-second-night", width)
    assert_accessible(page, "run second night")

    page.get_by_role("link", name="Open problems").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Open problems")
    expect(page.get_by_test_id("problems-summary")).to_contain_text("32 things the syncs left out")
    expect(page.get_by_role("table")).not_to_contain_text("Pending invitation")
    expect(page.get_by_test_id("problem-reasons").get_by_role("listitem")).to_have_count(4)  # 8 of each
    looks_right(page, "problems", width)
    assert_accessible(page, "open problems")

    page.get_by_label("Reason", exact=True).select_option("no_person_id")
    page.get_by_label("Course").fill("CAT-001")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("2 open problems match the filters")).to_be_visible()
    expect(page.get_by_role("table").get_by_role("row")).to_have_count(3)
    expect(page.get_by_role("table")).to_contain_text(course_name(1))
    looks_right(page, "problems-filtered", width)

    page.get_by_label("Person").fill("nobody@example.edu")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No open problem matches these filters")).to_be_visible()
    page.get_by_role("link", name="Show every open problem").click()
    expect(page.get_by_text("32 open problems.")).to_be_visible()
