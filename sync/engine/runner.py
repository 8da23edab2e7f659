"""A sync run: write it and one `SyncCourseResult` per current entry, send its batches to the
workers (dispatch.py, batch.py), record each course's outcome, and end the run with what happened
once no course is open, whichever batch finishes last. A failing course never stops the others.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Collection

from django.db import transaction
from django.db.models import F, Q
from django.template.defaultfilters import pluralize
from django.utils import timezone

from lms_canvas.connect import client_for
from lms_canvas.errors import CanvasError, ScopeMissing, TokenInvalid
from lms_canvas.models import CanvasConfig, CanvasConnection
from portal.dates import date_text
from portal.models import Institution
from sync.audit import trail
from sync.engine.apply import ApplyOutcome, apply_plan, compute_changes, preview_details
from sync.engine.dispatch import assign_batches, send_first
from sync.engine.guard import would_hold
from sync.engine.plan import CoursePlan, Exclusion, IncludesOff, SisHidden, plan_entry
from sync.models import (
    ACTIVE_STATUSES,
    COUNT_NAMES,
    OPEN_RESULT_STATUSES,
    CourseResultStatus,
    RunKind,
    RunStatus,
    RunTrigger,
    SyncCourseResult,
    SyncIssue,
    SyncListEntry,
    SyncRun,
)
from sync.runs import canvas_view, issues, lifecycle
from sync.runs.problems import open_after
from sync.runs.reasons import ReasonCode, reason

logger = logging.getLogger(__name__)

# The issue code of a token or scope refused mid-run; once recorded, the run stops and fails.
ACCESS_LOST: ReasonCode = "canvas_access_lost"
SERIOUS = ("error", "warning")
INTERNAL_ERROR = "The portal hit an unexpected error syncing this course; nothing in it was changed."
# A course's own words for the run-level reasons that stop it (the issue says the rest).
SHORT = {
    "includes_off": "Canvas left out the emails the Student ID Type needs (Allow Include Parameters is off).",
    "sis_hidden": "Canvas hides the SIS IDs or logins the ID types need from the user who authorized the portal.",
}


def start_sync(
    institution: Institution,
    *,
    trigger: RunTrigger = RunTrigger.ADMIN,
    user=None,
    preview: bool = False,
    enqueue: bool = True,
    courses: Collection[int] | None = None,
) -> SyncRun:
    """Write the run and its per-course results; raises lifecycle.RunAlreadyActive if one is running, and
    lifecycle.QueueUnavailable (the run ended, with why) if the task queue refuses its tasks.

    `courses` (Canvas course ids) limits the run to those sync-list entries: instant sync's refetch."""
    params: dict = {"preview": preview} if courses is None else {"preview": preview, "courses": sorted(courses)}
    run = lifecycle.create_run(institution, RunKind.SYNC, trigger=trigger, user=user, params=params)
    conn = CanvasConnection.objects.filter(institution=institution).first()
    if conn is None or not conn.is_verified:
        status = conn.get_status_display() if conn else "Not configured"
        issues.record(run.id, "connection_not_verified", detail=f"Connection status: {status}.")
        lifecycle.end(
            run,
            RunStatus.SKIPPED,
            f"Not started: the Canvas connection is not Verified ({status}). " + reason("connection_not_verified").fix,
        )
        return run
    today = today_for(institution)
    listed = SyncListEntry.objects.filter(institution=institution).select_related("course", "section")
    if courses is not None:
        listed = listed.filter(course__canvas_id__in=list(courses))
    entries = [e for e in listed if e.is_current(today)]
    ended = [e for e in listed if not e.is_current(today)]
    if courses is None and not preview:
        # A full sync reads the whole sync list: an ended entry is one open item across nights, and the
        # problems of courses no longer listed are resolved.
        issues.track_sync_list(
            run,
            [_scope(e) for e in entries],
            [(_scope(e), e.label, f"It ended on {date_text(e.end_date)}.") for e in ended],
        )
    else:
        for e in ended:
            issues.record(
                run.id,
                "entry_ended",
                object_type="course",
                canvas_id=e.course.canvas_id,
                canvas_course_id=e.course.canvas_id,
                label=e.label,
                detail=f"It ended on {date_text(e.end_date)}.",
            )
    if not entries:
        issues.record(run.id, "sync_list_empty")
        lifecycle.end(run, RunStatus.WITH_ISSUES, "Nothing to sync. " + reason("sync_list_empty").fix)
        return run
    numbers = assign_batches([e.course.canvas_id for e in entries])
    SyncCourseResult.objects.bulk_create(
        SyncCourseResult(
            run=run,
            entry=e,
            canvas_course_id=e.course.canvas_id,
            canvas_section_id=e.section.canvas_id if e.section is not None else None,
            label=e.label[:255],
            batch=number,
        )
        for e, number in zip(entries, numbers, strict=True)
    )
    batches = max(numbers)
    SyncRun.objects.filter(id=run.id).update(total=len(entries), batch_count=batches, phase="Syncing courses")
    run.total, run.batch_count = len(entries), batches
    if enqueue:
        lifecycle.enqueue_on_commit(run, lambda: send_first(run.id))
    return run


