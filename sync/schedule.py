"""The nightly sync: which institutions are due, starting them, and the emails about how it went.

Celery beat calls `dispatch_nightly` every minute (PERIODIC_TASKS below: created by a migration,
reconciled whenever beat starts, and by `setup_schedules` for support). An institution is
due once its local time has reached its nightly sync hour and no nightly sync has started since
then, so a beat that was down at that hour catches up when it comes back, and never runs twice.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from lms_canvas.models import CanvasConnection, ConnectionStatus
from portal.models import Institution
from portal.notify import email_admins
from sync import runs
from sync.models import RunKind, RunStatus, RunTrigger, SyncListEntry, SyncRun

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
    from sync.engine.runner import start_sync

    now = now or timezone.now()
    started = []
    with_entries = SyncListEntry.objects.values_list("institution_id", flat=True).distinct()
    for institution in Institution.objects.filter(id__in=with_entries):
        if not is_due(institution, now):
            continue
        try:
            run = start_sync(institution, trigger=RunTrigger.NIGHTLY)
        except runs.RunAlreadyActive as exc:
            run = _skipped(institution, "already_running", f"Sync #{exc.run.id} was still running.")
        except runs.QueueUnavailable as exc:  # ended with the cause; the next institution may still go
            run = exc.run
            notify_run_outcome(run)
        started.append(run)
        logger.info("Nightly sync of %s: run %s %s", institution.slug, run.id, run.status)
    return started


def _skipped(institution: Institution, code: str, detail: str) -> SyncRun:
    from sync.engine.issues import record_run_issue
    from sync.engine.reasons import reason

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
    record_run_issue(run, code, detail)
    return run


def notify_run_outcome(run: SyncRun) -> None:
    """One email per event: a nightly sync failed, held changes, or found Canvas needs re-authorizing."""
    if run.trigger != RunTrigger.NIGHTLY or run.params.get("preview"):
        return
    link = settings.SITE_URL.rstrip("/") + reverse("sync-run", args=[run.id])
    name = run.institution.name
    if run.status == RunStatus.SKIPPED:
        _notify_reauth_once(run, link)
    elif run.status == RunStatus.FAILED:
        email_admins(
            run.institution,
            "Nightly sync failed",
            f"The nightly sync of {name} failed.\n\nWhat happened: {run.message}\n\n"
            f"What to do: open {link} for each course's cause and fix, then choose Sync Now.\n"
            "Nothing synced earlier was changed.\n",
        )
    elif run.counts.get("held"):
        email_admins(
            run.institution,
            "Nightly sync held changes for your approval",
            f"The nightly sync of {name} held {run.counts['held']} deactivation(s): some course rosters "
            "would have shrunk drastically at once, which is usually a mistake in Canvas.\n\n"
            f"What to do: open {link}, check those courses in Canvas, and choose Approve if the change is real.\n",
        )


def _notify_reauth_once(run: SyncRun, link: str) -> None:
    conn = CanvasConnection.objects.filter(institution=run.institution).first()
    if conn is None or conn.status != ConnectionStatus.NEEDS_REAUTH:
        return
    claimed = CanvasConnection.objects.filter(id=conn.id, reauth_notified_at__isnull=True).update(
        reauth_notified_at=timezone.now()
    )
    if claimed:
        email_admins(
            run.institution,
            "Canvas needs re-authorization",
            f"The nightly sync of {run.institution.name} did not run: the portal can no longer read Canvas.\n\n"
            f"What happened: {conn.status_reason or 'Canvas refused the portal access token.'}\n"
            "What to do: sign in to the portal, open LMS Settings and choose Generate Key.\n"
            f"Details: {link}\n",
        )


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
