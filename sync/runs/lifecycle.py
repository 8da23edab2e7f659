"""The life of a run, the same for every kind (refresh, course refresh, grade post, sync): create the
row and enqueue its task on commit (`start`), claim it in the worker, check the Canvas connection, do
the work, finish it with what happened (`run_claimed`), and email about it when it ends (`finish`).
A sync fans out one task per course (sync.engine.runner) but is created, enqueued, claimed and
finished here too. `sync.runs.reaper` ends the runs no worker picked up or whose worker died."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import OperationalError

from lms_canvas.models import CanvasConnection
from portal.models import Institution
from sync.audit import trail
from sync.models import (
    ACTIVE_STATUSES,
    CourseResultStatus,
    RunKind,
    RunStatus,
    RunTrigger,
    SyncCourseResult,
    SyncRun,
)
from sync.runs.notify import notify_run_outcome

if TYPE_CHECKING:
    from celery import Task as _Task

    CeleryTask = _Task[Any, Any]

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
    """End a running run once, and send the email its outcome calls for; False if it had already
    ended (reaped or cancelled meanwhile)."""
    fields: dict = {"status": status, "message": message, "finished_at": timezone.now()}
    if counts is not None:
        fields["counts"] = counts
    if not SyncRun.objects.filter(id=run_id, status__in=ACTIVE_STATUSES).update(**fields):
        return False
    notify_run_outcome(SyncRun.objects.select_related("institution").get(id=run_id))
    return True


def end(run: SyncRun, status: RunStatus, message: str, counts: dict | None = None) -> bool:
    """`finish` for a run that may still be queued (a sync that ends before any course task: not
    connected, nothing to sync, or its last course done); `run` is reloaded."""
    if run.status == RunStatus.QUEUED and status != RunStatus.CANCELLED:
        claim(run.id)
    if not finish(run.id, status, message, counts):
        return False
    run.refresh_from_db()
    return True


def request_cancel(run: SyncRun) -> None:
    SyncRun.objects.filter(id=run.id, status__in=ACTIVE_STATUSES).update(cancel_requested=True)
    # A queued run has no worker yet to notice: end it here.
    SyncRun.objects.filter(id=run.id, status=RunStatus.QUEUED).update(
        status=RunStatus.CANCELLED, finished_at=timezone.now(), message="Cancelled before it started."
    )


class Task(Protocol):
    def delay(self, run_id: int) -> object: ...


def task_named(name: str) -> CeleryTask:
    """A Celery task by its registered name ("sync.tasks.<function>"): services send tasks without
    importing sync.tasks, which imports them (the one direction the import graph allows)."""
    from portal.celery import app

    if name not in app.tasks:
        # A web process never imported the tasks modules (a worker does at start): autodiscover them.
        app.loader.import_default_modules()
    return app.tasks[name]


def start(
    institution: Institution,
    kind: RunKind,
    task: Task,
    *,
    trigger: RunTrigger = RunTrigger.ADMIN,
    user=None,
    params: dict | None = None,
) -> SyncRun:
    """What every `start_*` means: write the queued run, and send `task(run.id)` once it is committed.
    Raises RunAlreadyActive, or QueueUnavailable (the run ended, with why) if the queue refuses."""
    run = create_run(institution, kind, trigger=trigger, user=user, params=params)
    enqueue_on_commit(run, lambda: task.delay(run.id))
    return run


def run_claimed(
    run_id: int,
    work: Callable[[CanvasConnection, SyncRun], SyncRun],
    *,
    not_connected: str,
    internal_error: str,
) -> SyncRun | None:
    """The body of every single-task run: claim it (a task delivered twice does nothing the second
    time: None), check that the Canvas connection is Verified, then `work(conn, run)`, which finishes
    the run itself. A connection that is not Verified fails the run with `not_connected`; an
    unexpected exception fails it with `internal_error` and propagates (Sentry records it)."""
    if not claim(run_id):
        return None
    run = SyncRun.objects.select_related("institution").get(id=run_id)
    conn = CanvasConnection.objects.filter(institution_id=run.institution_id).first()
    if conn is None or not conn.is_verified:
        finish(run_id, RunStatus.FAILED, not_connected)
        run.refresh_from_db()
        return run
    try:
        return work(conn, run)
    except Exception:
        finish(run_id, RunStatus.FAILED, internal_error)
        raise


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
