from __future__ import annotations

import re
import threading
from unittest import mock

import pytest
from django.db import connection
from playwright.sync_api import expect

from lms_canvas.models import CanvasConfig
from portal.models import Department
from sync.catalog import refresh
from sync.models import CatalogCourse, SyncListEntry
from tests.conftest import connect_to, login
from tests.e2e.widths import WIDTHS, looks_right
from tests.sync.catalog_helpers import make_catalog

pytestmark = pytest.mark.e2e


def _refresh_in_background(run_id: int) -> None:
    """Stands in for the Celery worker: the refresh runs while the page polls its progress."""

    def work() -> None:
        try:
            refresh.run_refresh(run_id)
        finally:
            connection.close()

    threading.Thread(target=work, daemon=True).start()


def test_refresh_courses_shows_live_progress_then_the_courses(page, admin_a, institution_a, make_sim):
    slow = make_sim(generate=300, latency_ms=150)
    connect_to(institution_a, slow)
    login(page, "alice@alpha.test")
    page.goto("/admin-settings/lms/sync/")
    expect(page.get_by_text("No refresh has run yet.")).to_be_visible()

    with mock.patch("sync.tasks.refresh_catalog_task.delay", side_effect=_refresh_in_background):
        page.get_by_role("button", name="Refresh Courses").click()
        expect(page.get_by_role("heading", name="Refreshing courses")).to_be_visible()
        expect(page.get_by_test_id("refresh-phase")).to_have_text("Fetching sections", timeout=20_000)
        first = page.get_by_test_id("refresh-counts").inner_text()
        expect(page.get_by_test_id("refresh-counts")).not_to_have_text(first, timeout=10_000)
        expect(page.get_by_role("button", name="Cancel")).to_be_visible()
        expect(page.get_by_test_id("refresh-result")).to_contain_text("Last refresh: ", timeout=90_000)

    expect(page.get_by_test_id("refresh-result")).to_contain_text("Fetched 300 courses")
    page.reload()
    expect(page.get_by_test_id("result-count")).to_contain_text("300 courses")


@pytest.fixture
def catalogue(institution_a):
    CanvasConfig.objects.create(institution=institution_a)
    return make_catalog(institution_a)


def test_search_add_a_course_and_a_section_then_bulk_edit_and_save(page, admin_a, catalogue):
    login(page, "alice@alpha.test")
    page.goto("/admin-settings/lms/sync/")

    page.get_by_label("Search by Course ID or name").fill("LAW-101")
    expect(page.get_by_test_id("result-count")).to_contain_text("1 course matching")
    page.get_by_role("button", name="Add Contracts I to the sync list").click()
    expect(page.get_by_role("status").filter(has_text="Added")).to_be_visible()

    page.get_by_label("Search by Course ID or name").fill("philosophy")
    expect(page.get_by_text("Unpublished in Canvas: publish it in Canvas, then refresh courses.")).to_be_visible()
    expect(page.get_by_role("button", name="Add Philosophy II to the sync list")).to_have_count(0)

    page.get_by_label("Search by Course ID or name").fill("Statistics")
    expect(page.get_by_test_id("result-count")).to_contain_text("1 course matching")
    page.get_by_role("button", name="Show sections of Statistics I").click()
    expect(page.get_by_text("Canvas reported no sections for this course")).to_be_visible()

    page.get_by_label("Search by Course ID or name").fill("Contracts")
    expect(page.get_by_test_id("result-count")).to_contain_text("1 course matching")
    expect(page.get_by_text("On the list")).to_be_visible()
    page.get_by_label("Search by Course ID or name").fill("")
    page.get_by_label("Hide courses that cannot be synced").check()
    expect(page.get_by_test_id("result-count")).to_contain_text("2 courses")

    # A section of a course not on the list: add it through ">" then "+".
    CatalogCourse.objects.filter(canvas_id=505).update(name="Statistics I")
    from sync.models import CatalogSection

    CatalogSection.objects.create(
        institution=catalogue, course=CatalogCourse.objects.get(canvas_id=505), canvas_id=806, name="Lab 1",
        sis_section_id="STAT-101-F26-L1",
    )  # fmt: skip
    page.get_by_role("button", name="Show sections of Statistics I").click()
    page.get_by_role("button", name="Add section Lab 1 to the sync list").click()
    expect(page.get_by_role("status").filter(has_text="Added")).to_be_visible()

    page.get_by_role("tab", name="Edit Sync List").click()
    expect(page.get_by_role("cell", name="Contracts I", exact=True)).to_be_visible()
    expect(page.get_by_role("cell", name="Lab 1", exact=True)).to_be_visible()
    page.get_by_label("Select all rows").check()
    page.get_by_label("Department for checked rows").select_option(label="Law")
    page.get_by_role("button", name="Set department").click()
    expect(page.get_by_text("Saved. 2 entries changed.")).to_be_visible()

    page.get_by_label("End Date of Contracts I").fill("2026-08-01")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("End Date is before Start Date.")).to_be_visible()
    page.get_by_label("End Date of Contracts I").fill("2026-12-20")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved. 1 entry changed.")).to_be_visible()

    law = Department.objects.get(institution=catalogue)
    entries = SyncListEntry.objects.order_by("course__name")
    assert [(e.course.name, e.department_id) for e in entries] == [("Contracts I", law.id), ("Statistics I", law.id)]
    assert str(entries[0].end_date) == "2026-12-20"


def _course_refresh_in_background(run_id: int) -> None:
    def work() -> None:
        try:
            refresh.run_course_refresh(run_id)
        finally:
            connection.close()

    threading.Thread(target=work, daemon=True).start()


@pytest.mark.parametrize("width", list(WIDTHS))
def test_refresh_one_course_runs_in_a_worker_and_shows_the_course(page, width, admin_a, institution_a, make_sim):
    page.set_viewport_size({"width": WIDTHS[width], "height": 800})
    slow = make_sim(latency_ms=300)
    connect_to(institution_a, slow)
    login(page, "alice@alpha.test")
    page.goto("/admin-settings/lms/sync/")

    with mock.patch("sync.tasks.refresh_course_task.delay", side_effect=_course_refresh_in_background):
        page.get_by_text("Refresh one course").click()
        page.get_by_label("Canvas course id or SIS ID").fill("LAW-101-F26")
        page.get_by_role("button", name="Refresh this course").click()
        expect(page.get_by_test_id("course-refresh-phase")).to_contain_text("Refreshing course “LAW-101-F26”")
        looks_right(page, "course-refresh-progress", width)
        expect(page.get_by_text("Refreshed “Contracts I” (Canvas id 501)")).to_be_visible(timeout=20_000)
    expect(page).to_have_url(re.compile(r"\?q=501$"))
    expect(page.get_by_role("row", name=re.compile("Contracts I"))).to_be_visible()
    if width == "desktop":  # Select Courses' results table is wider than a phone: open issue 15's layout work
        looks_right(page, "course-refresh-done", width)