def _scope(entry: SyncListEntry) -> issues.Scope:
    return (entry.course.canvas_id, entry.section.canvas_id if entry.section is not None else None)


def record_failure(result: SyncCourseResult, run: SyncRun, exc: Exception) -> None:
    """A course that could not be synced: its issue and result; nothing in it was changed."""

    def record(code: ReasonCode, message: str = "", fix: str = "") -> None:
        canvas_id = result.canvas_course_id
        issues.record(
            run.id,
            code,
            object_type="course",
            canvas_id=canvas_id,
            canvas_course_id=canvas_id,
            label=result.label,
            message=message,
            fix=fix,
        )

    if isinstance(exc, TokenInvalid | ScopeMissing):
        # Canvas refused the token or a scope: every other course would fail the same way.
        record(ACCESS_LOST, exc.message, exc.fix)
        close(result, CourseResultStatus.FAILED, f"{exc.message} What to do: {exc.fix}")
    elif isinstance(exc, CanvasError):
        record("canvas_error", exc.message, exc.fix)
        close(result, CourseResultStatus.FAILED, f"{exc.message} What to do: {exc.fix}")
    elif isinstance(exc, IncludesOff | SisHidden):
        # One run-level issue says why and what to do (canvas_view), not one per course or person.
        code = "includes_off" if isinstance(exc, IncludesOff) else "sis_hidden"
        issues.record_once(run.id, code)
        close(
            result,
            CourseResultStatus.FAILED,
            f"Not synced, nothing changed: {SHORT[code]} What to do: see “{reason(code).title}” under Issues.",
        )
    else:  # a bug: the log has it (and Sentry); the page says what it means, never the exception's name
        logger.error("Sync of %s in run %s failed", result.label, run.id, exc_info=exc)
        record("internal_error")
        close(result, CourseResultStatus.FAILED, f"{INTERNAL_ERROR} What to do: {reason('internal_error').fix}")


def record_outcome(result: SyncCourseResult, run: SyncRun, plan: CoursePlan, outcome: ApplyOutcome) -> None:
    """Issues and the course's result for what apply did (applied, held or blocked)."""
    record_outcomes(run, [(result, plan, outcome)])


