"""A real `celery -A portal worker` process runs a sync end to end over the configured broker (Redis in CI)
against the test database (PostgreSQL: a second process cannot see pytest-django's SQLite test database)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from portal.models import Enrollment
from sync.engine import start_sync
from sync.models import RunStatus
from tests.sync.engine_helpers import add_entry, catalog_from_sim

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.worker


def _redis_reachable(url: str) -> bool:
    if not url.startswith("redis://"):
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def _database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker_queue(transactional_db):
    if not _redis_reachable(settings.CELERY_BROKER_URL):
        pytest.skip(f"needs CELERY_BROKER_URL=redis://... with Redis running (it is {settings.CELERY_BROKER_URL!r})")
    if connection.vendor != "postgresql":
        pytest.skip("needs DATABASE_URL=postgres://... so the worker process can open pytest's test database")
    queue = f"test-{uuid.uuid4().hex[:8]}"  # only this test's tasks, whatever else sits in Redis
    env = {**os.environ, "DATABASE_URL": _database_url(), "CELERY_BROKER_URL": settings.CELERY_BROKER_URL}
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "portal", "worker", "-Q", queue, "--pool=threads", "--concurrency=2", "--loglevel=WARNING", "--without-mingle", "--without-gossip"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    yield queue
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_a_worker_process_runs_a_sync_end_to_end(worker_queue, connected, sim, institution_a, monkeypatch):
    from sync.tasks import sync_course_task

    monkeypatch.setattr(
        "sync.engine.runner.enqueue_courses",
        lambda ids: [sync_course_task.apply_async((i,), queue=worker_queue) for i in ids],
    )
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
