from __future__ import annotations

import threading
from unittest import mock

import pytest
from django.db import connection
from playwright.sync_api import expect

from sync.grades import passback
from tests.conftest import connect_to, login
from tests.e2e.axe import assert_accessible
from tests.e2e.widths import looks_right
from tests.sync.grades.test_passback import teacher_regrades
from tests.sync.grades.test_readback import unpublished_assignment
from tests.sync.passback_helpers import make_course, make_exam

pytestmark = pytest.mark.e2e


def _post_in_background(run_id: int) -> None:
    """Stands in for the Celery worker: the post runs while the page polls its progress."""

    def work() -> None:
        try:
            passback.run_grade_post(run_id)
        finally:
            connection.close()

    threading.Thread(target=work, daemon=True).start()


def in_view(page, locator) -> None:
    """The element sits within the page's width: read without scrolling a table sideways."""
    box = locator.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"], box


def csv_file(text: str) -> dict:
    return {"name": "midterm.csv", "mimeType": "text/csv", "buffer": text.encode()}


def test_upload_scores_see_them_checked_then_post_them_to_canvas(page, admin_a, institution_a, sim):
    connect_to(institution_a, sim)
    exam = make_exam(make_course(institution_a), points="50")
    login(page, "alice@alpha.test")
    page.goto("/dashboard/")
    page.get_by_role("link", name="Exams").click()
    page.get_by_role("link", name="Midterm").click()

    page.get_by_label("Scores file (CSV)").set_input_files(csv_file("Student ID,Score\nS0001,45\nNOPE,3\nS0002,60\n"))
    page.get_by_role("button", name="Upload scores").click()
    problems = page.get_by_role("table", name="Problems in the file")
    expect(page.get_by_role("heading", name="midterm.csv: 2 problems; nothing was saved")).to_be_visible()
    expect(problems).to_contain_text("No exam-taker in your institution has Student ID “NOPE”.")
    expect(problems).to_contain_text("The score 60 is more than the exam's 50 points possible.")
    expect(page.get_by_text("No scores yet.")).to_be_visible()

    page.get_by_label("Scores file (CSV)").set_input_files(
        csv_file("Student ID,Name,Score\nS0001,Ada,45\nS0002,Seán,38.5\nzmuller,Zoë,50\n")
    )
    page.get_by_role("button", name="Upload scores").click()
    expect(page.get_by_text("Scores saved: 3 new, 0 changed, 0 unchanged.")).to_be_visible()
    expect(page.get_by_role("heading", name="Scores (3)")).to_be_visible()

    with mock.patch("sync.tasks.post_scores_task.delay", side_effect=_post_in_background):
        page.get_by_role("button", name="Post scores to Canvas").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Post 3 grades to “Midterm” in LAW-101-F26 Contracts I in Canvas?"
        )
        page.get_by_role("button", name="Post 3 grades").click()
        expect(page.get_by_text("Posting scores to Canvas: Grade post #")).to_be_visible()
        expect(page.get_by_test_id("last-post")).to_contain_text("Succeeded", timeout=20_000)

    expect(page.get_by_test_id("last-post")).to_contain_text("3 grade(s) posted, 0 updated, 0 unchanged.")
    scores_table = page.get_by_role("table", name="Scores (3)")
    expect(scores_table.get_by_role("row").filter(has_text="S0002")).to_contain_text("Posted")
    exam.refresh_from_db()
    expect(page.get_by_text(f"In Canvas as assignment {exam.lms_assignment_id}")).to_be_visible()
    grades = {
        s["user_id"]: s["score"]
        for s in sim.store.tables["submissions"].values()
        if s["assignment_id"] == exam.lms_assignment_id
    }
    assert grades == {101: 45.0, 102: 38.5, 103: 50.0}

    page.get_by_test_id("last-post").get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Grade post")


