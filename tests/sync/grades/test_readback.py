"""Grades as Canvas holds them (issue 16 item 2): every grade is read back after it is written, a grade
changed in Canvas only is found by the next post and by “Check against Canvas”, and an unpublished
assignment's “not authorized” is explained. Against the simulator."""

from __future__ import annotations

from portal.models import ExamScore, PostStatus
from sync.grades import passback
from sync.models import RunKind, RunStatus, SyncRun
from sync.runs import lifecycle
from sync.runs.readable import issue_fix
from tests.sync.grades.test_passback import assignments, canvas_grades, grade_calls, post, teacher_regrades


def check(exam) -> SyncRun:
    params = {"exam_id": exam.id, "check_only": True}
    run = lifecycle.create_run(exam.course.institution, RunKind.GRADE_POST, params=params)
    return passback.run_grade_post(run.id)


def status(exam, student_id: str) -> ExamScore:
    return ExamScore.objects.get(exam=exam, exam_taker__student_id=student_id)


def test_a_grade_changed_in_canvas_only_is_reported_by_the_next_post_not_unchanged(sim, exam):
    post(exam)
    exam.refresh_from_db()
    teacher_regrades(sim, exam.lms_assignment_id, 101, 60)
    puts = grade_calls(sim)

    run = post(exam)

    assert run.status == RunStatus.WITH_ISSUES, run.message
    assert (run.counts["unchanged"], run.counts["conflicts"]) == (2, 1)
    assert grade_calls(sim) == puts  # left alone
    assert canvas_grades(sim, exam.lms_assignment_id)[101] == 60
    [issue] = run.issues.all()
    assert issue.code == "grade_conflict" and issue.label == "S0001 Ada Lovelace"
    assert issue.message == (
        "The grade in Canvas (60) was changed there since the portal last posted (92.5); it was left alone."
    )
    assert "1 grade(s) were changed in Canvas since the last post and were left alone" in run.message
    assert status(exam, "S0001").post_status == PostStatus.CONFLICT


def test_check_against_canvas_lists_every_grade_that_differs_and_writes_nothing(sim, exam):
    post(exam)
    exam.refresh_from_db()
    teacher_regrades(sim, exam.lms_assignment_id, 101, 60)
    teacher_regrades(sim, exam.lms_assignment_id, 103, 75)
    puts = grade_calls(sim)

    run = check(exam)

    assert grade_calls(sim) == puts
    assert run.status == RunStatus.WITH_ISSUES
    assert run.message.startswith("Checked 3 posted grades against Canvas: 2 differ from what the portal posted")
    differ = {r["student_id"]: (r["posted"], r["canvas"]) for r in run.params["results"] if r["result"] == "differs"}
    assert differ == {"S0001": ("92.5", "60"), "zmuller": ("100", "75")}
    assert {i.label for i in run.issues.all()} == {"S0001 Ada Lovelace", "zmuller Zoë Müller"}
    assert status(exam, "S0001").post_status == PostStatus.CONFLICT
    assert status(exam, "S0002").post_status == PostStatus.POSTED


def test_check_says_so_when_every_posted_grade_matches_canvas(sim, exam):
    post(exam)

    run = check(exam)

    assert run.status == RunStatus.SUCCEEDED
    assert run.message == "Checked 3 posted grades against Canvas: all 3 match what the portal posted."


def test_a_grade_put_back_in_canvas_clears_the_difference_on_the_next_check(sim, exam):
    post(exam)
    exam.refresh_from_db()
    teacher_regrades(sim, exam.lms_assignment_id, 101, 60)
    check(exam)
    teacher_regrades(sim, exam.lms_assignment_id, 101, 92.5)

    assert check(exam).status == RunStatus.SUCCEEDED
    assert status(exam, "S0001").post_status == PostStatus.POSTED


