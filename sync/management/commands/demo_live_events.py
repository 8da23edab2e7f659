"""`manage.py demo_live_events [--institution demo]`: instant sync in `make demo`, against the simulator.

What a Canvas admin does once in Data Services, done for the demo and kept done: instant sync is
turned on for the demo institution, and the simulator (CANVAS_SIMULATOR_URL, started with --control)
is subscribed to the institution's webhook with the event types LMS Settings lists. It keeps
watching, so a restarted simulator or a new webhook address (LMS Settings) is subscribed again, and
it runs as long as the demo does (honcho stops every process when one ends). The portal's web
process must verify with the simulator's keys: the Procfile sets LIVE_EVENTS_JWKS_URL for it.
"""

from __future__ import annotations

import time

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse
from django.utils import timezone

from portal.models import Institution
from sync.live.models import LiveSync
from sync.live.status import EVENT_TYPES

CHECK_EVERY_S = 5.0


class Command(BaseCommand):
    help = "Turn instant sync on for the demo institution and keep the Canvas simulator subscribed to its webhook."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--institution", default="demo", help="the institution's slug (default: demo)")
        parser.add_argument("--once", action="store_true", help="subscribe once and exit")

    def handle(self, *args: object, **options: object) -> None:
        if not settings.DEBUG:
            raise CommandError("demo_live_events subscribes a simulator; it runs only with DEBUG on.")
        institution = Institution.objects.filter(slug=options["institution"]).first()
        if institution is None:
            raise CommandError(f"No institution {options['institution']!r}: run `manage.py seed_demo` first.")
        live, _ = LiveSync.objects.get_or_create(institution=institution)
        if not live.enabled:
            live.enabled, live.enabled_at = True, timezone.now()
            live.save(update_fields=["enabled", "enabled_at"])
        announced = False
        while True:
            url = self.webhook_url(institution)
            if url and self.subscribe(url) and not announced:
                self.stdout.write(
                    f"Instant sync is on for {institution.name}: the simulator sends its Live Events to the portal.\n"
                    f"  Change an enrollment in 'Canvas' at {settings.CANVAS_SIMULATOR_URL}/courses/<course id>/users\n"
                    "  (after the course is synced), then watch its department page follow within a minute."
                )
                announced = True
            if options["once"]:
                return
            time.sleep(CHECK_EVERY_S)

    @staticmethod
    def webhook_url(institution: Institution) -> str | None:
        """The webhook of the institution while instant sync is on (None when an admin turned it off)."""
        live = LiveSync.objects.filter(institution=institution, enabled=True).first()
        if live is None:
            return None
        return settings.SITE_URL.rstrip("/") + reverse("live-events-webhook", args=[live.webhook_token])

    def subscribe(self, url: str) -> bool:
        """True once the simulator has a subscription for `url` (others, e.g. an old address, removed)."""
        control = f"{settings.CANVAS_SIMULATOR_URL.rstrip('/')}/_sim/live_events/subscriptions"
        try:
            current = requests.get(control, timeout=5).json().get("subscriptions", [])
            if any(s["url"] == url for s in current):
                return True
            for stale in current:
                requests.delete(f"{control}/{stale['id']}", timeout=5)
            answer = requests.post(
                control, json={"url": url, "event_types": list(EVENT_TYPES), "sign": True}, timeout=5
            )
        except (requests.RequestException, ValueError):
            return False  # the simulator is not up yet (or was restarted): try again shortly
        return answer.status_code == 201
