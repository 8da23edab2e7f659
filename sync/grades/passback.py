"""Grade passback: post an exam's scores to Canvas as one assignment's grades, safely re-runnable.

`post_scores(run, exam)` creates the Canvas assignment once, published (found again by its integration
id after a crash), then grades each exam-taker whose score is new or changed. Before a PUT it reads
the submission: a grade someone changed in Canvas since our last post is a conflict, left alone
unless the admin chose to overwrite; a grade Canvas already has is recorded, not posted again. After
a PUT it reads the grade back, since Canvas has answered 200 without saving (sync/grades/person.py).
Grades already posted are read too, so a grade changed in Canvas only is reported, not "unchanged".
A check (`check_only`, “Check against Canvas”) reads every posted grade and writes nothing.
One person's failure is recorded against that person and the others go on.
"""

from __future__ import annotations

from lms_canvas.client import CanvasClient
from lms_canvas.connect import client_for
from lms_canvas.errors import CanvasError, Forbidden, NotFound, ScopeMissing, TokenInvalid
from lms_canvas.models import CanvasConnection
from lms_canvas.objects import Assignment
from portal.models import Exam, ExamScore, PostStatus
from sync.grades import person
from sync.grades.person import Tally, grade_text, label
from sync.models import RunKind, RunStatus, SyncRun
from sync.runs import issues, lifecycle
from sync.runs.reasons import ReasonCode, reason

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
ASSIGNMENT_GONE = (
    "Scores were not posted: the exam's Canvas assignment (id {id}) no longer exists; it was deleted in Canvas. "
    "What to do: if it should come back, restore it in Canvas and post again; to create a new assignment "
    "instead, have support clear the exam's “LMS assignment id” (Support › Exams), then post again."
)
UNPUBLISHED = (
    "Scores were not posted: the exam's Canvas assignment is unpublished, and Canvas takes no grade for an "
    "unpublished assignment (it answered “user not authorized to perform that action”). What to do: in "
    "Canvas, open the course's Assignments, choose Publish beside “{name}”, then post again."
)
UNPUBLISHED_ABOUT = "Assignment “{name}” (Canvas id {id}) in {course}: unpublished in Canvas."
NOTHING_TO_CHECK = "No grade of this exam has been posted yet, so there is nothing to check against Canvas."


class PostAborted(Exception):
    """A failure that concerns every person (scope, token, unpublished assignment), so going on would
    only repeat it; `code` (the reasons registry's) is recorded as the run's issue when given."""

    def __init__(self, message: str, code: ReasonCode = "", about: str = "") -> None:
        self.message = message
        self.code = code
        self.about = about  # what the issue is about, for its row (its reason says why and what to do)
        super().__init__(message)


# --- starting and running (what views, tasks and commands call) ----------------------------------


def start_grade_post(exam: Exam, *, user=None, overwrite_conflicts: bool = False, check_only: bool = False) -> SyncRun:
    """Write the queued run and enqueue its task after commit; raises lifecycle.RunAlreadyActive, or
    lifecycle.QueueUnavailable (the run ended, with why) if the task queue refuses the task.
    `check_only`: “Check against Canvas”, which reads the posted grades and writes nothing."""
    params = {"exam_id": exam.id, "exam": exam.title, "overwrite_conflicts": overwrite_conflicts}
    if check_only:
        params = {"exam_id": exam.id, "exam": exam.title, "check_only": True}
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
    if run.params.get("check_only"):
        return check_scores(run, exam, client_for(conn))
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
        scores = _scores(exam)
        tally.total = len(scores)
        lifecycle.beat(run.id, phase="Posting grades", done=0, total=len(scores))
        for done, row in enumerate(scores, start=1):
            _post_one(client, run, exam, assignment_id, row, tally, overwrite_conflicts)
            if not lifecycle.beat(run.id, done=done):
                return _cancelled(run, tally, done, len(scores))
    except PostAborted as exc:
        return _aborted_run(run, tally, exc)
    _save_results(run, tally)
    status = RunStatus.WITH_ISSUES if tally.conflicts or tally.failed or tally.unchecked else RunStatus.SUCCEEDED
    lifecycle.finish(run.id, status, person.summary(tally), tally.counts())
    return _reloaded(run)


