from __future__ import annotations

import threading
from unittest import mock

import pytest
from django.db import connection
from playwright.sync_api import expect

from sync.grades import passback
from tests.conftest import connect_to, login
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
