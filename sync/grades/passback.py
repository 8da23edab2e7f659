"""Grade passback: post an exam's scores to Canvas as one assignment's grades, safely re-runnable.

`post_scores(run, exam)` creates the Canvas assignment once (found again by its integration id
after a crash), then grades each exam-taker whose score is new or changed. Before a PUT it reads
the submission: a grade someone changed in Canvas since our last post is a conflict, left alone
unless the admin chose to overwrite; a grade Canvas already has is recorded, not posted again.
One person's failure is recorded against that person and the others go on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone

from lms_canvas.client import CanvasClient
from lms_canvas.connect import client_for
from lms_canvas.errors import CanvasError, NotFound, ScopeMissing, TokenInvalid
from lms_canvas.models import CanvasConnection
from lms_canvas.objects import Assignment, Submission
from portal.models import Exam, ExamScore, PostStatus
from sync.models import RunKind, RunStatus, SyncRun
from sync.runs import issues, lifecycle
from sync.runs.reasons import ReasonCode

HALF_CENT = Decimal("0.005")

NOT_CONNECTED = (
    "Scores were not posted: the Canvas connection is not Verified. "
    "What to do: open LMS Settings and choose Generate Key (or save a working access token), then post again."
)
NO_CANVAS_COURSE = (
    "Scores were not posted: course {course} is not linked to a Canvas course. "
    "What to do: sync the course from Canvas (Edit Sync Settings > Sync Now), then post again."
)
INTERNAL_ERROR = (
    "Posting stopped on an internal error (recorded for support). Grades already posted stay posted and "
    "are not posted twice. What to do: post again; if it happens again, contact support."
)
EXAM_GONE = "Scores were not posted: the exam was deleted before the job started."
CONFLICT_MESSAGE = (
    "The grade in Canvas ({canvas}) was changed there since the portal last posted ({ours}); it was left alone."
)
CONFLICT_UNPOSTED = "Canvas already has a grade ({canvas}) that the portal did not post; it was left alone."
CONFLICT_FIX = (
    "Check with the course's teacher which grade is right. To replace Canvas's grade with the portal's, "
    "post again with “Overwrite grades changed in Canvas” ticked."
)
ASSIGNMENT_GONE = (
    "Scores were not posted: the exam's Canvas assignment (id {id}) no longer exists; it was deleted in Canvas. "
    "What to do: if it should come back, restore it in Canvas and post again; to create a new assignment "
    "instead, have support clear the exam's “LMS assignment id” (Support › Exams), then post again."
)
NO_CANVAS_USER = "{person} has no Canvas user id, so the portal cannot find their submission."
NO_CANVAS_USER_FIX = "Sync the course from Canvas so the exam-taker is matched to their Canvas user, then post again."


@dataclass
class Tally:
    """Counts (the history's names) and the per-person results of one post."""

    posted: int = 0
    changed: int = 0
    unchanged: int = 0
    conflicts: int = 0
    overwritten: int = 0
    failed: int = 0
    results: list[dict[str, Any]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "created": self.posted,
            "updated": self.changed,
            "deactivated": 0,
            "unchanged": self.unchanged,
            "skipped": self.conflicts + self.failed,
            "held": 0,
            "conflicts": self.conflicts,
            "overwritten": self.overwritten,
            "failed": self.failed,
        }

    def note(self, row: ExamScore, result: str, message: str = "") -> None:
        self.results.append(
            {
                "student_id": row.exam_taker.student_id,
                "name": row.exam_taker.full_name,
                "score": _grade_text(row.score),
                "result": result,
                "message": message,
            }
        )


class PostAborted(Exception):
    """A failure that concerns every person (scope, token), so going on would only repeat it."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


# --- starting and running (what views, tasks and commands call) ----------------------------------


def start_grade_post(exam: Exam, *, user=None, overwrite_conflicts: bool = False) -> SyncRun:
    """Write the queued run and enqueue its task after commit; raises lifecycle.RunAlreadyActive, or
    lifecycle.QueueUnavailable (the run ended, with why) if the task queue refuses the task."""
    params = {"exam_id": exam.id, "exam": exam.title, "overwrite_conflicts": overwrite_conflicts}
    return lifecycle.start(
        exam.course.institution,
        RunKind.GRADE_POST,
        lifecycle.task_named("sync.tasks.post_scores_task"),
        user=user,
        params=params,
    )


def run_grade_post(run_id: int) -> SyncRun | None:
    """The task's body: claim the run, then post; a task delivered twice does nothing the second time."""
    return lifecycle.run_claimed(run_id, _post, not_connected=NOT_CONNECTED, internal_error=INTERNAL_ERROR)


def _post(conn: CanvasConnection, run: SyncRun) -> SyncRun:
    exam = Exam.objects.filter(id=run.params.get("exam_id"), course__institution=run.institution).first()
    if exam is None:
        lifecycle.finish(run.id, RunStatus.FAILED, EXAM_GONE)
        return _reloaded(run)
    overwrite = bool(run.params.get("overwrite_conflicts"))
    return post_scores(run, exam, client_for(conn), overwrite_conflicts=overwrite)


# --- the post ---------------------------------------------------------------------------------


def post_scores(run: SyncRun, exam: Exam, client: CanvasClient, *, overwrite_conflicts: bool = False) -> SyncRun:
    """Post `exam`'s new and changed scores as `run` (already claimed, status running)."""
    if exam.course.lms_id is None:
        lifecycle.finish(run.id, RunStatus.FAILED, NO_CANVAS_COURSE.format(course=exam.course.course_id))
        return _reloaded(run)
    tally = Tally()
    try:
        lifecycle.beat(run.id, phase="Creating the Canvas assignment")
        assignment_id = ensure_assignment(client, exam)
        scores = list(exam.scores.select_related("exam_taker").order_by("exam_taker__student_id"))
        lifecycle.beat(run.id, phase="Posting grades", done=0, total=len(scores))
        for done, row in enumerate(scores, start=1):
            _post_one(client, run, exam, assignment_id, row, tally, overwrite_conflicts)
            if not lifecycle.beat(run.id, done=done):
                _save_results(run, tally)
                message = f"Cancelled by an admin after {done} of {len(scores)} people. " + _summary(tally)
                lifecycle.finish(run.id, RunStatus.CANCELLED, message, tally.counts())
                return _reloaded(run)
    except PostAborted as exc:
        _save_results(run, tally)
        lifecycle.finish(run.id, RunStatus.FAILED, exc.message, tally.counts())
        return _reloaded(run)
    _save_results(run, tally)
    status = RunStatus.WITH_ISSUES if tally.conflicts or tally.failed else RunStatus.SUCCEEDED
    lifecycle.finish(run.id, status, _summary(tally), tally.counts())
    return _reloaded(run)


def ensure_assignment(client: CanvasClient, exam: Exam) -> int:
    """The exam's Canvas assignment id: remembered, found by integration id, or created once."""
    if exam.lms_assignment_id:
        return exam.lms_assignment_id
    course_id = _canvas_course_id(exam)
    try:
        # A crash between creating the assignment and remembering its id leaves it in Canvas only.
        existing = next(
            (a for a in client.iter_assignments(course_id) if _is_ours(a, exam)),
            None,
        )
        assignment = existing or client.create_assignment(
            course_id,
            name=exam.title,
            points_possible=_grade_text(exam.points_possible),
            grading_type="points",
            submission_types=["none"],
            published=True,
            integration_id=exam.integration_id,
            description=f"Scores of the exam “{exam.title}”, posted by the exam portal.",
        )
    except (ScopeMissing, TokenInvalid) as exc:
        raise PostAborted(_aborted("find or create the Canvas assignment", exc)) from exc
    except CanvasError as exc:
        raise PostAborted(
            f"Scores were not posted: Canvas did not create the assignment. {exc.message} What to do: {exc.fix}"
        ) from exc
    remember_assignment(exam, assignment)
    return exam.lms_assignment_id  # type: ignore[return-value]


def _canvas_course_id(exam: Exam) -> int:
    """post_scores stops first for a course without a Canvas id, so this raises only if that check moved."""
    if exam.course.lms_id is None:
        raise PostAborted(NO_CANVAS_COURSE.format(course=exam.course.course_id))
    return exam.course.lms_id


def _is_ours(assignment: Assignment, exam: Exam) -> bool:
    return assignment.integration_id == exam.integration_id and assignment.workflow_state != "deleted"


def remember_assignment(exam: Exam, assignment: Assignment) -> None:
    """Saved (committed) at once, before any grade is posted."""
    exam.lms_assignment_id = int(assignment.id)
    exam.lms_assignment_url = assignment.html_url[:500]
    Exam.objects.filter(id=exam.id).update(
        lms_assignment_id=exam.lms_assignment_id, lms_assignment_url=exam.lms_assignment_url
    )


def _post_one(
    client: CanvasClient,
    run: SyncRun,
    exam: Exam,
    assignment_id: int,
    row: ExamScore,
    tally: Tally,
    overwrite: bool,
) -> None:
    person = row.exam_taker
    if not row.needs_posting:
        tally.unchanged += 1
        tally.note(row, "unchanged")
        return
    if person.lms_id is None:
        _fail(run, exam, row, tally, NO_CANVAS_USER.format(person=_label(row)), NO_CANVAS_USER_FIX, code="no_lms_user")
        return
    course_id = _canvas_course_id(exam)
    try:
        submission = client.get_submission(course_id, assignment_id, person.lms_id)
        if _same(submission.score, row.score) and not submission.excused:
            _mark_posted(row, submission.grade, "Canvas already had this grade.")
            tally.unchanged += 1
            tally.note(row, "already in Canvas")
            return
        conflict = _changed_in_canvas(row, submission)
        if conflict and not overwrite:
            _conflict(run, exam, row, tally, conflict)
            return
        was_posted = row.posted_at is not None
        graded = client.grade_submission(course_id, assignment_id, person.lms_id, _grade_text(row.score))
    except (ScopeMissing, TokenInvalid) as exc:
        raise PostAborted(_aborted("post grades", exc)) from exc
    except CanvasError as exc:
        if isinstance(exc, NotFound) and not _assignment_exists(client, exam, assignment_id):
            raise PostAborted(ASSIGNMENT_GONE.format(id=assignment_id)) from exc
        _fail(
            run,
            exam,
            row,
            tally,
            f"Canvas refused the grade for {_label(row)}: {exc.message}",
            exc.fix,
            code="grade_not_posted",
        )
        return
    _mark_posted(row, graded.grade, "Overwrote the grade changed in Canvas." if conflict else "")
    if conflict:
        tally.overwritten += 1
    if was_posted:
        tally.changed += 1
    else:
        tally.posted += 1
    tally.note(row, "overwritten" if conflict else ("updated" if was_posted else "posted"))


def _assignment_exists(client: CanvasClient, exam: Exam, assignment_id: int) -> bool:
    """Tells a deleted assignment (every person would fail) from one person Canvas does not know."""
    try:
        listed = client.iter_assignments(_canvas_course_id(exam))
        return any(a.id == assignment_id for a in listed)
    except CanvasError:
        return True  # cannot tell: report the person's failure as it is


def _changed_in_canvas(row: ExamScore, submission: Submission) -> str:
    """Why Canvas's grade is not ours to replace ("" when it is), in words for the admin."""
    canvas = _canvas_grade_text(submission)
    if row.posted_at is None:
        has_grade = submission.score is not None or submission.excused
        return CONFLICT_UNPOSTED.format(canvas=canvas) if has_grade else ""
    same_score = _same(submission.score, row.posted_score) and not submission.excused
    if same_score and submission.grade == row.lms_grade_seen:
        return ""
    return CONFLICT_MESSAGE.format(canvas=canvas, ours=_grade_text(row.posted_score))


def _mark_posted(row: ExamScore, canvas_grade: str, message: str) -> None:
    row.posted_score = row.score
    row.posted_at = timezone.now()
    row.lms_grade_seen = canvas_grade[:100]
    row.post_status = PostStatus.POSTED
    row.post_message = message
    row.save(update_fields=["posted_score", "posted_at", "lms_grade_seen", "post_status", "post_message"])


def _conflict(run: SyncRun, exam: Exam, row: ExamScore, tally: Tally, message: str) -> None:
    _record(run, exam, row, message, CONFLICT_FIX, code="grade_conflict")
    _set_status(row, PostStatus.CONFLICT, message)
    tally.conflicts += 1
    tally.note(row, "conflict", message)


def _fail(run: SyncRun, exam: Exam, row: ExamScore, tally: Tally, message: str, fix: str, *, code: ReasonCode):
    _record(run, exam, row, message, fix, code=code)
    _set_status(row, PostStatus.FAILED, f"{message} {fix}")
    tally.failed += 1
    tally.note(row, "failed", message)


def _record(run: SyncRun, exam: Exam, row: ExamScore, message: str, fix: str, *, code: ReasonCode) -> None:
    issues.record(
        run.id,
        code,
        message=message,
        fix=fix,
        object_type="person",
        canvas_id=row.exam_taker.lms_id,
        canvas_course_id=exam.course.lms_id,
        label=_label(row)[:255],
    )


def _set_status(row: ExamScore, status: str, message: str) -> None:
    row.post_status = status
    row.post_message = message
    row.save(update_fields=["post_status", "post_message"])


def _save_results(run: SyncRun, tally: Tally) -> None:
    params = {**run.params, "results": tally.results}
    SyncRun.objects.filter(id=run.id).update(params=params)


def _aborted(action: str, exc: CanvasError) -> str:
    if isinstance(exc, ScopeMissing):
        scope = exc.scope or "the scope for this request"
        return (
            f"Scores were not posted: the Canvas developer key does not allow the portal to {action} "
            f"(missing scope {scope}). What to do: {exc.fix}"
        )
    return f"Scores were not posted: {exc.message} What to do: {exc.fix}"


def _summary(tally: Tally) -> str:
    parts = [
        f"{tally.posted} grade(s) posted",
        f"{tally.changed} updated",
        f"{tally.unchanged} unchanged",
    ]
    if tally.overwritten:
        parts.append(f"{tally.overwritten} changed in Canvas and overwritten")
    text = ", ".join(parts) + "."
    if tally.conflicts:
        text += (
            f" {tally.conflicts} grade(s) were changed in Canvas since the last post and were left alone; "
            "to replace them, post again with “Overwrite grades changed in Canvas” ticked."
        )
    if tally.failed:
        text += f" {tally.failed} could not be posted; each is listed below with what to do."
    return text


def _label(row: ExamScore) -> str:
    return f"{row.exam_taker.student_id} {row.exam_taker.full_name}".strip()


def _same(canvas_score: Any, ours: Decimal | None) -> bool:
    if canvas_score is None or ours is None:
        return False
    try:
        return abs(Decimal(str(canvas_score)) - ours) < HALF_CENT
    except InvalidOperation:
        return False


def _grade_text(value: Decimal | None) -> str:
    """13.50 -> "13.5", 10.00 -> "10": the points form of submission[posted_grade]."""
    if value is None:
        return ""
    return format(value.normalize(), "f")


def _canvas_grade_text(submission: Submission) -> str:
    if submission.excused:
        return "excused"
    return submission.grade or str(submission.score)


def _reloaded(run: SyncRun) -> SyncRun:
    run.refresh_from_db()
    return run
