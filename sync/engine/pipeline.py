"""A whole sync run in this process (the command, tests, benchmarks): Canvas reads for many courses
in flight together, writes in batches of courses.

Reading a course is waiting on Canvas (three or more round trips), writing it is a few statements,
so the two are split: `workers` threads plan courses concurrently under the connection's shared
throttle gate (the gate, not the thread count, decides how many requests reach Canvas at once), and
the calling thread claims courses in chunks and applies finished plans in batches with
`apply_plans`, which costs about a dozen statements per batch instead of a dozen per course. The
per-course Celery task (`sync_course_result`) stays the unit of work for workers of a queue.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from lms_canvas.connect import client_for
from lms_canvas.models import CanvasConfig, CanvasConnection
from lms_canvas.throttle import fetch_concurrently
from sync.engine.apply import apply_plans
from sync.engine.plan import plan_entry
from sync.engine.runner import (
    close,
    finalize_run,
    gate_for,
    preview,
    record_failure,
    record_outcome,
)
from sync.models import ACTIVE_STATUSES, CourseResultStatus, SyncCourseResult, SyncRun
from sync.runs import lifecycle

CLAIM_CHUNK = 50  # courses claimed per statement
APPLY_BATCH = 200  # plans written together
APPLY_EVERY_S = 1.0  # or sooner, so progress moves while Canvas is slow
MAX_THREADS = 64


def run_sync(run: SyncRun, *, workers: int = 1) -> SyncRun:
    """Process every open course of `run` here; `workers` > 1 reads Canvas from that many threads, or
    more when the throttle gate allows more requests in flight (1: no threads)."""
    ids = list(SyncCourseResult.objects.filter(run=run, status=CourseResultStatus.PENDING).values_list("id", flat=True))
    lifecycle.claim(run.id)
    run.refresh_from_db()
    conn = CanvasConnection.objects.get(institution=run.institution)
    config = CanvasConfig.objects.get(institution=run.institution)
    client = client_for(conn, throttle=gate_for(conn.id))

    def plan(result: SyncCourseResult):
        try:
            return plan_entry(client, config, result.entry, account_id=conn.account_ref, server_url=conn.server_url)
        except Exception as exc:  # noqa: BLE001 - recorded against its course by the calling thread
            return exc
        finally:
            if workers > 1:
                connection.close()  # a token refresh may have used this thread's connection

    claimed = _claim(run, ids)
    if workers <= 1:
        done = ((r, plan(r)) for r in claimed)
    else:
        # Enough threads that the gate, not the pool, limits how many requests are in flight: twice its
        # maximum, since a thread spends part of each course parsing and mapping, not waiting on Canvas.
        gate_max = int(getattr(client.throttle, "max_limit", 0))
        threads = min(MAX_THREADS, max(workers, 2 * gate_max))
        done = fetch_concurrently(plan, claimed, max_workers=threads)
    batch: list = []
    flushed = time.monotonic()
    for result, planned in done:
        if isinstance(planned, BaseException):
            record_failure(result, run, planned)
            lifecycle.add_progress(run.id)
        else:
            batch.append((result, planned))
        if len(batch) >= APPLY_BATCH or (batch and time.monotonic() - flushed > APPLY_EVERY_S):
            _apply_batch(run, batch)
            batch, flushed = [], time.monotonic()
    _apply_batch(run, batch)
    finalize_run(run.id)
    run.refresh_from_db()
    return run


def _claim(run: SyncRun, ids: list[int]) -> Iterator[SyncCourseResult]:
    """Claim open courses a chunk at a time (one UPDATE each), as the per-course task does one."""
    for start in range(0, len(ids), CLAIM_CHUNK):
        now = timezone.now()
        claimable = Q(status=CourseResultStatus.PENDING) | Q(
            status=CourseResultStatus.RUNNING, claimed_at__lt=now - lifecycle.heartbeat_timeout()
        )
        chunk = SyncCourseResult.objects.filter(claimable, id__in=ids[start : start + CLAIM_CHUNK])
        chunk.update(status=CourseResultStatus.RUNNING, claimed_at=now)
        results = list(
            SyncCourseResult.objects.filter(id__in=ids[start : start + CLAIM_CHUNK], claimed_at=now)
            .select_related("entry__course", "entry__section")
            .order_by("id")
        )
        run.refresh_from_db(fields=["status", "cancel_requested"])
        for result in results:
            result.run = run
            if run.status not in ACTIVE_STATUSES or run.cancel_requested:
                close(result, CourseResultStatus.CANCELLED, "Cancelled before this course was synced.")
            elif result.entry is None:
                close(result, CourseResultStatus.SKIPPED, "Removed from the sync list before it was synced.")
            else:
                yield result
                continue
            lifecycle.add_progress(run.id)


def _apply_batch(run: SyncRun, batch: list) -> None:
    if not batch:
        return
    if run.params.get("preview"):
        for result, plan in batch:
            preview(result, run, plan)
    else:
        try:
            outcomes = apply_plans([plan for _, plan in batch], run.institution)
        except Exception:  # noqa: BLE001 - find the course at fault: apply them one by one
            outcomes = None
        if outcomes is None:
            for result, plan in batch:
                try:
                    record_outcome(result, run, plan, apply_plans([plan], run.institution)[0])
                except Exception as exc:  # noqa: BLE001 - recorded against the course
                    record_failure(result, run, exc)
        else:
            with transaction.atomic():  # one commit for the batch's issues and results
                for (result, plan), outcome in zip(batch, outcomes, strict=True):
                    record_outcome(result, run, plan, outcome)
    lifecycle.add_progress(run.id, len(batch))
