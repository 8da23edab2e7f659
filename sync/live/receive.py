"""What the webhook does with a delivery, quickly, before it answers: verify, bind to the institution,
keep it once, and hand it to a worker. Canvas waits 15 s for the answer and retries whatever it
takes for a failure, so nothing here reads Canvas or does the event's work."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from enum import StrEnum
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from lms_canvas.models import CanvasConnection
from sync.live import keys
from sync.live.coalesce import schedule_drain
from sync.live.models import LiveEvent, LiveSync
from sync.runs.lifecycle import QUEUE_ERRORS

logger = logging.getLogger(__name__)

GLOBAL_ID_BASE = 10**13
LAST_EVENT_EVERY = dt.timedelta(seconds=1)  # Canvas's global ids: shard x 10^13 + the local id


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    OTHER_CANVAS = "other_canvas"  # correctly signed, for a Canvas this institution is not connected to
    OFF = "off"  # instant sync is off: answered, so Canvas stops retrying, and dropped


def local_id(value: Any) -> int | None:
    """Canvas's local id from an event's id, global ("21070000000004811") or local ("4811")."""
    try:
        return int(str(value)) % GLOBAL_ID_BASE
    except ValueError:
        return None


def course_of(claims: dict[str, Any]) -> int | None:
    """The Canvas course an event is about, if it says (user events do not)."""
    metadata, body = claims["metadata"], claims["body"]
    if "course_id" in body:
        return local_id(body["course_id"])
    if metadata.get("context_type") == "Course" and "context_id" in metadata:
        return local_id(metadata["context_id"])
    return None


def digest_of(claims: dict[str, Any]) -> str:
    """The same event delivered twice has the same digest, whatever its JWT's times."""
    event = {"metadata": claims["metadata"], "body": claims["body"]}
    return hashlib.sha256(json.dumps(event, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def receive(live: LiveSync, body: bytes) -> Outcome:
    """Raises keys.InvalidEvent for a body Canvas did not sign (the view answers 401)."""
    claims = keys.verify(body)
    if not live.enabled:
        return Outcome.OFF
    conn_uuid = (
        CanvasConnection.objects.filter(institution_id=live.institution_id)
        .values_list("root_account_uuid", flat=True)
        .first()
    )
    if not conn_uuid or claims["metadata"].get("root_account_uuid") != conn_uuid:
        logger.warning("Live event for another Canvas ignored (institution %s)", live.institution_id)
        return Outcome.OTHER_CANVAS
    now = timezone.now()
    try:
        with transaction.atomic():
            LiveEvent.objects.create(
                institution_id=live.institution_id,
                digest=digest_of(claims),
                event_name=str(claims["metadata"].get("event_name", ""))[:64],
                event_time=str(claims["metadata"].get("event_time", ""))[:40],
                canvas_course_id=course_of(claims),
                payload={"metadata": claims["metadata"], "body": claims["body"]},
                received_at=now,
            )
    except IntegrityError:
        return Outcome.DUPLICATE
    # At most once a second: a burst's deliveries would otherwise queue on this one row's lock.
    LiveSync.objects.filter(id=live.id).exclude(last_event_at__gt=now - LAST_EVENT_EVERY).update(last_event_at=now)
    _enqueue(live.institution_id)
    return Outcome.ACCEPTED


def _enqueue(institution_id: int) -> None:
    try:
        schedule_drain(institution_id)
    except QUEUE_ERRORS:  # the answer to Canvas must not fail for it: the next event, or the nightly, catches up
        logger.exception("Live events of institution %s: the task queue refused them", institution_id)
