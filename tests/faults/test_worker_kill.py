"""The fault matrix, worker side: a real `celery -A portal worker` process (Redis, PostgreSQL) killed
with SIGKILL in the middle of a sync. The reaper fails its run once the heartbeat stops, keeping the counts
of what finished; the courses it left open say so, nothing synced earlier is lost, and the next run
completes and converges."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest
from django.conf import settings
from django.utils import timezone

from sync.engine import start_sync
from sync.models import CourseResultStatus, RunStatus
from sync.runs import lifecycle
from sync.runs.reaper import reap_runs
from tests.faults.helpers import assert_converged, assert_run_truthful, course_ids, put_on_sync_list, records, truth
from tests.sync.engine_helpers import sync
from tests.worker import start_worker

pytestmark = [pytest.mark.faults, pytest.mark.worker]


@pytest.fixture
def worker(transactional_db):
    queue, proc = start_worker(
        "test-faults", "--prefetch-multiplier=1", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    yield queue, proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=15)
    import redis

    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(queue)  # the dead worker's leftover tasks


def test_a_worker_killed_mid_sync_leaves_a_failed_run_and_the_next_run_converges(
    worker, conn_a, big_sim, institution_a, institution_b, monkeypatch
):
    from sync.engine import dispatch

    queue, proc = worker
    ids = course_ids(big_sim)
    # Batches take courses in id order (half each): the first holds the old courses and the slowest
    # new one, the second only new ones. Synced before: ids[:half - 1]. Held by Canvas: ids[half - 1].
    half = len(ids) // 2
    put_on_sync_list(institution_a, big_sim, ids[: half - 1])
    assert sync(institution_a).status in (RunStatus.SUCCEEDED, RunStatus.WITH_ISSUES)
    put_on_sync_list(institution_a, big_sim, ids[half - 1 :])
    before = records(institution_a)
    # The run's batches go to this test's worker's queue (each batch sends the next one where it came from).
    monkeypatch.setattr("sync.engine.runner.send_first", lambda run_id: dispatch.send_first(run_id, queue=queue))
    # One course's requests take 20 s (below the client's 30 s read timeout): the first batch cannot end
    # while the second syncs its new courses, so there is always a middle to kill in, however fast the
    # machine. Racing a uniform latency against a poll lost on CI when a whole batch landed at once.
    big_sim.control("faults", {"latency_ms": 20_000, "paths": rf"^/api/v1/courses/{ids[half - 1]}(/|$)"})

    run = start_sync(institution_a)
    assert set(run.course_results.values_list("batch", flat=True)) == {1, 2}
    deadline = time.monotonic() + 60
    new = ids[half:]  # the second batch's courses: what they create is what the run must keep counting
    # Killed in the middle of the run: new courses applied, the held one claimed by the worker and unfinished.
    while (
        run.course_results.filter(status=CourseResultStatus.APPLIED, canvas_course_id__in=new).count() < 2
        or not run.course_results.filter(status=CourseResultStatus.RUNNING).exists()
    ):
        run.refresh_from_db()
        assert run.status in (RunStatus.QUEUED, RunStatus.RUNNING), (
            f"the run ended ({run.status}) before it could be killed mid-batch"
        )
        assert time.monotonic() < deadline, "the worker synced nothing in a minute"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)

    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING  # nobody can tell yet: the heartbeat has only just stopped
    assert run.course_results.filter(status__in=[CourseResultStatus.PENDING, CourseResultStatus.RUNNING]).exists()
    timeout = lifecycle.heartbeat_timeout()
    assert reap_runs(now=timezone.now() + timeout / 2) == []  # slow is not dead
    assert len(reap_runs(now=timezone.now() + timeout + timezone.timedelta(seconds=1))) == 1

    run.refresh_from_db()
    synced = run.course_results.filter(status=CourseResultStatus.APPLIED)
    assert run.status == RunStatus.FAILED and "stopped answering" in run.message
    assert f"{synced.count()} of {run.course_results.count()} courses were synced" in run.message
    assert run.counts["created"] == sum(r.counts["created"] for r in synced) > 0  # what finished still counts
    big_sim.control("faults", {})
    expected = truth(institution_b, big_sim, ids)
    assert_run_truthful(run, before, expected)  # applied courses equal Canvas; the rest untouched
    assert_converged(institution_a, expected)