def record_outcomes(run: SyncRun, applied: list[tuple[SyncCourseResult, CoursePlan, ApplyOutcome]]) -> None:
    """`record_outcome` for a group of courses applied together: their problems reconciled in a few
    statements (issues.track_courses) and their results written in one."""
    found: dict[issues.Scope, list] = {}
    for result, plan, outcome in applied:
        scope = (result.canvas_course_id, result.canvas_section_id)
        found[scope] = list(outcome.exclusions)
        if outcome.status == "held":
            held = Exclusion("roster_shrink_held", "course", plan.canvas_course_id, plan.label, _held(outcome))
            found[scope].insert(0, held)
    issues.track_courses(run, found)
    now = timezone.now()
    for result, plan, outcome in applied:
        result.counts, result.finished_at = outcome.counts, now
        if outcome.status == "held":
            result.details = preview_details(plan, outcome.changes) | {"would_hold": True}
            result.status = CourseResultStatus.HELD
            result.message = _held(outcome) + " Nothing was changed; Approve to apply it."
        elif outcome.status == "blocked":
            blocked = outcome.exclusions[0]
            text = reason(blocked.code).sentence + (" " + blocked.detail if blocked.detail else "")
            result.status, result.message = CourseResultStatus.SKIPPED, f"{text} What to do: {reason(blocked.code).fix}"
        else:
            result.status, result.message = CourseResultStatus.APPLIED, ""
    # Most courses of a group end alike (applied, no message): one UPDATE per distinct outcome, and
    # bulk_update only for the counts. bulk_update of all five fields built a CASE with a WHEN per
    # course per field: 13% of a worker's Python time in a no-change re-sync (py-spy --gil), a third
    # of its writing side.
    alike: dict[tuple, tuple[dict, list[int]]] = {}
    for result, _, _ in applied:
        key = (result.status, result.message, json.dumps(result.details, sort_keys=True))
        alike.setdefault(key, (result.details, []))[1].append(result.id)
    for (status, message, _), (details, ids) in alike.items():
        SyncCourseResult.objects.filter(id__in=ids).update(
            status=status, message=message, details=details, finished_at=now
        )
    SyncCourseResult.objects.bulk_update([result for result, _, _ in applied], ["counts"])


def _held(outcome: ApplyOutcome) -> str:
    changes = outcome.changes
    return (
        f"This sync would leave {changes.active_after} of {changes.active_before} exam-takers active "
        f"({changes.active_before - changes.active_after} deactivated)."
    )


def preview(result: SyncCourseResult, run: SyncRun, plan: CoursePlan) -> None:
    changes = compute_changes(plan, run.institution)
    details = preview_details(plan, changes)
    details["would_hold"] = not changes.blocked and would_hold(changes, run.institution)
    result.details = details
    totals = details["totals"]
    counts = {
        "created": totals["added"],
        "updated": totals["relabelled"],
        "deactivated": totals["deactivated"],
        "unchanged": changes.unchanged,
        "skipped": totals["skipped"],
        "held": 0,
    }
    close(result, CourseResultStatus.PREVIEWED, "Preview only: nothing was written.", counts)


def approve_held(result: SyncCourseResult, user=None) -> SyncCourseResult:
    """Apply a held course as Canvas has it now, past the roster guard (the admin has checked it)."""
    if not SyncCourseResult.objects.filter(id=result.id, status=CourseResultStatus.HELD).update(
        status=CourseResultStatus.RUNNING, claimed_at=timezone.now()
    ):
        result.refresh_from_db()
        return result
    run = result.run
    try:
        if result.entry is None:
            raise CanvasError("The course was removed from the sync list after it was held.", fix="Nothing to do.")
        conn = CanvasConnection.objects.get(institution=run.institution)
        plan = plan_entry(
            client_for(conn),
            CanvasConfig.objects.get(institution=run.institution),
            result.entry,
            account_id=conn.account_ref,
            server_url=conn.server_url,
        )
        outcome = apply_plan(plan, run.institution, hold=False)
    except (CanvasError, IncludesOff, SisHidden) as exc:
        message = getattr(exc, "message", "") or SHORT["sis_hidden" if isinstance(exc, SisHidden) else "includes_off"]
        SyncCourseResult.objects.filter(id=result.id).update(
            status=CourseResultStatus.HELD, message=f"Approve failed: {message} Nothing was changed."
        )
        result.refresh_from_db()
        return result
    old_counts = result.counts or {}
    close(result, CourseResultStatus.APPROVED, f"Approved by {user or 'support'} and applied.", outcome.counts, user)
    issues.resolve(run, result.canvas_course_id, result.canvas_section_id, "roster_shrink_held")
    trail.held_course_approved(result, user, outcome.counts)
    with transaction.atomic():
        locked = SyncRun.objects.select_for_update().get(id=run.id)
        locked.counts = {
            k: locked.counts.get(k, 0) - old_counts.get(k, 0) + outcome.counts.get(k, 0) for k in COUNT_NAMES
        }
        # Its summary said "1 held for approval" after the approval too; said again from the results now.
        statuses = list(SyncCourseResult.objects.filter(run_id=run.id).values_list("status", flat=True))
        _, locked.message = _outcome(
            locked, statuses + [CourseResultStatus.APPLIED] * locked.quiet_courses, locked.counts
        )
        locked.save(update_fields=["counts", "message"])
    result.refresh_from_db()
    return result


