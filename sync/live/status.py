"""What LMS Settings says about instant sync: on or off, when the last event came, how many today, and
whether to worry (on, and nothing for a day: Canvas switches off a failing subscription and emails
only the person who created it, so the portal is where the admin finds out)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from lms_canvas.models import CanvasConnection
from portal.models import Institution
from sync.live import refusals
from sync.live.models import LiveEvent, LiveSync

SILENT_AFTER = dt.timedelta(days=1)
# What to choose in Canvas's Data Services page, in the guide's words (CANVAS_API.md §9).
EVENT_TYPES = (
    "enrollment_created",
    "enrollment_updated",
    "enrollment_state_created",
    "enrollment_state_updated",
    "course_updated",
    "course_section_created",
    "course_section_updated",
    "user_updated",
)


@dataclass(frozen=True)
class LiveStatus:
    enabled: bool
    last_event_at: dt.datetime | None
    events_today: int
    silent: bool  # on for a day or more with nothing received in the last day
    # On, but no root account uuid recorded (a connection verified before instant sync existed, or
    # moved to another server since): receive.py drops every event as another Canvas's until Verify.
    unbound: bool = False
    # The last delivery refused since the last one accepted, and why (Sign Payload off, Caliper, ...).
    refused: refusals.Refusal | None = None


def live_sync_of(institution: Institution) -> LiveSync:
    live, _ = LiveSync.objects.get_or_create(institution=institution)
    return live


def status_of(live: LiveSync, now: dt.datetime | None = None) -> LiveStatus:
    now = now or timezone.now()
    midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    today = LiveEvent.objects.filter(institution_id=live.institution_id, received_at__gte=midnight).count()
    since = max(t for t in (live.last_event_at, live.enabled_at, now - SILENT_AFTER * 2) if t is not None)
    unbound = live.enabled and not (
        CanvasConnection.objects.filter(institution_id=live.institution_id)
        .values_list("root_account_uuid", flat=True)
        .first()
    )
    # Unbound, the silence has that one cause: one warning, the one that says what to do.
    silent = live.enabled and not unbound and now - since >= SILENT_AFTER
    refused = refusals.last(live.institution_id) if live.enabled and not unbound else None
    if refused is not None and live.last_event_at is not None and refused.at <= live.last_event_at:
        refused = None  # an event got in after it: whatever it was is fixed
    return LiveStatus(live.enabled, live.last_event_at, today, silent, unbound, refused)
