"""Refresh Courses: stream the account's courses, then every course's sections, into the catalogue.

Course pages are fetched many at a time (sync.catalog.listing) and land in bulk as they arrive
(searchable at once), then sections are fetched many at a time, with the courses' student counts
read between them (sync.catalog.sections); the token's throttle gate (lms_canvas.gates, shared by
every worker) decides how many requests are in flight. A full refresh marks gone what Canvas no
longer lists; it never deletes a catalogue row. Last, the sub-accounts' names are read
(sync.catalog.accounts). Every failure ends the run with what happened and what to do, and what was
already saved is kept.
"""

from __future__ import annotations

import datetime as dt
from contextlib import closing

from django.utils import timezone

from lms_canvas.client import CanvasClient
from lms_canvas.connect import client_for
from lms_canvas.errors import CanvasError, NotFound, ScopeMissing, TokenInvalid
from lms_canvas.gates import gate_for
from lms_canvas.models import CanvasConnection
from portal.models import Institution
from sync.catalog import accounts, writes
from sync.catalog.listing import PER_PAGE, CourseListing, RefreshAborted, batched
from sync.catalog.progress import Progress, RefreshCancelled
from sync.catalog.sections import fetch_all_sections
from sync.catalog.writes import BATCH_SIZE
from sync.models import (
    CatalogCourse,
    CatalogSection,
    RunKind,
    RunStatus,
    RunTrigger,
    SyncRun,
)
from sync.runs import canvas_view, lifecycle

# The student counts are not asked for here (sync.catalog.sections reads them): see COUNT_INCLUDES there.
LISTING_INCLUDES = ("term",)
# Course pages are written BATCH_SIZE rows at a time (a tenth of the statements, a third of the time
# of a write per page at 100,000 courses), or as soon as a page comes in this long after the last write,
# so the first courses are searchable within a second whatever Canvas's pace.
FLUSH_EVERY_S = 1.0
PHASE_COURSES = "Fetching courses"
PHASE_GONE = "Marking courses no longer in Canvas"


# --- starting and running (what views, tasks, commands and admin actions call) -------------------

NOT_CONNECTED = (
    "Refresh could not start: the Canvas connection is not Verified. "
    "What to do: open LMS Settings and choose Generate Key (or save a working access token), then refresh."
)
INTERNAL_ERROR = (
    "The refresh stopped on an internal error (recorded for support). What was fetched is kept; "
    "nothing was marked gone. What to do: try again; if it happens again, contact support."
)


def start_refresh(institution: Institution, *, user=None, trigger: RunTrigger = RunTrigger.ADMIN) -> SyncRun:
    """Write the queued run and enqueue the task after commit; raises lifecycle.RunAlreadyActive, or
    lifecycle.QueueUnavailable (the run ended, with why) if the task queue refuses the task."""
    task = lifecycle.task_named("sync.tasks.refresh_catalog_task")
    return lifecycle.start(institution, RunKind.REFRESH, task, trigger=trigger, user=user)


def run_refresh(run_id: int) -> SyncRun | None:
    """The task's body: claim the run and refresh; a task delivered twice does nothing the second time."""
    return lifecycle.run_claimed(
        run_id, lambda conn, run: refresh_catalog(conn, run), not_connected=NOT_CONNECTED, internal_error=INTERNAL_ERROR
    )


def start_course_refresh(
    institution: Institution, canvas_id_or_sis: str, *, user=None, trigger: RunTrigger = RunTrigger.ADMIN
) -> SyncRun:
    """The FAQ's specific course refresh, in a worker like every run: write it, enqueue it on commit."""
    task = lifecycle.task_named("sync.tasks.refresh_course_task")
    params = {"course": canvas_id_or_sis}
    return lifecycle.start(institution, RunKind.COURSE_REFRESH, task, trigger=trigger, user=user, params=params)


def run_course_refresh(run_id: int) -> SyncRun | None:
    """The task's body: claim the run and refresh the one course."""
    return lifecycle.run_claimed(
        run_id,
        lambda conn, run: refresh_one_course(conn, run, run.params.get("course", "")),
        not_connected=NOT_CONNECTED,
        internal_error=INTERNAL_ERROR,
    )


# --- the full refresh -------------------------------------------------------------------------