def close(result: SyncCourseResult, status: str, message: str, counts: dict | None = None, approver=None) -> None:
    fields = {"status": status, "message": message, "finished_at": timezone.now(), "details": result.details}
    if counts is not None:
        fields["counts"] = counts
    if approver is not None:
        fields["approved_by"] = approver
    SyncCourseResult.objects.filter(id=result.id).update(**fields)


def finalize_run(run_id: int) -> bool:
    """End the run once no course is open; whichever task gets here last does it, exactly once."""
    if SyncCourseResult.objects.filter(run_id=run_id, status__in=OPEN_RESULT_STATUSES).exists():
        return False
    run = SyncRun.objects.get(id=run_id)
    if run.status not in ACTIVE_STATUSES:
        return False
    results = list(SyncCourseResult.objects.filter(run_id=run_id).values_list("status", "counts"))
    counts = {name: sum((c or {}).get(name, 0) for _, c in results) for name in COUNT_NAMES}
    statuses = [s for s, _ in results]
    status, message = _outcome(run, statuses, counts)
    # Before it ends, from the results read above: whoever sees the run ended sees it folded.
    fold_quiet_results(run)
    return lifecycle.end(run, status, message, counts)


def fold_quiet_results(run: SyncRun) -> int:
    """Once every course of a sync is done, fold the results of the courses it synced with nothing to
    change and no new or resolved problem into `run.quiet_courses`: the run's page says "2,950 synced
    with nothing to change" instead of 2,950 rows, and a night grows the history by what changed. What stays true:
    the run's counts were summed before; the problems it still found are counted first
    (`problems_still_open`) and stay on Open problems; every course that changed or whose problems
    changed keeps its row. Until then every course keeps its row: the reaper, a redelivered batch and
    progress read them. Two batches finishing together may both get here: the run's row lock lets one
    fold, and the other finds it folded (`problems_still_open` set).

    Not for previews (each course's preview is what the admin reads) nor instant syncs (a few courses,
    each a change, named in View History)."""
    if run.params.get("preview") or "courses" in run.params:
        return 0
    nothing = {f"counts__{name}": 0 for name in ("created", "updated", "deactivated", "held")}
    quiet = SyncCourseResult.objects.filter(run_id=run.id, status=CourseResultStatus.APPLIED, message="", **nothing)
    changed_problems = SyncIssue.objects.filter(
        Q(run_id=run.id) | Q(resolved_run_id=run.id),
        canvas_course_id__isnull=False,  # NOT IN (..., NULL) would match nothing
    ).values("canvas_course_id")
    with transaction.atomic():
        locked = SyncRun.objects.select_for_update().only("problems_still_open").get(id=run.id)
        if locked.problems_still_open is not None:
            return 0
        still_open = open_after(run).exclude(run_id=run.id).count()
        folded, _ = quiet.exclude(canvas_course_id__in=changed_problems).delete()
        if folded:
            _rewrite_densely(run)
        SyncRun.objects.filter(id=run.id).update(
            quiet_courses=F("quiet_courses") + folded, problems_still_open=still_open
        )
    run.quiet_courses += folded
    run.problems_still_open = still_open
    return folded


