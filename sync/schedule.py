"""The nightly sync: which institutions are due, and starting them (the emails about how it went are
sync.runs.notify's).

Celery beat calls `dispatch_nightly` every minute (PERIODIC_TASKS below: created by a migration,
reconciled whenever beat starts, and by `setup_schedules` for support). An institution is
due once its local time has reached its nightly sync hour and no nightly sync has started since
then, so a beat that was down at that hour catches up when it comes back, and never runs twice.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone

from portal.models import Institution
from sync.engine.runner import start_sync
from sync.models import RunKind, RunStatus, RunTrigger, SyncListEntry, SyncRun
from sync.runs import issues, lifecycle
from sync.runs.notify import notify_run_outcome
from sync.runs.reasons import ReasonCode, reason

logger = logging.getLogger(__name__)

PERIODIC_TASK_NAME = "Nightly sync: start the institutions whose hour has come"
PERIODIC_TASK = "sync.tasks.dispatch_nightly_syncs_task"
REAPER_TASK_NAME = "Runs: end the runs no worker picked up or whose worker died"
REAPER_TASK = "sync.tasks.reap_runs_task"
# What beat runs, and how often (seconds). The nightly hour is checked per institution on each tick;
# the reaper's period bounds how long after its timeout a dead run still shows "running".
PERIODIC_TASKS = {PERIODIC_TASK_NAME: (PERIODIC_TASK, 60), REAPER_TASK_NAME: (REAPER_TASK, 30)}


def nightly_slot(institution: Institution, now: dt.datetime) -> dt.datetime:
    """Today's nightly sync time in the institution's time zone (aware)."""
    local = timezone.localtime(now, institution.tz)
    return local.replace(hour=institution.nightly_sync_hour, minute=0, second=0, microsecond=0)


def is_due(institution: Institution, now: dt.datetime) -> bool:
    slot = nightly_slot(institution, now)
    if now < slot:
        return False
    done = SyncRun.objects.filter(
        institution=institution, kind=RunKind.SYNC, trigger=RunTrigger.NIGHTLY, created_at__gte=slot
    )
    return not done.exists()


def dispatch_nightly(now: dt.datetime | None = None) -> list[SyncRun]:
    """Start (or record as skipped, with why) the nightly sync of every institution that is due."""
    now = now or timezone.now()
    started = []
    with_entries = SyncListEntry.objects.values_list("institution_id", flat=True).distinct()
    for institution in Institution.objects.filter(id__in=with_entries):
        if not is_due(institution, now):
            continue
        try:
            run = start_sync(institution, trigger=RunTrigger.NIGHTLY)
        except lifecycle.RunAlreadyActive as exc:
            run = _skipped(institution, code="already_running", detail=f"Sync #{exc.run.id} was still running.")
        except lifecycle.QueueUnavailable as exc:  # ended with the cause; the next institution may still go
            run = exc.run
            notify_run_outcome(run)
        started.append(run)
        logger.info("Nightly sync of %s: run %s %s", institution.slug, run.id, run.status)
    return started


def _skipped(institution: Institution, *, code: ReasonCode, detail: str) -> SyncRun:
    now = timezone.now()
    run = SyncRun.objects.create(
        institution=institution,
        kind=RunKind.SYNC,
        trigger=RunTrigger.NIGHTLY,
        status=RunStatus.SKIPPED,
        started_at=now,
        finished_at=now,
        message=f"Not started: {reason(code).sentence} {detail} {reason(code).fix}",
    )
    issues.record(run.id, code, detail=detail)
    return run


def install_periodic_tasks() -> list[str]:
    """Create or correct beat's entries (idempotent); returns the names it created or changed."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    changed = []
    for name, (task, seconds) in PERIODIC_TASKS.items():
        every, _ = IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)
        entry, created = PeriodicTask.objects.get_or_create(
            name=name, defaults={"task": task, "interval": every, "enabled": True}
        )
        if created:
            changed.append(name)
        elif (entry.task, entry.interval_id, entry.enabled, entry.crontab_id) != (task, every.id, True, None):
            entry.task, entry.interval, entry.enabled, entry.crontab = task, every, True, None
            entry.save()
            changed.append(name)
    return changed