def check_scores(run: SyncRun, exam: Exam, client: CanvasClient) -> SyncRun:
    """“Check against Canvas”: read every posted grade and report each that differs; write nothing."""
    posted = [row for row in _scores(exam) if row.posted_at is not None and row.exam_taker.lms_id is not None]
    if not posted or not exam.lms_assignment_id or exam.course.lms_id is None:
        lifecycle.finish(run.id, RunStatus.SUCCEEDED, NOTHING_TO_CHECK, Tally().counts())
        return _reloaded(run)
    tally = Tally(total=len(posted))
    lifecycle.beat(run.id, phase="Checking grades against Canvas", done=0, total=len(posted))
    try:
        for done, row in enumerate(posted, start=1):
            _check_one(client, run, exam, exam.lms_assignment_id, row, tally)
            if not lifecycle.beat(run.id, done=done):
                return _cancelled(run, tally, done, len(posted))
    except PostAborted as exc:
        return _aborted_run(run, tally, exc)
    _save_results(run, tally)
    status = RunStatus.WITH_ISSUES if tally.conflicts or tally.unchecked else RunStatus.SUCCEEDED
    lifecycle.finish(run.id, status, person.check_summary(tally, len(posted)), tally.counts())
    return _reloaded(run)


def _scores(exam: Exam) -> list[ExamScore]:
    return list(exam.scores.select_related("exam_taker").order_by("exam_taker__student_id"))


def _cancelled(run: SyncRun, tally: Tally, done: int, total: int) -> SyncRun:
    _save_results(run, tally)
    message = f"Cancelled by an admin after {done} of {total} people. " + person.summary(tally)
    lifecycle.finish(run.id, RunStatus.CANCELLED, message, tally.counts())
    return _reloaded(run)


def _aborted_run(run: SyncRun, tally: Tally, exc: PostAborted) -> SyncRun:
    _save_results(run, tally)
    if exc.code:
        issues.record(run.id, exc.code, message=exc.about or exc.message)
    lifecycle.finish(run.id, RunStatus.FAILED, exc.message, tally.counts())
    return _reloaded(run)


def ensure_assignment(client: CanvasClient, exam: Exam) -> int:
    """The exam's Canvas assignment id: remembered, found by integration id, or created once, published
    (Canvas creates an assignment unpublished unless told, and takes no grade for it then)."""
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
            points_possible=grade_text(exam.points_possible),
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


def _course_label(exam: Exam) -> str:
    return f"{exam.course.course_id} {exam.course.name}".strip()


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
    who = row.exam_taker
    if who.lms_id is None:
        if row.needs_posting:
            message = person.NO_CANVAS_USER.format(person=label(row))
            person.fail(run.id, exam, row, tally, message, person.NO_CANVAS_USER_FIX, code="no_lms_user")
        else:
            tally.unchanged += 1
            tally.note(row, "unchanged")
        return
    course_id = _canvas_course_id(exam)
    writing = False
    try:
        submission = client.get_submission(course_id, assignment_id, who.lms_id)
        if row.needs_posting and person.holds(submission, row.score):
            person.mark_posted(row, submission.grade, "Canvas already had this grade.")
            tally.unchanged += 1
            tally.note(row, "already in Canvas", canvas=submission)
            return
        conflict = person.changed_in_canvas(row, submission)
        if not row.needs_posting and not conflict:
            tally.unchanged += 1
            tally.note(row, "unchanged", canvas=submission)
            return
        if conflict and not overwrite:
            person.conflict(run.id, exam, row, tally, conflict, submission)
            return
        was_posted = row.posted_at is not None
        writing = True
        client.grade_submission(course_id, assignment_id, who.lms_id, grade_text(row.score))
    except (ScopeMissing, TokenInvalid) as exc:
        raise PostAborted(_aborted("post grades", exc)) from exc
    except CanvasError as exc:
        if writing or row.needs_posting:
            _refused(client, run, exam, assignment_id, row, tally, exc)
        else:  # only reading a grade already posted failed: it stays posted, unchecked
            _not_checked(client, run, exam, assignment_id, row, tally, exc)
        return
    if _read_back(client, run, exam, course_id, assignment_id, row, tally, "overwritten" if conflict else ""):
        if conflict:
            tally.overwritten += 1
        if was_posted:
            tally.changed += 1
        else:
            tally.posted += 1