def refresh_catalog(conn: CanvasConnection, run: SyncRun, client: CanvasClient | None = None) -> SyncRun:
    """Refresh the institution's whole catalogue as `run` (already claimed, status running)."""
    client = client or client_for(conn, throttle=gate_for(conn.id))
    progress = Progress(run.id)
    started = timezone.now()
    before = _catalog_size(conn.institution_id)
    try:
        progress.beat(phase=PHASE_COURSES, done=0, total=None, force=True)
        listing = _fetch_courses(conn, client, progress, started)
        writes.prepare_for_search()
        _set_params(run.id, sections_started_at=timezone.now().isoformat(), courses_fetched=progress.courses)
        fetch_all_sections(conn, client, progress, started, listing.pages)
        progress.beat(phase=PHASE_GONE, force=True)
        progress.gone = writes.mark_gone(conn.institution_id, started)
        progress.created = _catalog_size(conn.institution_id) - before
        # Labels only: one request per sub-account whose name is unknown or stale; never fails the run.
        accounts.refresh_account_names(conn.institution_id, client, timezone.now())
    except RefreshCancelled:
        message = (
            f"Cancelled by an admin after {progress.courses} courses and {progress.sections} sections. "
            "What was fetched is kept; nothing was marked gone. What to do: choose Refresh Courses to finish it."
        )
        lifecycle.finish(run.id, RunStatus.CANCELLED, message, progress.counts())
        return _reloaded(run)
    except RefreshAborted as exc:
        lifecycle.finish(run.id, RunStatus.FAILED, failure_message(exc.error, progress), progress.counts())
        return _reloaded(run)
    issues = writes.report_gone_sync_entries(conn.institution_id, run.id, started)
    gaps = _note_gaps(conn, run, client, progress)
    failed = progress.failed_courses or progress.failed_count_pages
    status = RunStatus.WITH_ISSUES if issues or failed or gaps else RunStatus.SUCCEEDED
    lifecycle.finish(run.id, status, summary(progress, issues) + gaps, progress.counts())
    return _reloaded(run)


def _note_gaps(conn: CanvasConnection, run: SyncRun, client: CanvasClient, progress: Progress) -> str:
    """What Canvas left out in silence (includes off, SIS ids hidden), as run-level issues and on
    LMS Settings; returns the words for the run's message ("" when nothing was left out)."""
    canvas_view.note_includes(run.id, conn.institution_id, client.honoured_includes, client.dropped_includes)
    canvas_view.note_sis(run.id, conn.institution_id, hidden=progress.sis_hidden, shown=progress.sis_shown)
    found = canvas_view.found(run.id)
    if not found:
        return ""
    kept = {
        "includes_off": "The courses keep the terms and student counts they had.",
        "sis_hidden": "The courses and sections keep the SIS IDs they had.",
    }
    return "".join(f" {kept[code]}" for code in found) + canvas_view.summary(run.id)


def failure_message(error: CanvasError, progress: Progress) -> str:
    """What happened, what was kept, and what to do, for the admin; never a bare 'failed'."""
    if isinstance(error, TokenInvalid):
        cause = "Canvas refused the portal's access token"
    elif isinstance(error, ScopeMissing):
        cause = f"The developer key does not allow {error.scope or 'a request the refresh needs'}"
    else:
        cause = "Canvas could not be read"
    kept = (
        f"{progress.courses} courses and {progress.sections} sections fetched before it stopped are kept"
        if progress.courses
        else "No courses were fetched"
    )
    return f"Refresh failed: {cause}. {error.message} {kept}; nothing was marked gone. What to do: {error.fix}"


def summary(progress: Progress, issues: int) -> str:
    parts = [f"Fetched {progress.courses} courses and {progress.sections} sections."]
    if progress.gone:
        parts.append(f"{progress.gone} no longer in Canvas were marked gone.")
    if progress.failed_courses:
        parts.append(
            f"The sections of {progress.failed_courses} courses could not be read (see the issues); "
            "refresh again or refresh those courses one by one."
        )
    if progress.failed_count_pages:
        parts.append(
            f"The student counts of {progress.failed_count_pages} pages of courses could not be read (see the "
            "issues); those courses keep the counts of the last refresh."
        )
    if issues:
        parts.append(f"{issues} sync list entries point to courses or sections no longer in Canvas (see the issues).")
    return " ".join(parts)


