"""Grade passback against the simulator: one assignment, no double posts, conflicts, scopes, crashes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lms_canvas.models import CanvasConnection, ConnectionStatus
from lms_canvas.simulator.scopes import SEED_SCOPES
from portal.models import ExamScore, ExamTaker, PostStatus
from sync.grades import passback
from sync.models import RunKind, RunStatus, SyncRun
from sync.runs import lifecycle
from sync.runs.readable import issue_fix
from tests.conftest import connect_to
from tests.sync.passback_helpers import make_exam

PUT_SCOPE = "url:PUT|/api/v1/courses/:course_id/assignments/:assignment_id/submissions/:user_id"
POST_SCOPE = "url:POST|/api/v1/courses/:course_id/assignments"


@pytest.fixture
def exam(course):
    return make_exam(course, {"S0001": "87.5", "S0002": "64", "zmuller": "100"})


def post(exam, *, overwrite: bool = False) -> SyncRun:
    params = {"exam_id": exam.id, "overwrite_conflicts": overwrite}
    run = lifecycle.create_run(exam.course.institution, RunKind.GRADE_POST, params=params)
    return passback.run_grade_post(run.id)


def assignments(sim) -> list[dict]:
    return [a for a in sim.store.tables["assignments"].values() if a["course_id"] == 501]


def canvas_grades(sim, assignment_id: int) -> dict[int, float | None]:
    return {
        s["user_id"]: s.get("score")
        for s in sim.store.tables["submissions"].values()
        if s["assignment_id"] == assignment_id
    }


def grade_calls(sim) -> int:
    requests = sim.control("stats")["requests"]
    return sum(sum(codes.values()) for endpoint, codes in requests.items() if endpoint.startswith("PUT"))


def create_calls(sim) -> int:
    requests = sim.control("stats")["requests"]
    return sum(sum(codes.values()) for endpoint, codes in requests.items() if endpoint.startswith("POST /api"))


def test_first_post_creates_one_published_assignment_and_every_grade(sim, exam):
    run = post(exam)

    assert run.status == RunStatus.SUCCEEDED, run.message
    [assignment] = assignments(sim)
    assert assignment["name"] == "Midterm"
    assert assignment["points_possible"] == 100.0
    assert assignment["published"] is True
    assert assignment["submission_types"] == ["none"]
    assert assignment["integration_id"] == exam.integration_id
    exam.refresh_from_db()
    assert exam.lms_assignment_id == assignment["id"]
    assert exam.lms_assignment_url.endswith(f"/courses/501/assignments/{assignment['id']}")
    assert canvas_grades(sim, assignment["id"]) == {101: 87.5, 102: 64.0, 103: 100.0}
    assert run.counts["created"] == 3
    assert "3 grade(s) posted" in run.message
    assert {r["student_id"]: r["result"] for r in run.params["results"]} == {
        "S0001": "posted",
        "S0002": "posted",
        "zmuller": "posted",
    }
    assert set(ExamScore.objects.values_list("post_status", flat=True)) == {PostStatus.POSTED}


def test_reposting_unchanged_scores_reads_each_grade_and_writes_none(sim, exam):
    post(exam)
    before = sim.control("stats")["total_requests"]
    puts = grade_calls(sim)

    run = post(exam)

    assert run.status == RunStatus.SUCCEEDED
    assert run.counts["unchanged"] == 3
    assert run.counts["created"] == run.counts["updated"] == 0
    # One GET per posted grade (a grade changed in Canvas only must not pass as unchanged), the stats
    # calls themselves, and no list and no PUT.
    assert sim.control("stats")["total_requests"] == before + 3 + 2
    assert grade_calls(sim) == puts
    assert len(assignments(sim)) == 1


def test_a_changed_score_updates_exactly_one_grade(sim, exam):
    post(exam)
    puts = grade_calls(sim)
    ExamScore.objects.filter(exam=exam, exam_taker__student_id="S0002").update(score=Decimal("70.25"))

    run = post(exam)

    assert run.status == RunStatus.SUCCEEDED
    assert grade_calls(sim) == puts + 1
    assert run.counts["updated"] == 1
    assert run.counts["unchanged"] == 2
    [assignment] = assignments(sim)
    assert canvas_grades(sim, assignment["id"])[102] == 70.25


def teacher_regrades(sim, assignment_id: int, user_id: int, score: float) -> None:
    submission = next(
        s
        for s in sim.store.tables["submissions"].values()
        if s["assignment_id"] == assignment_id and s["user_id"] == user_id
    )
    sim.control(
        "mutate",
        {"upsert": {"submissions": [{"id": submission["id"], "score": score, "grade": str(score), "grader_id": 201}]}},
    )


def test_a_teacher_change_in_canvas_is_a_conflict_left_alone(sim, exam):
    post(exam)
    exam.refresh_from_db()
    teacher_regrades(sim, exam.lms_assignment_id, 101, 95)
    ExamScore.objects.filter(exam=exam, exam_taker__student_id="S0001").update(score=Decimal("90"))
    puts = grade_calls(sim)

    run = post(exam)

    assert run.status == RunStatus.WITH_ISSUES
    assert grade_calls(sim) == puts
    assert canvas_grades(sim, exam.lms_assignment_id)[101] == 95
    [issue] = run.issues.all()
    assert issue.code == "grade_conflict"
    assert issue.label == "S0001 Ada Lovelace"
    assert issue.message == (
        "The grade in Canvas (95) was changed there since the portal last posted (87.5); it was left alone."
    )
    assert "Overwrite grades changed in Canvas" in issue_fix(issue)
    assert "1 grade(s) were changed in Canvas since the last post and were left alone" in run.message
    score = ExamScore.objects.get(exam=exam, exam_taker__student_id="S0001")
    assert score.post_status == PostStatus.CONFLICT


def test_a_teacher_change_is_overwritten_when_the_admin_chooses(sim, exam):
    post(exam)
    exam.refresh_from_db()
    teacher_regrades(sim, exam.lms_assignment_id, 101, 95)
    ExamScore.objects.filter(exam=exam, exam_taker__student_id="S0001").update(score=Decimal("90"))

    run = post(exam, overwrite=True)

    assert run.status == RunStatus.SUCCEEDED, run.message
    assert canvas_grades(sim, exam.lms_assignment_id)[101] == 90
    assert run.counts["overwritten"] == 1
    assert "1 changed in Canvas and overwritten" in run.message
    assert post(exam).counts["unchanged"] == 3


def test_a_teacher_change_with_the_score_unchanged_in_the_portal_stays_a_conflict_until_overwritten(sim, exam):
    post(exam)
    exam.refresh_from_db()
    teacher_regrades(sim, exam.lms_assignment_id, 102, 50)
    ExamScore.objects.filter(exam=exam, exam_taker__student_id="S0002").update(post_status=PostStatus.CONFLICT)

    assert post(exam).counts["conflicts"] == 1
    assert canvas_grades(sim, exam.lms_assignment_id)[102] == 50


def test_a_grade_canvas_already_has_is_recorded_not_posted_again(sim, exam):
    post(exam)
    # As if the worker died after Canvas took the grade but before the portal saved that it did.
    ExamScore.objects.filter(exam=exam).update(post_status=PostStatus.NOT_POSTED, posted_at=None, posted_score=None)
    puts = grade_calls(sim)

    run = post(exam)

    assert grade_calls(sim) == puts
    assert run.counts["unchanged"] == 3
    assert set(ExamScore.objects.values_list("post_status", flat=True)) == {PostStatus.POSTED}


def test_a_grade_someone_entered_before_the_first_post_is_a_conflict(sim, exam):
    sim.control(
        "mutate",
        {
            "upsert": {
                "assignments": [
                    {
                        "id": 7001,
                        "course_id": 501,
                        "name": "Midterm",
                        "points_possible": 100,
                        "published": True,
                        "integration_id": exam.integration_id,
                    }
                ],
                "submissions": [{"id": 8001, "assignment_id": 7001, "user_id": 103, "score": 40, "grade": "40"}],
            }
        },
    )

    run = post(exam)

    assert len(assignments(sim)) == 1
    [issue] = run.issues.all()
    assert issue.message == "Canvas already has a grade (40) that the portal did not post; it was left alone."
    assert canvas_grades(sim, 7001) == {101: 87.5, 102: 64.0, 103: 40}


def test_a_missing_put_scope_is_explained_with_the_scope_and_the_fix(sim, exam, institution_a):
    connect_to(institution_a, sim, [s for s in SEED_SCOPES if s != PUT_SCOPE])

    run = post(exam)

    assert run.status == RunStatus.FAILED
    assert run.message.startswith(
        "Scores were not posted: the Canvas developer key does not allow the portal to post grades "
        f"(missing scope {PUT_SCOPE})."
    )
    assert f"enable {PUT_SCOPE} and save; then choose Generate Key" in run.message
    assert ExamScore.objects.filter(post_status=PostStatus.POSTED).count() == 0


def test_a_missing_post_scope_is_explained_before_anything_is_graded(sim, exam, institution_a):
    connect_to(institution_a, sim, [s for s in SEED_SCOPES if s != POST_SCOPE])

    run = post(exam)

    assert run.status == RunStatus.FAILED
    assert "does not allow the portal to find or create the Canvas assignment" in run.message
    assert f"(missing scope {POST_SCOPE})" in run.message
    assert assignments(sim) == []


def test_a_crash_between_creating_the_assignment_and_remembering_it_then_a_retry_makes_one_assignment(
    sim, exam, monkeypatch
):
    def crash(exam, assignment):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(passback, "remember_assignment", crash)
    run = lifecycle.create_run(exam.course.institution, RunKind.GRADE_POST, params={"exam_id": exam.id})
    with pytest.raises(RuntimeError):
        passback.run_grade_post(run.id)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "Grades already posted stay posted and are not posted twice" in run.message
    assert len(assignments(sim)) == 1
    assert grade_calls(sim) == 0
    monkeypatch.undo()

    retry = post(exam)

    assert retry.status == RunStatus.SUCCEEDED
    assert len(assignments(sim)) == 1
    assert create_calls(sim) == 1
    exam.refresh_from_db()
    assert exam.lms_assignment_id == assignments(sim)[0]["id"]
    assert canvas_grades(sim, exam.lms_assignment_id) == {101: 87.5, 102: 64.0, 103: 100.0}


def test_a_canvas_fault_while_creating_fails_the_run_and_a_retry_still_makes_one_assignment(sim, exam):
    sim.control("faults", {"error_rate": 1.0, "error_status": 500, "paths": "/assignments$"})
    run = post(exam)
    assert run.status == RunStatus.FAILED
    assert run.message.startswith("Scores were not posted: Canvas did not create the assignment.")
    sim.control("faults", {"error_rate": 0.0})

    assert post(exam).status == RunStatus.SUCCEEDED
    assert len(assignments(sim)) == 1


def test_one_failing_person_does_not_stop_the_others(sim, exam, course, institution_a):
    # Grace Hopper (201) teaches course 501: Canvas has no student submission for her.
    stranger = ExamTaker.objects.create(
        institution=institution_a, student_id="E0001", first_name="Grace", last_name="Hopper", lms_id=201
    )
    ExamScore.objects.create(exam=exam, exam_taker=stranger, score=Decimal("50"))
    unmatched = ExamTaker.objects.create(
        institution=institution_a, student_id="X9", first_name="No", last_name="Canvas"
    )
    ExamScore.objects.create(exam=exam, exam_taker=unmatched, score=Decimal("10"))

    run = post(exam)

    assert run.status == RunStatus.WITH_ISSUES
    assert run.counts["created"] == 3
    assert run.counts["failed"] == 2
    issues = {i.label: i for i in run.issues.all()}
    assert issues["E0001 Grace Hopper"].code == "grade_not_posted"
    assert issues["E0001 Grace Hopper"].message.startswith("Canvas refused the grade for E0001 Grace Hopper:")
    assert issues["X9 No Canvas"].code == "no_lms_user"
    assert (
        issues["X9 No Canvas"].message
        == "X9 No Canvas has no Canvas user id, so the portal cannot find their submission."
    )
    assert "2 could not be posted" in run.message
    exam.refresh_from_db()
    assert canvas_grades(sim, exam.lms_assignment_id) == {101: 87.5, 102: 64.0, 103: 100.0}


def test_a_task_delivered_twice_posts_once(sim, exam):
    run = lifecycle.create_run(exam.course.institution, RunKind.GRADE_POST, params={"exam_id": exam.id})

    first = passback.run_grade_post(run.id)
    second = passback.run_grade_post(run.id)

    assert first.status == RunStatus.SUCCEEDED
    assert second is None
    assert grade_calls(sim) == 3


def test_posting_without_a_verified_connection_says_what_to_do(course, exam, connected):
    CanvasConnection.objects.filter(id=connected.id).update(status=ConnectionStatus.NEEDS_REAUTH)

    run = post(exam)

    assert run.status == RunStatus.FAILED
    assert run.message == passback.NOT_CONNECTED


def test_a_course_not_linked_to_canvas_is_explained(exam, course):
    type(course).objects.filter(id=course.id).update(lms_id=None)
    exam.course.refresh_from_db()

    run = post(exam)

    assert run.message == passback.NO_CANVAS_COURSE.format(course="LAW-101-F26")


def test_start_grade_post_enqueues_the_task_after_commit(exam, django_capture_on_commit_callbacks, monkeypatch):
    sent = []
    monkeypatch.setattr("sync.tasks.post_scores_task.delay", sent.append)

    with django_capture_on_commit_callbacks(execute=True):
        run = passback.start_grade_post(exam, overwrite_conflicts=True)

    assert sent == [run.id]
    assert run.kind == RunKind.GRADE_POST
    assert run.params == {"exam_id": exam.id, "exam": "Midterm", "overwrite_conflicts": True}


def test_the_celery_task_posts_the_run_it_is_given(sim, exam):
    from sync.tasks import post_scores_task

    run = lifecycle.create_run(exam.course.institution, RunKind.GRADE_POST, params={"exam_id": exam.id})

    post_scores_task(run.id)

    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED
    assert run.counts["created"] == 3


def test_an_exam_deleted_before_the_task_ran_fails_the_run_with_the_reason(exam):
    run = lifecycle.create_run(exam.course.institution, RunKind.GRADE_POST, params={"exam_id": exam.id})
    exam.delete()

    run = passback.run_grade_post(run.id)

    assert run.status == RunStatus.FAILED
    assert run.message == "Scores were not posted: the exam was deleted before the job started."


def test_an_assignment_deleted_in_canvas_stops_the_post_with_what_to_do(sim, exam):
    post(exam)
    exam.refresh_from_db()
    ExamScore.objects.filter(exam=exam).update(score=Decimal("1"))
    sim.control("mutate", {"delete": {"assignments": [exam.lms_assignment_id]}})

    run = post(exam)

    assert run.status == RunStatus.FAILED
    assert run.message.startswith(
        f"Scores were not posted: the exam's Canvas assignment (id {exam.lms_assignment_id}) no longer exists"
    )
    assert create_calls(sim) == 1
