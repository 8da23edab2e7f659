"""Exam pages: tenancy, creating an exam, uploading scores, and posting them (the task enqueued on commit)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from portal.models import Exam, ExamScore
from sync.models import RunKind, SyncRun
from sync.runs import issues, lifecycle
from tests.sync.passback_helpers import make_course, make_exam


@pytest.fixture
def course(institution_a):
    return make_course(institution_a)


@pytest.fixture
def exam(course):
    return make_exam(course, {"S0001": "40"}, points="50")


@pytest.fixture
def sent(monkeypatch):
    calls: list[int] = []
    monkeypatch.setattr("sync.tasks.post_scores_task.delay", calls.append)
    return calls


def upload(client, exam, text: str, name: str = "scores.csv"):
    file = SimpleUploadedFile(name, text.encode(), content_type="text/csv")
    return client.post(reverse("exam-upload", args=[exam.id]), {"file": file}, follow=True)


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("exam", "get"),
        ("exam-template", "get"),
        ("exam-post-progress", "get"),
        ("exam-upload", "post"),
        ("exam-post", "post"),
        ("exam-post-confirm", "get"),
        ("exam-check", "post"),
    ],
)
def test_it_requires_access_another_institutions_exam_is_404(client_b, exam, name, method, sent):
    r = getattr(client_b, method)(reverse(name, args=[exam.id]))

    assert r.status_code == 404
    assert sent == []
    assert ExamScore.objects.get().score == Decimal("40")


def test_the_exam_list_shows_only_the_admins_institution(client_b, exam, institution_b):
    beta_exam = make_exam(make_course(institution_b, lms_id=777, course_id="B-1"))
    Exam.objects.filter(id=beta_exam.id).update(title="Beta final")

    r = client_b.get(reverse("exams"))

    assert r.status_code == 200
    assert "Beta final" in r.text
    assert "Midterm" not in r.text


def test_it_requires_login(client, exam):
    r = client.get(reverse("exams"))
    assert r.status_code == 302
    assert r.url.startswith(reverse("login"))


def test_an_exam_is_created_on_a_synced_course(client_a, course):
    r = client_a.post(
        reverse("exam-create"), {"course": course.id, "title": " Final ", "points_possible": "80"}, follow=True
    )

    exam = Exam.objects.get()
    assert (exam.title, exam.points_possible, exam.course) == ("Final", Decimal("80"), course)
    assert "Exam “Final” created. Upload its scores as a CSV file." in r.text
    assert r.redirect_chain[-1][0] == reverse("exam", args=[exam.id])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"title": "X", "points_possible": "10"}, "Choose the course the exam belongs to."),
        ({"title": " ", "points_possible": "10"}, "Give the exam a title."),
        ({"title": "X", "points_possible": ""}, "Enter the exam&#x27;s points possible, such as 100."),
        ({"title": "X", "points_possible": "ten"}, "Points possible must be a number, such as 100 or 42.5."),
        ({"title": "X", "points_possible": "0"}, "Points possible must be more than 0."),
        ({"title": "X", "points_possible": "1.125"}, "Points possible can have at most two decimal places."),
        ({"title": "X", "points_possible": "123456"}, "Points possible must be less than 100,000."),
    ],
)
def test_an_invalid_exam_is_explained_beside_the_field(client_a, course, data, message):
    data = {"course": course.id, **data} if "Choose the course" not in message else data
    r = client_a.post(reverse("exam-create"), data)

    assert r.status_code == 200
    assert message in r.text
    assert not Exam.objects.exists()


def test_another_institutions_course_is_not_a_choice(client_a, course, institution_b):
    other = make_course(institution_b, lms_id=777, course_id="B-1")

    r = client_a.post(reverse("exam-create"), {"course": other.id, "title": "X", "points_possible": "10"})

    assert "Choose one of your courses synced from Canvas." in r.text
    assert not Exam.objects.exists()


def test_a_course_not_synced_from_canvas_is_not_a_choice(client_a, course):
    type(course).objects.filter(id=course.id).update(lms_id=None)

    r = client_a.get(reverse("exams"))

    assert "An exam belongs to a course synced from Canvas, and you have none yet." in r.text


def test_the_exam_page_shows_scores_and_where_to_post(client_a, exam):
    r = client_a.get(reverse("exam", args=[exam.id]))

    assert r.status_code == 200
    assert "Points possible: <strong>50</strong>" in r.text
    assert "S0001" in r.text
    assert "Not posted yet" in r.text
    assert 'for="id_overwrite_conflicts"' in r.text
    assert "Post scores to Canvas" in r.text


def test_a_clean_upload_saves_the_scores(client_a, exam):
    r = upload(client_a, exam, "Student ID,Score\nS0001,41\nS0002,39.5\n")

    assert "Scores saved: 1 new, 1 changed, 0 unchanged." in r.text
    assert dict(ExamScore.objects.values_list("exam_taker__student_id", "score")) == {
        "S0001": Decimal("41"),
        "S0002": Decimal("39.5"),
    }


def test_an_upload_with_errors_lists_them_by_line_and_saves_nothing(client_a, exam):
    r = upload(client_a, exam, "Student ID,Score\nS0001,45\nNOPE,1\nS0002,51\n", name="midterm.csv")

    assert r.status_code == 200
    assert "midterm.csv: 2 problems; nothing was saved" in r.text
    assert '<td>3</td><td class="error-text">No exam-taker in your institution has Student ID “NOPE”.</td>' in r.text
    assert "The score 51 is more than the exam&#x27;s 50 points possible." in r.text
    assert ExamScore.objects.get().score == Decimal("40")


def test_an_empty_or_missing_file_is_explained(client_a, exam):
    r = upload(client_a, exam, "")
    assert "The file is empty." in r.text

    r = client_a.post(reverse("exam-upload", args=[exam.id]), {})
    assert "Choose a CSV file to upload." in r.text


def test_the_template_downloads_the_course_exam_takers(client_a, exam):
    r = client_a.get(reverse("exam-template", args=[exam.id]))

    assert r["Content-Type"] == "text/csv; charset=utf-8"
    assert r.content.decode().splitlines()[:2] == ["Student ID,Name,Score", "S0001,Ada Lovelace,40"]


def test_posting_writes_a_run_and_enqueues_the_task_on_commit(client_a, exam, sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        r = client_a.post(
            reverse("exam-post", args=[exam.id]), {"overwrite_conflicts": "on", "confirmed": "1"}, follow=True
        )

    run = SyncRun.objects.get()
    assert run.kind == RunKind.GRADE_POST
    assert run.params["overwrite_conflicts"] is True
    assert sent == [run.id]
    assert (
        f'Posting scores to Canvas: <a href="{reverse("sync-run", args=[run.id])}">Grade post #{run.id}</a>' in r.text
    )


def test_posting_while_a_post_runs_points_to_it(client_a, exam, sent):
    active = lifecycle.create_run(
        exam.course.institution, RunKind.GRADE_POST, params={"exam_id": exam.id, "exam": "Midterm"}
    )

    r = client_a.post(reverse("exam-post", args=[exam.id]), {"confirmed": "1"}, follow=True)

    assert f'Scores are already being posted: <a href="{reverse("sync-run", args=[active.id])}">' in r.text
    assert SyncRun.objects.count() == 1
    assert 'hx-get="' + reverse("exam-post-progress", args=[exam.id]) in r.text


def test_posting_with_no_scores_says_to_upload_first(client_a, course, sent):
    exam = make_exam(course)

    r = client_a.post(reverse("exam-post", args=[exam.id]), follow=True)

    assert "There are no scores to post yet. Upload the exam&#x27;s scores as a CSV file first." in r.text
    assert not SyncRun.objects.exists()


def test_the_progress_fragment_asks_for_a_refresh_once_the_post_ended(client_a, exam):
    run = lifecycle.create_run(exam.course.institution, RunKind.GRADE_POST, params={"exam_id": exam.id})
    assert "HX-Refresh" not in client_a.get(reverse("exam-post-progress", args=[exam.id]))
    lifecycle.claim(run.id)
    lifecycle.finish(run.id, "succeeded", "done")

    assert client_a.get(reverse("exam-post-progress", args=[exam.id]))["HX-Refresh"] == "true"


def test_the_dashboard_links_to_exams(client_a):
    assert f'href="{reverse("exams")}"' in client_a.get(reverse("dashboard")).text


def test_a_grade_post_and_its_per_person_issues_show_in_view_history(client_a, exam):
    run = lifecycle.create_run(
        exam.course.institution, RunKind.GRADE_POST, params={"exam_id": exam.id, "exam": "Midterm"}
    )
    lifecycle.claim(run.id)
    issues.record(
        run.id, "grade_conflict", message="The grade in Canvas (95) was changed there", fix="Check with the teacher."
    )
    lifecycle.finish(run.id, "with_issues", "1 grade(s) posted.")

    listing = client_a.get(reverse("sync-history"))
    detail = client_a.get(reverse("sync-run", args=[run.id]))

    assert "Grade post" in listing.text
    assert "The grade in Canvas (95) was changed there" in detail.text
    assert "1 grade(s) posted." in detail.text


def test_posting_asks_first_how_many_grades_go_to_which_assignment_and_course(client_a, course, sent):
    exam = make_exam(course, {"S0001": "40", "S0002": "30", "zmuller": "20"}, points="50")
    ExamScore.objects.filter(exam=exam, exam_taker__student_id="zmuller").update(
        post_status="posted", posted_score=Decimal("20"), posted_at="2026-11-30T10:00:00Z"
    )

    # The exam page's button is a plain GET form: the question needs no JavaScript.
    r = client_a.get(reverse("exam-post-confirm", args=[exam.id]), {"overwrite_conflicts": "on"})

    assert r.status_code == 200
    text = " ".join(r.text.split())
    assert "Post 2 grades to “Midterm” in LAW-101-F26 Contracts I in Canvas?" in text
    assert "The 1 grade already posted is checked against Canvas" in text
    assert "overwritten" in text
    assert 'name="overwrite_conflicts" value="on"' in r.text
    assert ">Post 2 grades</button>" in r.text
    assert sent == [] and not SyncRun.objects.exists()


def test_a_post_not_confirmed_is_sent_to_the_question_and_starts_nothing(client_a, exam, sent):
    r = client_a.post(reverse("exam-post", args=[exam.id]), {"overwrite_conflicts": "on"})

    assert r.status_code == 302
    assert r.url == reverse("exam-post-confirm", args=[exam.id]) + "?overwrite_conflicts=on"
    assert sent == [] and not SyncRun.objects.exists()


def test_check_against_canvas_starts_a_check_that_writes_nothing(
    client_a, exam, sent, django_capture_on_commit_callbacks
):
    ExamScore.objects.filter(exam=exam).update(
        post_status="posted", posted_score=Decimal("40"), posted_at="2026-11-30T10:00:00Z"
    )

    with django_capture_on_commit_callbacks(execute=True):
        r = client_a.post(reverse("exam-check", args=[exam.id]), follow=True)

    run = SyncRun.objects.get()
    assert run.params["check_only"] is True and "overwrite_conflicts" not in run.params
    assert sent == [run.id]
    assert "Checking the posted grades against Canvas" in r.text


def test_check_with_nothing_posted_says_so(client_a, exam, sent):
    r = client_a.post(reverse("exam-check", args=[exam.id]), follow=True)

    assert "No grade of this exam has been posted yet, so there is nothing to check in Canvas." in r.text
    assert not SyncRun.objects.exists()


def test_the_exam_page_lists_the_grades_the_last_check_found_changed_in_canvas(client_a, exam):
    run = lifecycle.create_run(
        exam.course.institution, RunKind.GRADE_POST, params={"exam_id": exam.id, "check_only": True}
    )
    lifecycle.claim(run.id)
    results = [
        {"student_id": "S0001", "name": "Ada Lovelace", "score": "40", "posted": "40", "canvas": "12",
         "result": "differs", "message": ""},
    ]  # fmt: skip
    SyncRun.objects.filter(id=run.id).update(params={**run.params, "results": results})
    lifecycle.finish(
        run.id, "with_issues", "Checked 1 posted grade against Canvas: 1 differs from what the portal posted."
    )

    text = " ".join(client_a.get(reverse("exam", args=[exam.id])).text.split())

    assert "1 grade in Canvas differs from what the portal posted" in text
    assert (
        '<td data-label="Student ID">S0001</td><td data-label="Name">Ada Lovelace</td>'
        '<td data-label="Posted by the portal">40</td><td data-label="In Canvas now">12</td>'
    ) in text
    assert "Last check against Canvas" in text


def test_a_check_against_canvas_is_named_so_in_view_history_and_on_its_run_page(client_a, exam):
    run = lifecycle.create_run(
        exam.course.institution, RunKind.GRADE_POST, params={"exam_id": exam.id, "check_only": True}
    )
    lifecycle.claim(run.id)
    lifecycle.finish(run.id, "succeeded", "Checked 1 posted grade against Canvas: it matches what the portal posted.")

    assert "Grade post (check against Canvas)" in client_a.get(reverse("sync-history")).text
    detail = client_a.get(reverse("sync-run", args=[run.id])).text
    assert f"Grade post (check against Canvas) #{run.id}" in detail


def test_the_exam_page_says_when_canvas_was_last_read_and_how_to_read_it_again(client_a, exam):
    assert 'data-testid="as-of"' not in client_a.get(reverse("exam", args=[exam.id])).text  # nothing posted
    ExamScore.objects.filter(exam=exam).update(
        post_status="posted", posted_score=Decimal("40"), posted_at="2026-11-30T10:00:00Z"
    )

    text = " ".join(client_a.get(reverse("exam", args=[exam.id])).text.split())

    assert "“In Canvas” is what Canvas held when the portal last read it" in text
    assert "Choose <strong>Check against Canvas</strong> to read every posted grade again." in text