def _fetch_courses(
    conn: CanvasConnection, client: CanvasClient, progress: Progress, started: dt.datetime
) -> CourseListing:
    account = conn.account_ref
    listing = CourseListing(
        lambda number: client.get_account_courses_page(number, account, per_page=PER_PAGE, include=LISTING_INCLUDES),
        lambda: client.iter_account_courses(account, include=LISTING_INCLUDES),
        max_pages=client.max_pages,
    )
    pages = iter(listing)
    with closing(pages), closing(batched(pages, BATCH_SIZE, FLUSH_EVERY_S)) as batches:
        for batch in batches:
            terms = "term" not in client.dropped_includes  # dropped: keep the terms the catalogue has
            progress.courses += writes.save_courses(conn.institution_id, batch, started, counts=False, terms=terms)
            progress.saw(batch)
            progress.beat(done=progress.courses)
    progress.beat(done=progress.courses, force=True)
    return listing


# --- one course -------------------------------------------------------------------------------


def refresh_one_course(
    conn: CanvasConnection, run: SyncRun, canvas_id_or_sis: str, client: CanvasClient | None = None
) -> SyncRun:
    """The FAQ's specific course refresh: one course (Canvas id or SIS id) and its sections, now."""
    client = client or client_for(conn, throttle=gate_for(conn.id))
    progress = Progress(run.id)
    started = timezone.now()
    key = course_key(canvas_id_or_sis)
    before = _catalog_size(conn.institution_id)
    try:
        lifecycle.beat(run.id, phase="Fetching the course", done=0, total=1)
        course = client.get_course(key, account_id=conn.account_ref)
        dropped = client.dropped_includes
        writes.save_courses(
            conn.institution_id,
            [course],
            started,
            counts="total_students" not in dropped,
            terms="term" not in dropped,
        )
        progress.saw([course])
        progress.courses = 1
        saved = CatalogCourse.objects.get(institution_id=conn.institution_id, canvas_id=course.id)
        if course.workflow_state != "deleted":
            sections = list(client.iter_sections(course.id))
            progress.sections = writes.save_sections(conn.institution_id, [(saved.pk, s) for s in sections], started)
            progress.saw(sections)
        CatalogSection.objects.filter(course=saved, gone_at__isnull=True, refreshed_at__lt=started).update(
            gone_at=started
        )
        progress.created = _catalog_size(conn.institution_id) - before
    except NotFound:
        message = (
            f"Canvas has no course “{canvas_id_or_sis}” in this account (looked up as {key}). "
            "What to do: check the Canvas course id, or the SIS ID exactly as Canvas shows it, and try again."
        )
        lifecycle.finish(run.id, RunStatus.FAILED, message, progress.counts())
        return _reloaded(run)
    except CanvasError as exc:
        lifecycle.finish(run.id, RunStatus.FAILED, failure_message(exc, progress), progress.counts())
        return _reloaded(run)
    message = f"Refreshed “{saved.name}” (Canvas id {saved.canvas_id}) and its {progress.sections} sections."
    gaps = _note_gaps(conn, run, client, progress)
    status = RunStatus.WITH_ISSUES if gaps else RunStatus.SUCCEEDED
    lifecycle.finish(run.id, status, message + gaps, progress.counts())
    run = _reloaded(run)
    run.params = {**run.params, "catalog_course_id": saved.pk}
    SyncRun.objects.filter(id=run.id).update(params=run.params)
    return run


def course_key(value: str) -> str:
    """A bare number is a Canvas id; anything else is an SIS id (already prefixed ones pass through)."""
    value = value.strip()
    if value.isdigit() or value.startswith("sis_course_id:"):
        return value
    return f"sis_course_id:{value}"


# --- helpers ------------------------------------------------------------------------------------


def _catalog_size(institution_id: int) -> int:
    return (
        CatalogCourse.objects.filter(institution_id=institution_id).count()
        + CatalogSection.objects.filter(institution_id=institution_id).count()
    )


def _set_params(run_id: int, **values) -> None:
    run = SyncRun.objects.get(id=run_id)
    SyncRun.objects.filter(id=run_id).update(params={**run.params, **values})


def _reloaded(run: SyncRun) -> SyncRun:
    run.refresh_from_db()
    return run
