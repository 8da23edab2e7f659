"""A night that grew the history by what changed, in a browser at a laptop's and a phone's width: its
run page names the course that changed and counts the 2,952 it found nothing to change in (their
problems still open, counted); the problems of a course removed from the sync list are listed as resolved, saying why;
View History's 12-month chart reads the month totals retention keeps. Nothing scrolls sideways.
SHOTS_DIR=/tmp/shots saves full-page screenshots."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from sync.engine.plan import Exclusion
from sync.engine.runner import fold_quiet_results
from sync.models import (
    CourseResultStatus,
    RunKind,
    RunStatus,
    SyncCourseResult,
    SyncMonthTotal,
    SyncRun,
    empty_counts,
)
from sync.runs import issues
from sync.runs.lifecycle import create_run
from tests.conftest import login
from tests.e2e.axe import assert_accessible
from tests.e2e.widths import looks_right
from tests.sync.runs.run_helpers import FIRST_COURSE, PERSON_REASONS, course_name, run_with_many_issues

pytestmark = pytest.mark.e2e

COURSES, PEOPLE, QUIET = 4, 10, 2950


def a_night_later(institution) -> SyncRun:
    """The same people left out of the first three courses, one person added to the first; the fourth
    was removed from the sync list; 2,950 more courses synced with nothing to change."""
    run = create_run(institution, RunKind.SYNC, params={"preview": False})
    kept = [FIRST_COURSE + n for n in range(COURSES - 1)]
    issues.track_sync_list(run, [(c, None) for c in kept], [])
    SyncCourseResult.objects.bulk_create(
        [
            SyncCourseResult(
                run=run,
                canvas_course_id=c,
                label=course_name(c - FIRST_COURSE),
                status=CourseResultStatus.APPLIED,
                counts=empty_counts() | {"created": int(c == FIRST_COURSE), "unchanged": 20, "skipped": PEOPLE},
            )
            for c in kept
        ]
        + [
            SyncCourseResult(
                run=run, canvas_course_id=20000 + n, label=f"Quiet course {n}", status=CourseResultStatus.APPLIED
            )
            for n in range(QUIET)
        ]
    )
    left_out = [
        Exclusion(PERSON_REASONS[p % len(PERSON_REASONS)], "enrollment", 100 + p, f"Person {p} (p{p}@example.edu)")
        for p in range(PEOPLE)
    ]
    issues.track_courses(run, {(c, None): left_out for c in kept})
    SyncRun.objects.filter(id=run.id).update(status=RunStatus.WITH_ISSUES, total=len(kept) + QUIET)
    run.refresh_from_db()
    fold_quiet_results(run)
    return run


def test_a_night_names_what_changed_and_counts_the_rest(page, width, admin_a, institution_a):
    run_with_many_issues(institution_a, courses=COURSES, people=PEOPLE)
    night = a_night_later(institution_a)
    login(page, "alice@alpha.test")

    page.goto(f"/admin-settings/lms/history/{night.id}/")
    expect(page.get_by_test_id("course-summary")).to_have_text(
        "2,953 courses: 2,952 synced with nothing to change (not listed) · 1 synced."
    )
    expect(page.get_by_role("table").first.get_by_role("row")).to_have_count(2)  # a header and the one changed
    expect(page.get_by_role("table").first).to_contain_text(course_name(0))
    expect(page.get_by_test_id("problem-changes")).to_contain_text("10 resolved")
    expect(page.get_by_test_id("problem-changes")).to_contain_text("30 still open from earlier syncs")
    resolved = page.locator("details.issue-group").filter(has=page.locator("summary", has_text="Pending invitation"))
    resolved.last.locator("summary").click()
    table = resolved.last.get_by_role("table", name="Resolved: Pending invitation")
    expect(table).to_contain_text("Its course or section was removed from the sync list")
    looks_right(page, "run-folded-night", width)
    assert_accessible(page, "run folded night")


def test_view_history_charts_twelve_months_from_the_totals(page, width, admin_a, institution_a, institution_b):
    SyncMonthTotal.objects.create(institution=institution_a, month="2026-01-01", runs=31, created=400, issues=9)
    SyncMonthTotal.objects.create(institution=institution_b, month="2026-01-01", runs=99, created=9999)
    login(page, "alice@alpha.test")

    page.goto("/admin-settings/lms/history/")
    section = page.get_by_role("region", name="Last 12 months")
    expect(section.get_by_role("img", name="Chart of runs in the last 12 months", exact=False)).to_be_visible()
    data = page.evaluate("() => JSON.parse(document.getElementById('history-month-chart-data').textContent)")
    january = data["labels"].index("Jan 2026")
    assert (data["runs"][january], data["created"][january], data["issues"][january]) == (31, 400, 9)
    looks_right(page, "history-months", width)
    assert_accessible(page, "view history months")
