"""A real `celery -A portal worker` process runs a sync end to end over the configured broker (Redis in CI)
against the test database (PostgreSQL: a second process cannot see pytest-django's SQLite test database)."""

from __future__ import annotations

import time

import pytest

from portal.models import Enrollment
from sync.engine import start_sync
from sync.models import RunStatus
from tests.sync.engine_helpers import add_entry, catalog_from_sim
from tests.worker import running_worker

pytestmark = pytest.mark.worker


@pytest.fixture
def worker_queue(transactional_db):
    with running_worker("test") as queue:
        yield queue


def test_a_worker_process_runs_a_sync_end_to_end(worker_queue, connected, sim, institution_a, monkeypatch):
    from sync.engine import dispatch

    # The run's batches go to this test's worker's queue (each batch sends the next one where it came from).
    monkeypatch.setattr("sync.engine.runner.send_first", lambda run_id: dispatch.send_first(run_id, queue=worker_queue))
    catalog_from_sim(institution_a, sim)
    add_entry(institution_a, 501)
    add_entry(institution_a, 503)  # unpublished: recorded, not synced
    run = start_sync(institution_a)  # autocommit: enqueued at once

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if not run.is_active:
            break
        time.sleep(0.25)
    assert run.status == RunStatus.WITH_ISSUES, run.message
    assert dict(run.course_results.values_list("canvas_course_id", "status")) == {501: "applied", 503: "skipped"}
    assert Enrollment.objects.filter(course__lms_id=501, status="active").count() == 2
