"""Task names are part of the contract with the broker and beat's database: they never follow a module."""

from __future__ import annotations

import inspect

from celery import Task

from portal.celery import app
from sync import tasks
from sync.schedule import PERIODIC_TASKS

QUEUED_NAMES = {
    "sync.tasks.refresh_catalog_task",
    "sync.tasks.refresh_course_task",
    "sync.tasks.sync_course_task",
    "sync.tasks.sync_batch_task",
    "sync.tasks.dispatch_nightly_syncs_task",
    "sync.tasks.post_scores_task",
    "sync.tasks.reap_runs_task",
    "sync.tasks.handle_live_events_task",
    "sync.tasks.flush_live_courses_task",
    "sync.tasks.remove_old_history_task",
}


def test_every_task_keeps_the_name_queued_messages_and_beat_rows_use():
    defined = {obj.name for _, obj in inspect.getmembers(tasks) if isinstance(obj, Task)}
    assert defined == QUEUED_NAMES


def test_every_periodic_task_names_a_registered_task():
    app.loader.import_default_modules()
    for task, _seconds in PERIODIC_TASKS.values():
        assert task in app.tasks


def test_a_web_process_finds_the_tasks_it_sends_by_name():
    """gunicorn's processes import no tasks module before their first Sync Now or Post scores."""
    import subprocess
    import sys

    code = (
        "import django; django.setup(); import sys; from sync.runs.lifecycle import task_named; "
        "assert 'sync.tasks' not in sys.modules; "
        "print(task_named('sync.tasks.sync_batch_task').name, task_named('sync.tasks.post_scores_task').name)"
    )
    out = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert out.split() == ["sync.tasks.sync_batch_task", "sync.tasks.post_scores_task"]