def _rewrite_densely(run: SyncRun) -> None:
    """Write the results a fold kept again, as new rows, and delete the old ones. Every course of a
    night had a row (the work queue), and the few kept were spread over all of the table's and its
    indexes' pages, so no page the night used became empty and none could be reused: the table grew by
    the whole night, about 600 kB for 3,000 courses, not by what changed. Once all the night's old rows
    are gone, the next VACUUM (autovacuum in production) frees every page they used for the next night.
    Held results keep their rows: the page's Approve button names them by id."""
    kept = list(SyncCourseResult.objects.filter(run_id=run.id).exclude(status=CourseResultStatus.HELD))
    if not kept:
        return
    SyncCourseResult.objects.filter(id__in=[result.id for result in kept]).delete()
    for result in kept:
        result.pk = None
    SyncCourseResult.objects.bulk_create(kept)


def _outcome(run: SyncRun, statuses: list[str], counts: dict) -> tuple[RunStatus, str]:
    n, failed = len(statuses), statuses.count(CourseResultStatus.FAILED)
    held, skipped = statuses.count(CourseResultStatus.HELD), statuses.count(CourseResultStatus.SKIPPED)
    if run.cancel_requested:
        return RunStatus.CANCELLED, f"Cancelled by an admin after {n - statuses.count('cancelled')} of {n} courses."
    tally = ", ".join(f"{counts[k]} {k}" for k in COUNT_NAMES if k != "held" or counts[k])
    lost = access_lost(run.id)
    if lost:
        done = statuses.count(CourseResultStatus.APPLIED)
        # "0 of 5 courses were synced before" read as if they had been synced once (the guide's walk).
        kept = "the portal keeps what earlier syncs wrote"
        synced = (
            f"None of the {n} course{pluralize(n)} was synced and nothing in the portal changed ({kept})"
            if not done
            else f"{done} of {n} course{pluralize(n)} {'was' if done == 1 else 'were'} synced before it stopped; "
            f"the other {n - done} {'was' if n - done == 1 else 'were'} not changed ({kept})"
        )
        return (
            RunStatus.FAILED,
            f"Sync stopped: Canvas access was lost. {lost.message} {synced}. What to do: {lost.fix}",
        )
    if run.params.get("preview"):
        return RunStatus.SUCCEEDED, f"Preview of {n} course{pluralize(n)}: {tally}. Nothing was written; Apply to sync."
    if failed == n:
        if canvas_view.found(run.id):  # the run-level reason is why: say it first
            return RunStatus.FAILED, f"No course could be synced ({n} failed).{canvas_view.summary(run.id)}"
        return (
            RunStatus.FAILED,
            f"No course could be synced: all {n} failed. Each course says what Canvas answered and what to do.",
        )
    problems = []
    if failed:
        problems.append(f"{failed} failed")
    if held:
        problems.append(f"{held} held for approval")
    if skipped:
        problems.append(f"{skipped} not synced")
    # The run's own issues, and the problems still open in the courses it synced (recorded by earlier runs).
    serious = run.issues.filter(severity__in=SERIOUS).exists() or open_after(run).filter(severity__in=SERIOUS).exists()
    text = f"Synced {n - failed - held - skipped} of {n} course{pluralize(n)}: {tally}."
    if problems:
        text += " " + ", ".join(problems).capitalize() + "; see the courses below."
    text += canvas_view.summary(run.id)
    if problems or serious:
        return RunStatus.WITH_ISSUES, text + (
            " Some people were not synced; each issue says why and what to do." if serious else ""
        )
    return RunStatus.SUCCEEDED, text


def access_lost(run_id: int) -> SyncIssue | None:
    return SyncIssue.objects.filter(run_id=run_id, code=ACCESS_LOST).order_by("id").first()


def today_for(institution: Institution) -> dt.date:
    return timezone.localtime(timezone.now(), institution.tz).date()
