"""Celery tasks: thin interfaces that load a run by id and call one service function.

Every task is named explicitly, as it was first registered ("sync.tasks.<function>"): queued messages
and beat's stored PeriodicTask rows name tasks by that string, so the modules they call may move."""

from __future__ import annotations

from contextlib import AbstractContextManager

from celery import shared_task

from portal.logcontext import log_context


def _run_log_context(run_id: int) -> AbstractContextManager[None]:
    """Every log line of the task carries its run's id and institution."""
    from sync.models import SyncRun

    slug = SyncRun.objects.filter(id=run_id).values_list("institution__slug", flat=True).first()
    return log_context(run_id=run_id, institution=slug)


def _course_log_context(result_id: int) -> AbstractContextManager[None]:
    from sync.models import SyncCourseResult

    row = SyncCourseResult.objects.filter(id=result_id).values_list("run_id", "run__institution__slug").first()
    run_id, slug = row or (None, None)
    return log_context(run_id=run_id, institution=slug)


@shared_task(name="sync.tasks.refresh_catalog_task")
def refresh_catalog_task(run_id: int) -> None:
    from sync.catalog.refresh import run_refresh

    with _run_log_context(run_id):
        run_refresh(run_id)


@shared_task(name="sync.tasks.refresh_course_task")
def refresh_course_task(run_id: int) -> None:
    from sync.catalog.refresh import run_course_refresh

    with _run_log_context(run_id):
        run_course_refresh(run_id)


@shared_task(name="sync.tasks.sync_batch_task", bind=True)
def sync_batch_task(self, run_id: int, number: int) -> None:
    """One batch of courses of a sync run (Sync Now or nightly); it sends the run's next batch, to the
    queue it came from, and the last one to finish ends the run."""
    from sync.engine import sync_batch

    queue = (self.request.delivery_info or {}).get("routing_key") if not self.request.is_eager else None
    with _run_log_context(run_id):
        sync_batch(run_id, number, queue=queue)


@shared_task(name="sync.tasks.sync_course_task")
def sync_course_task(result_id: int) -> None:
    """A message sent before courses went in batches (one per course): its course's batch does the work."""
    from sync.engine import sync_batch
    from sync.models import SyncCourseResult

    row = SyncCourseResult.objects.filter(id=result_id).values_list("run_id", "batch").first()
    if row is not None:
        with _course_log_context(result_id):
            sync_batch(*row)


@shared_task(name="sync.tasks.dispatch_nightly_syncs_task")
def dispatch_nightly_syncs_task() -> None:
    """Celery beat, every minute: start each institution's nightly sync once its local hour comes."""
    from sync.schedule import dispatch_nightly

    dispatch_nightly()


@shared_task(name="sync.tasks.post_scores_task")
def post_scores_task(run_id: int) -> None:
    """Post an exam's scores to Canvas (grade passback) as the grade-post run `run_id`."""
    from sync.grades.passback import run_grade_post

    with _run_log_context(run_id):
        run_grade_post(run_id)


@shared_task(name="sync.tasks.reap_runs_task")
def reap_runs_task() -> None:
    """Celery beat, every 30 s: end the runs no worker picked up or whose worker died, keeping what finished."""
    from sync.runs.reaper import reap_runs

    reap_runs()


@shared_task(name="sync.tasks.remove_old_history_task")
def remove_old_history_task() -> None:
    """Celery beat, hourly: runs and resolved problems past their retention (sync.runs.retention)."""
    from sync.runs.retention import remove_old_history

    remove_old_history()


@shared_task(name="sync.tasks.handle_live_events_task")
def handle_live_events_task(institution_id: int) -> None:
    """The Live Events the webhook accepted: mark their synced courses for a refetch, update the catalogue."""
    from sync.live.handle import handle_pending

    with log_context(institution_id=institution_id):
        handle_pending(institution_id)


@shared_task(name="sync.tasks.flush_live_courses_task")
def flush_live_courses_task(institution_id: int) -> None:
    """Refetch the institution's courses whose Live Events have gone quiet (one sync run, "Live event")."""
    from sync.live.coalesce import flush

    with log_context(institution_id=institution_id):
        flush(institution_id)
