"""A real `celery -A portal worker` process for the tests that prove the Celery wiring.

It needs Redis as the broker and PostgreSQL as the database: a second process cannot open
pytest-django's SQLite test database. Each worker listens on a queue of its own, so it runs only
its test's tasks whatever else sits in Redis.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def redis_reachable(url: str) -> bool:
    if not url.startswith("redis://"):
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def start_worker(prefix: str, *extra_args: str, **popen: object) -> tuple[str, subprocess.Popen]:
    """Skip the test unless Redis and PostgreSQL are configured; else a worker on a fresh queue."""
    if not redis_reachable(settings.CELERY_BROKER_URL):
        pytest.skip(f"needs CELERY_BROKER_URL=redis://... with Redis running (it is {settings.CELERY_BROKER_URL!r})")
    if connection.vendor != "postgresql":
        pytest.skip("needs DATABASE_URL=postgres://... so the worker process can open pytest's test database")
    queue = f"{prefix}-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "DATABASE_URL": database_url(), "CELERY_BROKER_URL": settings.CELERY_BROKER_URL}
    args = [
        "-Q",
        queue,
        "--pool=threads",
        "--concurrency=2",
        "--loglevel=WARNING",
        "--without-mingle",
        "--without-gossip",
    ]
    cmd = [sys.executable, "-m", "celery", "-A", "portal", "worker", *args, *extra_args]
    return queue, subprocess.Popen(cmd, cwd=ROOT, env=env, **popen)  # noqa: S603


@contextmanager
def running_worker(prefix: str) -> Iterator[str]:
    """A worker on a fresh queue for the block (its queue's name), stopped after it whatever happens."""
    queue, proc = start_worker(prefix, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        yield queue
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
