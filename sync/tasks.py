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
