"""The nightly sync: which institutions are due, and starting them (the emails about how it went are
sync.runs.notify's).

Celery beat calls `dispatch_nightly` every minute (PERIODIC_TASKS below: created by a migration,
reconciled whenever beat starts, and by `setup_schedules` for support). An institution is
due once its local time has reached its nightly sync hour and no nightly sync has started since
then, so a beat that was down at that hour catches up when it comes back, and never runs twice.
A night missed by more than CATCH_UP is left to the next night: a beat back at noon, or an hour
changed to one already past today, does not start a "nightly" sync in the middle of the day.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.utils import timezone

from lms_canvas.models import CanvasConnection
from portal.clock import clock_text
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
RETENTION_TASK_NAME = "History: remove runs and resolved problems past their retention"
RETENTION_TASK = "sync.tasks.remove_old_history_task"
PERIODIC_TASKS = {
    PERIODIC_TASK_NAME: (PERIODIC_TASK, 60),
    REAPER_TASK_NAME: (REAPER_TASK, 30),
    RETENTION_TASK_NAME: (RETENTION_TASK, 3600),
}
# How late a nightly sync may still start, after its hour, when beat was down at that hour.
CATCH_UP = dt.timedelta(hours=6)


def nightly_slot(institution: Institution, now: dt.datetime) -> dt.datetime:
    """Today's nightly sync time in the institution's time zone (aware)."""
    local = timezone.localtime(now, institution.tz)
    return local.replace(hour=institution.nightly_sync_hour, minute=0, second=0, microsecond=0)


def is_due(institution: Institution, now: dt.datetime) -> bool:
    """Its hour has come (today's, or last night's for an hour late in the evening) at most CATCH_UP ago,
    and no nightly sync has started since."""
    slot = nightly_slot(institution, now)
    if now < slot:
        slot = nightly_slot(institution, now - dt.timedelta(days=1))  # yesterday's, if it is still in reach
    if not slot <= now < slot + CATCH_UP:
        return False
    done = SyncRun.objects.filter(
        institution=institution, kind=RunKind.SYNC, trigger=RunTrigger.NIGHTLY, created_at__gte=slot
    )
    return not done.exists()


@dataclass(frozen=True)
class NextSync:
    """When the nightly sync starts next, as LMS Settings, View History, the dashboard and the schedule
    page all say it."""

    at: dt.datetime | None  # in the institution's time zone; None: no nightly sync will start
    due_now: bool = False  # its hour has come and it has not started yet: beat starts it within a minute
    caveat: str = ""  # why it will start but sync nothing, or (with no time) why none will start
    today: dt.date | None = None  # the institution's local date now, to say "today" or "tomorrow"

    @property
    def text(self) -> str:
        if self.at is None:
            return f"none — {self.caveat}"
        when = "due now (it starts within a minute)" if self.due_now else f"{self._day()} at {local_time_text(self.at)}"
        return when + (f", but {self.caveat}" if self.caveat else "")

    def _day(self) -> str:
        assert self.at is not None
        if self.at.date() == self.today:
            return "today"
        if self.today and self.at.date() == self.today + dt.timedelta(days=1):
            return "tomorrow"
        return f"{self.at:%A} {self.at.day} {self.at:%B}"


def local_time_text(at: dt.datetime) -> str:
    """ "2:00 a.m. EST (America/New_York)", "midnight UTC": the time and the zone it is in."""
    zone, abbreviation = str(at.tzinfo), at.tzname() or ""
    return f"{clock_text(at.hour, at.minute)} {abbreviation}" + (f" ({zone})" if zone != abbreviation else "")


def next_nightly_sync(institution: Institution, now: dt.datetime | None = None) -> NextSync:
    """The one answer to "when does the nightly sync run next?", by the rules dispatch_nightly follows."""
    now = now or timezone.now()
    today = timezone.localtime(now, institution.tz).date()
    if not SyncListEntry.objects.filter(institution=institution).exists():
        return NextSync(None, caveat="nothing is on the sync list yet", today=today)
    conn = CanvasConnection.objects.filter(institution=institution).first()
    caveat = (
        "" if conn is not None and conn.is_verified else "it will be skipped until the Canvas connection is Verified"
    )
    slot, due = nightly_slot(institution, now), is_due(institution, now)
    if slot <= now and not due:  # today's has started: tomorrow's, at that day's offset from UTC
        tomorrow = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(institution.nightly_sync_hour))
        slot = tomorrow.replace(tzinfo=institution.tz)
    # Through UTC, so an hour that does not exist on a spring-forward day reads as the hour it runs at.
    at = slot.astimezone(dt.UTC).astimezone(institution.tz)
    return NextSync(at, due_now=due, caveat=caveat, today=today)


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
            if exc.run.trigger == RunTrigger.LIVE_EVENT:
                continue  # an instant sync's few courses end within a minute: start at the next tick instead
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