def test_a_lost_write_then_a_grade_changed_in_canvas_each_end_in_a_page_that_says_what_to_do(
    page, width, admin_a, institution_a, sim
):
    connect_to(institution_a, sim)
    exam = make_exam(make_course(institution_a), {"S0001": "92.5", "S0002": "64", "zmuller": "100"})
    # Canvas answers Ada's grade PUT with 200 and keeps no grade (canvas-lms issue 1434).
    sim.control("faults", {"lost_grade_write_rate": 1.0, "paths": "/submissions/101$"})
    login(page, "alice@alpha.test")
    page.goto(f"/exams/{exam.id}/")
    expect(page.get_by_role("button", name="Check against Canvas")).to_be_disabled()  # nothing posted yet

    with mock.patch("sync.tasks.post_scores_task.delay", side_effect=_post_in_background):
        page.get_by_role("button", name="Post scores to Canvas").click()
        expect(page.get_by_role("button", name="Post 3 grades")).to_be_visible()  # the question's page
        looks_right(page, "grades-confirm", width)
        assert_accessible(page, "grades-confirm")
        page.get_by_role("button", name="Cancel").click()
        expect(page.get_by_role("heading", name="Scores (3)")).to_be_visible()
        page.get_by_role("button", name="Post scores to Canvas").click()
        page.get_by_role("button", name="Post 3 grades").click()
        expect(page.get_by_test_id("last-post")).to_contain_text("Finished with issues", timeout=20_000)

    expect(page.get_by_test_id("last-post")).to_contain_text("2 grade(s) posted")
    expect(page.get_by_test_id("last-post")).to_contain_text("1 could not be posted")
    ada = page.get_by_role("table", name="Scores (3)").get_by_role("row").filter(has_text="S0001")
    expect(ada).to_contain_text("Not posted: failed")
    expect(ada).to_contain_text("reading the grade back shows none: Canvas did not save it.")
    expect(ada).to_contain_text("Post again")
    in_view(page, ada.get_by_role("cell").filter(has_text="Post again"))  # at 390 px too, no sideways scroll
    looks_right(page, "grades-lost-write", width)
    page.get_by_test_id("last-post").get_by_role("link").click()  # the run page says it too
    expect(page.get_by_role("main")).to_contain_text("Grade not saved by Canvas")
    expect(page.get_by_role("main")).to_contain_text("Post again")
    expect(page.get_by_role("main")).to_contain_text("2 posted · 0 updated · 0 unchanged · 1 not posted")
    expect(page.get_by_test_id("counts-legend")).to_contain_text("Counted: the exam's grades, one per exam-taker")
    looks_right(page, "grades-lost-write-run", width)
    page.go_back()

    sim.control("faults", {})
    exam.refresh_from_db()
    teacher_regrades(sim, exam.lms_assignment_id, 103, 60)  # changed in Canvas only
    with mock.patch("sync.tasks.post_scores_task.delay", side_effect=_post_in_background):
        page.get_by_role("button", name="Check against Canvas").click()
        expect(page.get_by_test_id("last-post")).to_contain_text("Last check against Canvas", timeout=20_000)

    expect(page.get_by_test_id("last-post")).to_contain_text("Checked 2 posted grades against Canvas: 1 differs")
    differs = page.get_by_role("alert").filter(has_text="differs from what the portal posted")
    expect(differs.get_by_role("heading")).to_have_text("1 grade in Canvas differs from what the portal posted")
    row = (
        differs.get_by_role("table", name="Grades that differ in Canvas").get_by_role("row").filter(has_text="zmuller")
    )
    expect(row).to_contain_text("100")
    expect(row).to_contain_text("60")
    expect(differs).to_contain_text("Overwrite grades changed in Canvas")
    zoe = page.get_by_role("table", name="Scores (3)").get_by_role("row").filter(has_text="zmuller")
    expect(zoe).to_contain_text("Changed in Canvas: left alone")
    in_view(page, row.get_by_role("cell").filter(has_text="60"))
    looks_right(page, "grades-check-differs", width)
    assert_accessible(page, "exam-differs")

    # The admin keeps the portal's grade: overwrite, and Ada's lost grade is sent again in the same post.
    with mock.patch("sync.tasks.post_scores_task.delay", side_effect=_post_in_background):
        page.get_by_label("Overwrite grades changed in Canvas").check()
        page.get_by_role("button", name="Post scores to Canvas").click()
        expect(page.get_by_role("main")).to_contain_text("overwritten with the portal's")
        page.get_by_role("button", name="Post 2 grades").click()
        expect(page.get_by_test_id("last-post")).to_contain_text("Succeeded", timeout=20_000)
    expect(page.get_by_test_id("last-post")).to_contain_text("1 changed in Canvas and overwritten")
    grades = {
        s["user_id"]: s["score"]
        for s in sim.store.tables["submissions"].values()
        if s["assignment_id"] == exam.lms_assignment_id
    }
    assert grades == {101: 92.5, 102: 64.0, 103: 100.0}
    looks_right(page, "grades-fixed", width)


def test_an_unpublished_assignment_ends_in_a_page_that_says_to_publish_it(page, width, admin_a, institution_a, sim):
    """Issue 16 item 2: Canvas answers a grade for an unpublished assignment "user not authorized"; the
    exam page and the run say it is unpublished and to publish it, not that the portal lacks a right."""
    connect_to(institution_a, sim)
    exam = make_exam(make_course(institution_a), {"S0001": "92.5", "S0002": "64", "zmuller": "100"})
    unpublished_assignment(sim, exam)  # e.g. a teacher unpublished the portal's assignment in Canvas
    login(page, "alice@alpha.test")
    page.goto(f"/exams/{exam.id}/")

    with mock.patch("sync.tasks.post_scores_task.delay", side_effect=_post_in_background):
        page.get_by_role("button", name="Post scores to Canvas").click()
        page.get_by_role("button", name="Post 3 grades").click()
        expect(page.get_by_test_id("last-post")).to_contain_text("Failed", timeout=20_000)

    last = page.get_by_test_id("last-post")
    expect(last).to_contain_text("the exam's Canvas assignment is unpublished")
    expect(last).to_contain_text("choose Publish beside “Midterm”, then post again")
    in_view(page, last)
    looks_right(page, "grades-unpublished", width)
    assert_accessible(page, "exam-unpublished")
    last.get_by_role("link").click()
    expect(page.locator("details.issue-group").filter(has_text="Canvas assignment unpublished")).to_have_count(1)
    expect(page.get_by_role("main")).to_contain_text("0 changed in Canvas · 3 not sent: the post stopped")
    expect(page.get_by_role("main")).to_contain_text("Assignment “Midterm” (Canvas id 7002) in LAW-101-F26")
    looks_right(page, "grades-unpublished-run", width)
    page.go_back()

    sim.control("mutate", {"upsert": {"assignments": [{"id": 7002, "published": True}]}})  # the fix
    with mock.patch("sync.tasks.post_scores_task.delay", side_effect=_post_in_background):
        page.get_by_role("button", name="Post scores to Canvas").click()
        page.get_by_role("button", name="Post 3 grades").click()
        expect(page.get_by_test_id("last-post")).to_contain_text("Succeeded", timeout=20_000)
    expect(page.get_by_test_id("last-post")).to_contain_text("3 grade(s) posted")
