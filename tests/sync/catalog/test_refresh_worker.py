"""Refresh Courses on the product path: a real `celery -A portal worker` process runs the task that
start_refresh sends on commit, over the configured broker (Redis in CI), against the test database
(PostgreSQL: a second process cannot see pytest-django's SQLite test database)."""

from __future__ import annotations

import time

import pytest

from sync.catalog import refresh
from sync.models import CatalogCourse, CatalogSection, RunStatus
from sync.runs import lifecycle
from tests.worker import running_worker

pytestmark = pytest.mark.worker


@pytest.fixture
def worker_queue(transactional_db):
    with running_worker("refresh") as queue:
        yield queue


def test_a_worker_process_refreshes_the_catalogue_started_as_refresh_courses_starts_it(
    worker_queue, connected, monkeypatch
):
    task = lifecycle.task_named("sync.tasks.refresh_catalog_task")
    # The task goes to this test's worker's queue (the product sends it to the default queue).
    monkeypatch.setattr(task, "delay", lambda run_id: task.apply_async((run_id,), queue=worker_queue))

    run = refresh.start_refresh(connected.institution)  # autocommit: sent at once

    deadline = time.monotonic() + 60
    while run.is_active and time.monotonic() < deadline:
        time.sleep(0.25)
        run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.message
    assert "Fetched 5 courses and 5 sections." in run.message
    assert "sections_started_at" in run.params
    assert CatalogCourse.objects.filter(institution=connected.institution).count() == 5
    assert CatalogSection.objects.filter(institution=connected.institution).count() == 5
