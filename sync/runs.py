"""The life of a run: create, claim, heartbeat, progress, finish, and reaping runs whose worker died."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from portal.models import Institution
from sync.models import ACTIVE_STATUSES, IssueSeverity, RunKind, RunStatus, RunTrigger, SyncIssue, SyncRun

logger = logging.getLogger(__name__)

# A running run whose worker has not written a heartbeat for this long is dead, not slow.
HEARTBEAT_TIMEOUT = dt.timedelta(minutes=3)
DEAD_WORKER_MESSAGE = (
    "The worker running this stopped answering (it may have been restarted or run out of memory). "
    "Nothing already saved was lost. What to do: start it again; if it keeps happening, contact support."
)


class RunAlreadyActive(Exception):
    def __init__(self, run: SyncRun) -> None:
        self.run = run
        super().__init__(f"{run.get_kind_display()} #{run.id} is already {run.get_status_display().lower()}.")


def create_run(
    institution: Institution,
    kind: RunKind,
    *,
    trigger: RunTrigger = RunTrigger.ADMIN,
    user=None,
    params: dict | None = None,
) -> SyncRun:
    """Write the queued run row (before any Canvas call); the database allows one active run per kind."""
    reap_dead_runs(institution)
    try:
        with transaction.atomic():
            return SyncRun.objects.create(
                institution=institution, kind=kind, trigger=trigger, requested_by=user, params=params or {}
            )
    except IntegrityError:
        active = SyncRun.objects.filter(institution=institution, kind=kind, status__in=ACTIVE_STATUSES).first()
        if active is None:  # it finished between our insert and this read
            return create_run(institution, kind, trigger=trigger, user=user, params=params)
        raise RunAlreadyActive(active) from None


def claim(run_id: int) -> bool:
    """Move a queued run to running; a task delivered twice finds nothing to claim the second time."""
    now = timezone.now()
    return bool(
        SyncRun.objects.filter(id=run_id, status=RunStatus.QUEUED).update(
            status=RunStatus.RUNNING, started_at=now, heartbeat_at=now
        )
    )


def beat(run_id: int, *, phase: str | None = None, done: int | None = None, total: int | None = None) -> bool:
    """Record progress and liveness; returns False when the admin asked to cancel."""
    fields: dict = {"heartbeat_at": timezone.now()}
    if phase is not None:
        fields["phase"] = phase
    if done is not None:
        fields["done"] = done
    if total is not None:
        fields["total"] = total
    SyncRun.objects.filter(id=run_id, status=RunStatus.RUNNING).update(**fields)
    return not SyncRun.objects.filter(id=run_id, cancel_requested=True).exists()


def add_progress(run_id: int, done: int = 1) -> None:
    SyncRun.objects.filter(id=run_id).update(done=F("done") + done, heartbeat_at=timezone.now())


def finish(run_id: int, status: RunStatus, message: str = "", counts: dict | None = None) -> bool:
    """End a running run once; False if it had already ended (reaped or cancelled meanwhile)."""
    fields: dict = {"status": status, "message": message, "finished_at": timezone.now()}
    if counts is not None:
        fields["counts"] = counts
    return bool(SyncRun.objects.filter(id=run_id, status__in=ACTIVE_STATUSES).update(**fields))


def request_cancel(run: SyncRun) -> None:
    SyncRun.objects.filter(id=run.id, status__in=ACTIVE_STATUSES).update(cancel_requested=True)
    # A queued run has no worker yet to notice: end it here.
    SyncRun.objects.filter(id=run.id, status=RunStatus.QUEUED).update(
        status=RunStatus.CANCELLED, finished_at=timezone.now(), message="Cancelled before it started."
    )


def record_issue(run_id: int, code: str, message: str, fix: str = "", **fields) -> SyncIssue:
    return SyncIssue.objects.create(
        run_id=run_id,
        code=code,
        message=message,
        fix=fix,
        severity=fields.pop("severity", IssueSeverity.WARNING),
        **fields,
    )


def reap_dead_runs(institution: Institution | None = None, now: dt.datetime | None = None) -> int:
    """Mark failed every running run whose heartbeat stopped: never 'running' for ever."""
    now = now or timezone.now()
    stale = SyncRun.objects.filter(status=RunStatus.RUNNING, heartbeat_at__lt=now - HEARTBEAT_TIMEOUT)
    if institution is not None:
        stale = stale.filter(institution=institution)
    ids = list(stale.values_list("id", flat=True))
    reaped = stale.filter(id__in=ids).update(status=RunStatus.FAILED, finished_at=now, message=DEAD_WORKER_MESSAGE)
    if reaped:
        _close_open_results(ids, now)
        logger.warning("Marked %d run(s) failed after their heartbeat stopped", reaped)
    return reaped


def _close_open_results(run_ids: list[int], now: dt.datetime) -> None:
    """The courses a dead worker left open would show 'Syncing' under a failed run for ever."""
    from sync.models import CourseResultStatus, SyncCourseResult

    results = SyncCourseResult.objects.filter(run_id__in=run_ids, finished_at__isnull=True)
    results.filter(status=CourseResultStatus.RUNNING).update(
        status=CourseResultStatus.FAILED,
        finished_at=now,
        message="The worker stopped while syncing this course; nothing in it was changed. What to do: Sync Now again.",
    )
    results.filter(status=CourseResultStatus.PENDING).update(
        status=CourseResultStatus.CANCELLED, finished_at=now, message="Not synced: the run stopped with its worker."
    )
