"""The life of a run: create, enqueue, claim, heartbeat, progress, finish. `sync.reaper` ends the runs
no worker picked up or whose worker died."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import OperationalError

from portal.models import Institution
from sync.audit import trail
from sync.models import (
    ACTIVE_STATUSES,
    CourseResultStatus,
    IssueSeverity,
    RunKind,
    RunStatus,
    RunTrigger,
    SyncCourseResult,
    SyncIssue,
    SyncRun,
)

logger = logging.getLogger(__name__)

QUEUE_DOWN_MESSAGE = (
    "Not started: the task queue is unavailable, so nothing was started and nothing was changed. "
    "What to do: try again in a minute; if it keeps happening, contact support."
)
# What a broker that is down or unreachable raises at publish (kombu wraps the transport's errors).
QUEUE_ERRORS = (OperationalError, OSError)


def heartbeat_timeout() -> dt.timedelta:
    """A running run whose worker has not written a heartbeat for this long is dead, not slow."""
    return dt.timedelta(seconds=settings.RUN_HEARTBEAT_TIMEOUT_SECONDS)


def start_timeout() -> dt.timedelta:
    """A queued run (or course) no worker has picked up for this long was lost by the queue."""
    return dt.timedelta(seconds=settings.RUN_START_TIMEOUT_SECONDS)


class QueueUnavailable(Exception):
    """The broker refused a run's task: the run was ended at once, so nothing waits behind it."""

    def __init__(self, run: SyncRun) -> None:
        self.run = run
        super().__init__(QUEUE_DOWN_MESSAGE)


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
    try:
        with transaction.atomic():
            run = SyncRun.objects.create(
                institution=institution, kind=kind, trigger=trigger, requested_by=user, params=params or {}
            )
            if user is not None:  # a person started it: the audit trail says who (nightly runs are in the history)
                trail.run_started(run)
            return run
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


def enqueue_on_commit(run: SyncRun, send: Callable[[], object]) -> None:
    """Send the run's task(s) once its row is committed. A broker that refuses ends the run with the
    cause and raises QueueUnavailable, instead of leaving a queued run that blocks every later click."""

    def _send() -> None:
        try:
            send()
        except QUEUE_ERRORS as exc:
            logger.error("Run %s not started: the task queue refused its task (%s)", run.id, type(exc).__name__)
            _fail_unsent(run)
            raise QueueUnavailable(run) from None

    transaction.on_commit(_send)


def _fail_unsent(run: SyncRun) -> None:
    now = timezone.now()
    SyncRun.objects.filter(id=run.id, status__in=ACTIVE_STATUSES).update(
        status=RunStatus.FAILED, finished_at=now, message=QUEUE_DOWN_MESSAGE
    )
    SyncCourseResult.objects.filter(run_id=run.id, status=CourseResultStatus.PENDING).update(
        status=CourseResultStatus.CANCELLED, finished_at=now, message="Not started: the task queue was unavailable."
    )
    run.refresh_from_db()
