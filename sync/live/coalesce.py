"""From events to refetches: each event marks its synced course; a course whose events have gone quiet
for LIVE_EVENTS_QUIET_SECONDS (or that has waited LIVE_EVENTS_MAX_WAIT_SECONDS under a steady trickle)
is refetched by the engine's own sync run, one run for every course due at once (trigger "Live
event"), so a burst of thousands of events for one course is one refetch and View History shows one
entry per window with the courses it touched."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from lms_canvas.models import CanvasConnection
from portal.models import Institution
from sync.engine.runner import start_sync
from sync.live.models import LiveEvent, PendingCourse
from sync.models import RunTrigger, SyncListEntry, SyncRun
from sync.runs import lifecycle

logger = logging.getLogger(__name__)

FLUSH_TASK = "sync.tasks.flush_live_courses_task"
DRAIN_TASK = "sync.tasks.handle_live_events_task"
DRAIN_S = 0.5
DRAIN_KEY_S = 10  # were a drain task lost, the next event after this long sends another
# Accepted events are kept this long: the status's "events today", and the duplicates Canvas's retries
# (over about 20 minutes) bring, are all within it.
KEEP_EVENTS = dt.timedelta(days=2)
BUSY_RETRY_S = 5.0  # another sync of the institution is running: look again this much later
# When a refetch starts, a pending course whose events stopped at least this long ago joins it: the
# courses of one burst (an SIS import touches many) go quiet within a second of one another, and one
# run for all of them is one View History entry instead of a run per straggler.
JOIN_AFTER_S = 1.0


def _quiet() -> dt.timedelta:
    return dt.timedelta(seconds=settings.LIVE_EVENTS_QUIET_SECONDS)


def _max_wait() -> dt.timedelta:
    return dt.timedelta(seconds=settings.LIVE_EVENTS_MAX_WAIT_SECONDS)


def mark(institution_id: int, canvas_course_id: int, now: dt.datetime | None = None, *, events: int = 1) -> None:
    """Events said this synced course changed: (re)start its quiet window and make sure a flush comes."""
    now = now or timezone.now()
    pending = PendingCourse.objects.filter(institution_id=institution_id, canvas_course_id=canvas_course_id)
    if not pending.update(last_event_at=now, events=F("events") + events):
        try:
            with transaction.atomic():
                PendingCourse.objects.create(
                    institution_id=institution_id,
                    canvas_course_id=canvas_course_id,
                    first_event_at=now,
                    last_event_at=now,
                    events=events,
                )
        except IntegrityError:  # another worker marked it first
            pending.update(last_event_at=now, events=F("events") + events)
    schedule_flush(institution_id, settings.LIVE_EVENTS_QUIET_SECONDS)


def schedule_drain(institution_id: int, *, again: bool = False) -> None:
    """The webhook, after saving an event: one task handles every event that arrived within DRAIN_S of
    it (a burst's thousands are a few tasks, not one each); `again`: more are waiting now."""
    if again or cache.add(drain_key(institution_id), 1, timeout=DRAIN_KEY_S):
        task = lifecycle.task_named(DRAIN_TASK)
        transaction.on_commit(lambda: task.apply_async((institution_id,), countdown=0 if again else DRAIN_S))


def drain_key(institution_id: int) -> str:
    """Set while a drain task is on its way; the task deletes it first, so an event saved after that
    sends the next one (and one saved before is in what the task reads)."""
    return f"live-drain:{institution_id}"


def schedule_flush(institution_id: int, delay_s: float) -> None:
    """One flush task waiting per institution: later marks find it scheduled and send none."""
    if cache.add(f"live-flush:{institution_id}", 1, timeout=max(1, int(delay_s))):
        flush_task = lifecycle.task_named(FLUSH_TASK)
        transaction.on_commit(lambda: flush_task.apply_async((institution_id,), countdown=delay_s))


def flush(institution_id: int, now: dt.datetime | None = None) -> SyncRun | None:
    """Start the refetch of every pending course whose window has ended; schedule the next look."""
    now = now or timezone.now()
    cache.delete(f"live-flush:{institution_id}")
    LiveEvent.objects.filter(institution_id=institution_id, received_at__lt=now - KEEP_EVENTS).delete()
    pending = list(PendingCourse.objects.filter(institution_id=institution_id))
    due = [p for p in pending if p.last_event_at <= now - _quiet() or p.first_event_at <= now - _max_wait()]
    if due:
        settled = now - dt.timedelta(seconds=JOIN_AFTER_S)
        due += [p for p in pending if p not in due and p.last_event_at <= settled]
    run = None
    if due:
        run = _refetch(institution_id, due)
        if run is None:  # busy: try the same courses again shortly
            schedule_flush(institution_id, BUSY_RETRY_S)
            return None
    waiting = [p for p in pending if p not in due]
    if waiting:
        next_due = min(min(p.last_event_at + _quiet(), p.first_event_at + _max_wait()) for p in waiting)
        schedule_flush(institution_id, max(0.5, (next_due - now).total_seconds()))
    return run


def _refetch(institution_id: int, due: list[PendingCourse]) -> SyncRun | None:
    institution = Institution.objects.get(id=institution_id)
    course_ids = sorted({p.canvas_course_id for p in due})
    on_list = set(
        SyncListEntry.objects.filter(institution=institution, course__canvas_id__in=course_ids).values_list(
            "course__canvas_id", flat=True
        )
    )
    conn = CanvasConnection.objects.filter(institution=institution).first()
    run = None
    if on_list and conn is not None and conn.is_verified:
        try:
            run = start_sync(institution, trigger=RunTrigger.LIVE_EVENT, courses=sorted(on_list))
        except lifecycle.RunAlreadyActive:
            return None
        except lifecycle.QueueUnavailable as exc:
            logger.error("Instant sync of %s: the task queue refused run %s", institution.slug, exc.run.id)
            return None
    # Not verified or no longer listed: nothing to refetch now; the nightly sync (or the next event) will.
    for p in due:
        PendingCourse.objects.filter(id=p.id, last_event_at__lte=p.last_event_at).delete()
    return run
