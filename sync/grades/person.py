"""One exam-taker's grade in Canvas: post it and read it back, or check it against what was posted.

Canvas has answered a submission PUT with 200 without saving the grade (canvas-lms issue 1434), and a
teacher can change a grade in Canvas at any time, so the portal never trusts its own record of what
Canvas holds: every write is read back, and every posted grade is read again by the next post and by
“Check against Canvas”. The comparison is by score in points (Canvas's `grade` text also changes with
the grading type) plus the grade text Canvas showed after our last post.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone

from lms_canvas.objects import Submission
from portal.models import Exam, ExamScore, PostStatus
from sync.runs import issues
from sync.runs.reasons import ReasonCode

HALF_CENT = Decimal("0.005")

CONFLICT_MESSAGE = (
    "The grade in Canvas ({canvas}) was changed there since the portal last posted ({ours}); it was left alone."
)
CONFLICT_UNPOSTED = "Canvas already has a grade ({canvas}) that the portal did not post; it was left alone."
CONFLICT_FIX = (
    "Check with the course's teacher which grade is right. To replace Canvas's grade with the portal's, "
    "post again with “Overwrite grades changed in Canvas” ticked."
)
NOT_SAVED = (
    "Canvas answered that it saved {ours} for {person}, but reading the grade back shows {canvas}: "
    "Canvas did not save it."
)
NOT_READ_BACK = (
    "Canvas took the grade {ours} for {person}, but reading it back to confirm failed ({error}), so it is "
    "not counted as posted."
)
NO_CANVAS_USER = "{person} has no Canvas user id, so the portal cannot find their submission."
NO_CANVAS_USER_FIX = "Sync the course from Canvas so the exam-taker is matched to their Canvas user, then post again."


@dataclass
class Tally:
    """Counts (the history's names) and the per-person results of one post or check."""

    posted: int = 0
    changed: int = 0
    unchanged: int = 0
    conflicts: int = 0
    overwritten: int = 0
    failed: int = 0
    unchecked: int = 0  # posted grades Canvas would not show: reported, left as they were
    total: int = 0  # grades the post (or check) set out to send (or read); the rest were not reached
    results: list[dict[str, Any]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "created": self.posted,
            "updated": self.changed,
            "deactivated": 0,
            "unchanged": self.unchanged,
            "skipped": self.conflicts + self.failed + self.unchecked,
            "held": 0,
            "conflicts": self.conflicts,
            "overwritten": self.overwritten,
            "failed": self.failed,
            "unchecked": self.unchecked,
            "total": self.total,
        }

    def note(self, row: ExamScore, result: str, message: str = "", canvas: Submission | None = None) -> None:
        self.results.append(
            {
                "student_id": row.exam_taker.student_id,
                "name": row.exam_taker.full_name,
                "score": grade_text(row.score),
                "posted": grade_text(row.posted_score),
                "canvas": canvas_grade_text(canvas) if canvas is not None else "",
                "result": result,
                "message": message,
            }
        )


def summary(tally: Tally) -> str:
    """A post's message: what was posted, and each kind of problem with what to do."""
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
    if tally.unchecked:
        text += f" {tally.unchecked} posted grade(s) could not be checked against Canvas; see the issues below."
    return text


def check_summary(tally: Tally, checked: int) -> str:
    """A check's message (“Check against Canvas”)."""
    text = f"Checked {checked} posted grade{'s' if checked != 1 else ''} against Canvas: "
    if not tally.conflicts and not tally.unchecked:
        return text + (f"all {checked} match" if checked != 1 else "it matches") + " what the portal posted."
    parts = []
    if tally.conflicts:
        verb = "differs" if tally.conflicts == 1 else "differ"
        parts.append(f"{tally.conflicts} {verb} from what the portal posted (listed below with what to do)")
    if tally.unchecked:
        parts.append(f"{tally.unchecked} could not be read (see the issues below)")
    parts.append(f"{tally.unchanged} {'matches' if tally.unchanged == 1 else 'match'}")
    return text + "; ".join(parts) + "."


def counts_text(counts: dict[str, int], *, check_only: bool) -> str:
    """A grade post's counts (Tally.counts) in its words, not a sync's: "2 posted · 0 updated · 0 unchanged
    · 1 not posted · 0 changed in Canvas"; a check's "3 checked: 2 match · 1 differs · 0 could not be read".
    A run from before `unchecked` and `total` were kept counts the former in `skipped` only."""
    n = {name: int(counts.get(name) or 0) for name in ("created", "updated", "unchanged", "conflicts", "failed")}
    unchecked = int(counts.get("unchecked") or 0)
    # Grades a post or check stopped before (a run-wide failure, a cancel): none when `total` is unknown.
    reached = sum(n.values()) + unchecked
    rest = max(int(counts.get("total") or 0) - reached, 0)
    if check_only:
        checked = n["unchanged"] + n["conflicts"] + unchecked
        differ = "differs" if n["conflicts"] == 1 else "differ"
        text = f"{checked} checked: {n['unchanged']} match · {n['conflicts']} {differ} · {unchecked} could not be read"
        return text + (f" · {rest} not read: the check stopped" if rest else "")
    parts = [
        f"{n['created']} posted",
        f"{n['updated']} updated",
        f"{n['unchanged']} unchanged",
        f"{n['failed']} not posted",
        f"{n['conflicts']} changed in Canvas",
    ]
    if counts.get("overwritten"):
        parts.append(f"{counts['overwritten']} overwritten")
    if unchecked:
        parts.append(f"{unchecked} could not be read")
    if rest:
        parts.append(f"{rest} not sent: the post stopped")
    return " · ".join(parts)


# --- what the admin reads -----------------------------------------------------------------------


def label(row: ExamScore) -> str:
    return f"{row.exam_taker.student_id} {row.exam_taker.full_name}".strip()


def grade_text(value: Decimal | None) -> str:
    """13.50 -> "13.5", 10.00 -> "10": the points form of submission[posted_grade]."""
    if value is None:
        return ""
    return format(value.normalize(), "f")


def canvas_grade_text(submission: Submission) -> str:
    if submission.excused:
        return "excused"
    if submission.score is None and not submission.grade:
        return "none"
    return submission.grade or str(submission.score)


# --- comparing with Canvas ---------------------------------------------------------------------


def same(canvas_score: Any, ours: Decimal | None) -> bool:
    if canvas_score is None or ours is None:
        return False
    try:
        return abs(Decimal(str(canvas_score)) - ours) < HALF_CENT
    except InvalidOperation:
        return False


def holds(submission: Submission, score: Decimal | None) -> bool:
    """Canvas holds exactly this score (not excused)."""
    return same(submission.score, score) and not submission.excused


def changed_in_canvas(row: ExamScore, submission: Submission) -> str:
    """Why Canvas's grade is not ours to replace ("" when it is), in words for the admin."""
    canvas = canvas_grade_text(submission)
    if row.posted_at is None:
        has_grade = submission.score is not None or submission.excused
        return CONFLICT_UNPOSTED.format(canvas=canvas) if has_grade else ""
    if holds(submission, row.posted_score) and submission.grade == row.lms_grade_seen:
        return ""
    return CONFLICT_MESSAGE.format(canvas=canvas, ours=grade_text(row.posted_score))


def not_saved(row: ExamScore, saved: Submission) -> str:
    """The lost write: "" when Canvas holds the score just posted."""
    if holds(saved, row.score):
        return ""
    return NOT_SAVED.format(ours=grade_text(row.score), person=label(row), canvas=canvas_grade_text(saved))


# --- recording the outcome ---------------------------------------------------------------------


def mark_posted(row: ExamScore, canvas_grade: str, message: str) -> None:
    row.posted_score = row.score
    row.posted_at = timezone.now()
    row.lms_grade_seen = canvas_grade[:100]
    row.post_status = PostStatus.POSTED
    row.post_message = message
    row.save(update_fields=["posted_score", "posted_at", "lms_grade_seen", "post_status", "post_message"])


def conflict(run_id: int, exam: Exam, row: ExamScore, tally: Tally, message: str, submission: Submission) -> None:
    record(run_id, exam, row, message, CONFLICT_FIX, code="grade_conflict")
    set_status(row, PostStatus.CONFLICT, message)
    tally.conflicts += 1
    tally.note(row, "conflict", message, submission)


def fail(run_id: int, exam: Exam, row: ExamScore, tally: Tally, message: str, fix: str, *, code: ReasonCode) -> None:
    record(run_id, exam, row, message, fix, code=code)
    set_status(row, PostStatus.FAILED, f"{message} {fix}")
    tally.failed += 1
    tally.note(row, "failed", message)


def record(run_id: int, exam: Exam, row: ExamScore, message: str, fix: str, *, code: ReasonCode) -> None:
    issues.record(
        run_id,
        code,
        message=message,
        fix=fix,
        object_type="person",
        canvas_id=row.exam_taker.lms_id,
        canvas_course_id=exam.course.lms_id,
        label=label(row)[:255],
    )


def set_status(row: ExamScore, status: str, message: str) -> None:
    row.post_status = status
    row.post_message = message
    row.save(update_fields=["post_status", "post_message"])
