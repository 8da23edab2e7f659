"""The reaper, a beat task: no run stays "queued" or "running" for ever.

A queued run no worker picked up within RUN_START_TIMEOUT_SECONDS was lost by the task queue (or no
worker is running). A running run whose heartbeat is older than RUN_HEARTBEAT_TIMEOUT_SECONDS lost its
worker. A sync that ends this way keeps the counts and per-course results of every course that did
finish, and its message says what happened to the rest. A nightly run that fails here emails the
institution's admins, once: the conditional update below ends each run only once.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.template.defaultfilters import pluralize
from django.utils import timezone

from sync.models import (
    COUNT_NAMES,
    OPEN_RESULT_STATUSES,
    CourseResultStatus,
    RunKind,
    RunStatus,
    SyncCourseResult,
    SyncRun,
)
from sync.runs import lifecycle
from sync.runs.notify import notify_run_outcome

logger = logging.getLogger(__name__)

WORKER_DIED = (
    "The worker running this stopped answering (it may have been restarted, killed or run out of memory). "
    "Nothing already saved was lost. What to do: start it again; if it keeps happening, contact support."
)
NEVER_STARTED = (
    "Not started: no worker picked this up within {minutes} minutes, so nothing was changed. Either no worker "
    "is running or the task queue lost the task (for example after a restart). What to do: try again; "
    "if it happens again, contact support so they can check the workers."
)
COURSE_WORKER_DIED = (
    "The worker syncing this course stopped before it finished; nothing in this course was changed. "
    "What to do: Sync Now again."
)
COURSE_NEVER_STARTED = "Not synced: no worker picked this course up (its task was lost). What to do: Sync Now again."


def reap_runs(now: dt.datetime | None = None) -> list[SyncRun]:
    """End every run that will never end by itself; returns them, ended."""
    now = now or timezone.now()
    reaped = []
    lost = SyncRun.objects.filter(status=RunStatus.QUEUED, created_at__lt=now - lifecycle.start_timeout())
    for run in lost:
        minutes = round(lifecycle.start_timeout().total_seconds() / 60)
        if _end(run, now, NEVER_STARTED.format(minutes=minutes), status=RunStatus.QUEUED):
            reaped.append(run)
    still_silent = {"status": RunStatus.RUNNING, "heartbeat_at__lt": now - lifecycle.heartbeat_timeout()}
    for run in SyncRun.objects.filter(**still_silent):
        ended = (
            _end_sync(run, now, still_silent)
            if run.kind == RunKind.SYNC
            else _end(run, now, WORKER_DIED, **still_silent)
        )
        if ended:
            reaped.append(run)
    if reaped:
        logger.warning("Reaped %d run(s): %s", len(reaped), ", ".join(f"#{r.id}" for r in reaped))
        for run in reaped:
            run.refresh_from_db()
            notify_run_outcome(run)
    return reaped


def _end(run: SyncRun, now: dt.datetime, message: str, **still) -> bool:
    # Only if it is still in the state we judged (`still`): a worker that beats or finishes meanwhile wins.
    ended = SyncRun.objects.filter(id=run.id, **still).update(status=RunStatus.FAILED, finished_at=now, message=message)
    if ended:
        SyncCourseResult.objects.filter(run=run, status__in=OPEN_RESULT_STATUSES).update(
            status=CourseResultStatus.CANCELLED, finished_at=now, message=COURSE_NEVER_STARTED
        )
    return bool(ended)


def _end_sync(run: SyncRun, now: dt.datetime, still: dict) -> bool:
    """A sync whose heartbeat stopped: a course claimed and never finished means its worker died;
    only unclaimed courses left means their tasks were lost, which is judged on the start timeout,
    since they may still be waiting behind other work in the queue."""
    results = SyncCourseResult.objects.filter(run=run)
    # A course's entries (the course and its sections) share its label: each named once.
    dead = list(dict.fromkeys(results.filter(status=CourseResultStatus.RUNNING).values_list("label", flat=True)))
    if not dead and run.heartbeat_at and run.heartbeat_at >= now - lifecycle.start_timeout():
        return False
    closed = list(results.exclude(status__in=OPEN_RESULT_STATUSES).values_list("status", "counts"))
    counts = {name: sum((c or {}).get(name, 0) for _, c in closed) for name in COUNT_NAMES}
    synced = sum(1 for s, _ in closed if s in (CourseResultStatus.APPLIED, CourseResultStatus.APPROVED))
    total = results.count()
    missing = total - len(closed)
    tally = ", ".join(f"{counts[k]} {k}" for k in COUNT_NAMES if k != "held" or counts[k])
    if dead:
        names = ", ".join(dead[:3]) + (f" and {len(dead) - 3} more" if len(dead) > 3 else "")
        cause = (
            f"The worker syncing {names} stopped answering (it may have been restarted, killed or run out of memory)."
        )
    else:
        cause = "Their tasks never reached a worker: the task queue lost them, or no worker is running."
    message = (
        f"This sync stopped before the end: {synced} of {total} course{pluralize(total)} were synced ({tally}); "
        f"{missing} were not. {cause} Nothing already synced was lost. "
        "What to do: Sync Now again; if it happens again, contact support."
    )
    if not SyncRun.objects.filter(id=run.id, **still).update(
        status=RunStatus.FAILED, finished_at=now, message=message, counts=counts
    ):
        return False
    results.filter(status=CourseResultStatus.RUNNING).update(
        status=CourseResultStatus.FAILED, finished_at=now, message=COURSE_WORKER_DIED
    )
    results.filter(status=CourseResultStatus.PENDING).update(
        status=CourseResultStatus.CANCELLED,
        finished_at=now,
        message=(
            "Not synced: the run stopped with its worker. What to do: Sync Now again." if dead else COURSE_NEVER_STARTED
        ),
    )
    return True