def test_a_write_canvas_answered_200_but_did_not_save_is_reported_per_student(sim, exam):
    sim.control("faults", {"lost_grade_write_rate": 1.0, "paths": "/submissions/101$"})

    run = post(exam)

    assert run.status == RunStatus.WITH_ISSUES, run.message
    assert (run.counts["created"], run.counts["failed"]) == (2, 1)
    [issue] = run.issues.all()
    assert issue.code == "grade_not_saved" and issue.label == "S0001 Ada Lovelace"
    assert issue.message == (
        "Canvas answered that it saved 92.5 for S0001 Ada Lovelace, but reading the grade back shows none: "
        "Canvas did not save it."
    )
    assert "Post again" in issue_fix(issue)
    ada = status(exam, "S0001")
    assert ada.post_status == PostStatus.FAILED and ada.posted_at is None
    assert "1 could not be posted" in run.message

    sim.control("faults", {})
    again = post(exam)
    assert (again.counts["created"], again.counts["unchanged"]) == (1, 2)
    exam.refresh_from_db()
    assert canvas_grades(sim, exam.lms_assignment_id)[101] == 92.5


def unpublished_assignment(sim, exam) -> None:
    sim.control(
        "mutate",
        {
            "upsert": {
                "assignments": [
                    {"id": 7002, "course_id": 501, "name": "Midterm", "points_possible": 100,
                     "published": False, "integration_id": exam.integration_id}
                ]
            }
        },
    )  # fmt: skip


def test_an_unpublished_assignment_stops_the_post_with_its_own_reason_and_fix(sim, exam):
    unpublished_assignment(sim, exam)

    run = post(exam)

    assert run.status == RunStatus.FAILED
    assert "the exam's Canvas assignment is unpublished" in run.message
    assert "Publish" in run.message
    [issue] = run.issues.all()
    assert issue.code == "assignment_unpublished"
    assert len(assignments(sim)) == 1 and canvas_grades(sim, 7002) == {}
    assert set(ExamScore.objects.filter(exam=exam).values_list("post_status", flat=True)) == {PostStatus.NOT_POSTED}


def test_the_portal_creates_its_assignment_published(sim, exam):
    post(exam)
    [assignment] = assignments(sim)
    assert assignment["published"] is True


def test_a_posted_grade_canvas_will_not_show_is_reported_unchecked_and_stays_posted(sim, exam):
    post(exam)
    sim.control("faults", {"error_rate": 1.0, "error_status": 500, "paths": "/submissions/102$"})

    run = check(exam)

    assert run.status == RunStatus.WITH_ISSUES
    assert "1 could not be read (see the issues below)" in run.message
    [issue] = run.issues.all()
    assert issue.code == "grade_not_checked" and issue.label == "S0002 Seán O'Brien"
    assert status(exam, "S0002").post_status == PostStatus.POSTED  # a failed read demotes nothing

    again = post(exam)  # the post reads it too, and says so the same way
    assert again.counts["unchanged"] == 2 and "1 posted grade(s) could not be checked" in again.message
    assert status(exam, "S0002").post_status == PostStatus.POSTED


def test_a_grade_whose_read_back_fails_is_not_counted_posted_and_the_next_post_finds_it(sim, exam, monkeypatch):
    from lms_canvas.client import CanvasClient

    write = CanvasClient.grade_submission

    def then_reads_fail(self, course_id, assignment_id, user_id, grade):
        answer = write(self, course_id, assignment_id, user_id, grade)
        if int(user_id) == 101:  # Canvas saved Ada's grade; reading it back now fails
            sim.control("faults", {"error_rate": 1.0, "error_status": 500, "paths": "/submissions/101$"})
        return answer

    monkeypatch.setattr(CanvasClient, "grade_submission", then_reads_fail)
    run = post(exam)

    assert run.status == RunStatus.WITH_ISSUES and (run.counts["created"], run.counts["failed"]) == (2, 1)
    [issue] = run.issues.all()
    assert issue.code == "grade_not_saved" and issue.label == "S0001 Ada Lovelace"
    assert issue.message.startswith("Canvas took the grade 92.5 for S0001 Ada Lovelace, but reading it back")
    assert status(exam, "S0001").post_status == PostStatus.FAILED

    sim.control("faults", {})
    monkeypatch.setattr(CanvasClient, "grade_submission", write)
    puts = grade_calls(sim)
    again = post(exam)
    assert again.status == RunStatus.SUCCEEDED and grade_calls(sim) == puts  # Canvas had it: not sent twice
    assert status(exam, "S0001").post_status == PostStatus.POSTED
