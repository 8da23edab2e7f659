"""Celery tasks: thin interfaces that load a run by id and call one service function."""

from __future__ import annotations

from celery import shared_task


@shared_task
def refresh_catalog_task(run_id: int) -> None:
    from sync.refresh import run_refresh

    run_refresh(run_id)


@shared_task
def refresh_course_task(run_id: int) -> None:
    from sync.refresh import run_course_refresh

    run_course_refresh(run_id)


@shared_task
def sync_course_task(result_id: int) -> None:
    """One sync-list entry of a sync run (Sync Now or nightly); the last one to finish ends the run."""
    from sync.engine import sync_course_result

    sync_course_result(result_id)


@shared_task
def dispatch_nightly_syncs_task() -> None:
    """Celery beat, every minute: start each institution's nightly sync once its local hour comes."""
    from sync.schedule import dispatch_nightly

    dispatch_nightly()


@shared_task
def post_scores_task(run_id: int) -> None:
    """Post an exam's scores to Canvas (grade passback) as the grade-post run `run_id`."""
    from sync.passback import run_grade_post

    run_grade_post(run_id)


@shared_task
def reap_runs_task() -> None:
    """Celery beat, every 30 s: end the runs no worker picked up or whose worker died, keeping what finished."""
    from sync.reaper import reap_runs

    reap_runs()
