"""Helpers for instant sync's tests: a Verified institution with instant sync on, and Canvas-format
events signed by the running simulator's Live Events keys (or forged in the ways the tests need)."""

from __future__ import annotations

import time
from typing import Any

from django.urls import reverse
from django.utils import timezone

from lms_canvas.connect import client_for
from lms_canvas.models import CanvasConnection
from lms_canvas.simulator.live_events import ISSUER
from lms_canvas.simulator.shapes import uuid_for
from sync.live.models import LiveSync


def turn_on(conn: CanvasConnection, sim, settings) -> LiveSync:
    """Instant sync on for `conn`'s institution, with the simulator's key set as Canvas's."""
    settings.LIVE_EVENTS_JWKS_URL = f"{sim.url}/_sim/jwks"
    conn.root_account_uuid = client_for(conn).get_account("self").uuid
    conn.save(update_fields=["root_account_uuid"])
    live, _ = LiveSync.objects.get_or_create(institution=conn.institution)
    live.enabled, live.enabled_at = True, timezone.now()  # as the switch on LMS Settings leaves it
    live.save()
    return live


def hook_url(live: LiveSync) -> str:
    return reverse("live-events-webhook", args=[live.webhook_token])


def claims(
    event_name: str = "enrollment_updated",
    *,
    course_id: int = 501,
    root_account_uuid: str | None = None,
    body: dict | None = None,
    iss: str = ISSUER,
    expires_in: int = 300,
) -> dict[str, Any]:
    now = int(time.time())
    metadata = {
        "event_name": event_name,
        "event_time": "2026-12-01T10:00:00.123Z",
        "root_account_uuid": root_account_uuid or uuid_for("account", 1),
        "root_account_id": "21070000000000001",
        "context_type": "Course",
        "context_id": str(21070000000000000 + course_id),
        "producer": "canvas",
    }
    default_body = {
        "enrollment_id": "21070000000009001",
        "course_id": str(21070000000000000 + course_id),
        "user_id": "21070000000000101",
        "type": "StudentEnrollment",
        "workflow_state": "active",
    }
    return {"metadata": metadata, "body": body or default_body, "iss": iss, "iat": now, "exp": now + expires_in}


def signed(sim, event: dict) -> str:
    """As Canvas's Live Events service signs it: the simulator's current key."""
    return sim.app.live_events.keys.sign(event)


def post(client, live: LiveSync, token: str | bytes):
    return client.post(hook_url(live), data=token, content_type="application/jwt")