def _read_back(client, run, exam, course_id, assignment_id, row: ExamScore, tally: Tally, overwrote: str) -> bool:
    """Read the grade just written; only a grade Canvas holds counts as posted (canvas-lms issue 1434)."""
    try:
        saved = client.get_submission(course_id, assignment_id, row.exam_taker.lms_id)
    except (ScopeMissing, TokenInvalid) as exc:
        raise PostAborted(_aborted("read back the grades it posted", exc)) from exc
    except CanvasError as exc:
        message = person.NOT_READ_BACK.format(ours=grade_text(row.score), person=label(row), error=exc.message)
        person.fail(run.id, exam, row, tally, message, reason("grade_not_saved").fix, code="grade_not_saved")
        return False
    lost = person.not_saved(row, saved)
    if lost:
        person.fail(run.id, exam, row, tally, lost, reason("grade_not_saved").fix, code="grade_not_saved")
        return False
    was_posted = row.posted_at is not None
    person.mark_posted(row, saved.grade, "Overwrote the grade changed in Canvas." if overwrote else "")
    tally.note(row, overwrote or ("updated" if was_posted else "posted"), canvas=saved)
    return True


def _refused(client, run, exam, assignment_id: int, row: ExamScore, tally: Tally, exc: CanvasError) -> None:
    """A grade Canvas refused: the whole post stops when every grade would be (assignment deleted or
    unpublished); otherwise this person's failure is recorded and the others go on."""
    if isinstance(exc, NotFound) and _assignment(client, exam, assignment_id) is None:
        raise PostAborted(ASSIGNMENT_GONE.format(id=assignment_id)) from exc
    if isinstance(exc, Forbidden):
        assignment = _assignment(client, exam, assignment_id)
        if assignment is not None and not assignment.published:
            about = UNPUBLISHED_ABOUT.format(name=assignment.name, id=assignment_id, course=_course_label(exam))
            raise PostAborted(
                UNPUBLISHED.format(name=assignment.name), code="assignment_unpublished", about=about
            ) from exc
    message = f"Canvas refused the grade for {label(row)}: {exc.message}"
    person.fail(run.id, exam, row, tally, message, exc.fix, code="grade_not_posted")


def _check_one(client: CanvasClient, run: SyncRun, exam: Exam, assignment_id: int, row: ExamScore, tally: Tally):
    try:
        submission = client.get_submission(_canvas_course_id(exam), assignment_id, row.exam_taker.lms_id)  # type: ignore[arg-type]
    except (ScopeMissing, TokenInvalid) as exc:
        raise PostAborted(
            _aborted("read the grades in Canvas", exc).replace("Scores were not posted", "Not checked")
        ) from exc
    except CanvasError as exc:
        _not_checked(client, run, exam, assignment_id, row, tally, exc)
        return
    differs = person.changed_in_canvas(row, submission)
    if differs:
        person.conflict(run.id, exam, row, tally, differs, submission)
        tally.results[-1]["result"] = "differs"
        return
    if row.post_status == PostStatus.CONFLICT:
        person.set_status(row, PostStatus.POSTED, "Canvas holds the posted grade again.")
    tally.unchanged += 1
    tally.note(row, "matches", canvas=submission)


def _not_checked(client, run, exam, assignment_id: int, row: ExamScore, tally: Tally, exc: CanvasError) -> None:
    """Reading a posted grade failed: it is reported, and the row keeps its status (nothing was written)."""
    if isinstance(exc, NotFound) and _assignment(client, exam, assignment_id) is None:
        raise PostAborted(ASSIGNMENT_GONE.format(id=assignment_id)) from exc
    message = f"Canvas did not show the grade of {label(row)}, so it was not checked: {exc.message}"
    person.record(run.id, exam, row, message, exc.fix, code="grade_not_checked")
    tally.unchecked += 1
    tally.note(row, "not checked", message)


def _assignment(client: CanvasClient, exam: Exam, assignment_id: int) -> Assignment | None:
    """The exam's assignment as Canvas lists it now; None when it is gone. If Canvas cannot say,
    an assignment that is there and published, so the person's own failure is reported as it is."""
    try:
        return next((a for a in client.iter_assignments(_canvas_course_id(exam)) if a.id == assignment_id), None)
    except CanvasError:
        return Assignment(assignment_id, "", "", "published", "")


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


def _reloaded(run: SyncRun) -> SyncRun:
    run.refresh_from_db()
    return run
