"""`make demo`'s instant sync: the demo institution turned on and the simulator kept subscribed to it."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from portal.management.commands.seed_demo import seed_demo
from sync.live.models import LiveSync


@pytest.fixture
def demo(db, sim, settings):
    settings.DEBUG = True
    settings.CANVAS_SIMULATOR_URL = sim.url
    settings.SITE_URL = "http://127.0.0.1:8000"
    return seed_demo()


def _subscribed(sim) -> list[str]:
    return [s["url"] for s in sim.app.live_events.subscriptions.values()]


def test_it_turns_instant_sync_on_and_subscribes_the_simulator(demo, sim):
    call_command("demo_live_events", "--once")
    live = LiveSync.objects.get(institution=demo)
    assert live.enabled
    assert _subscribed(sim) == [f"http://127.0.0.1:8000/live-events/canvas/{live.webhook_token}/"]
    call_command("demo_live_events", "--once")
    assert len(_subscribed(sim)) == 1  # kept, not added twice


def test_a_new_address_replaces_the_subscription(demo, sim):
    call_command("demo_live_events", "--once")
    live = LiveSync.objects.get(institution=demo)
    live.rotate_token()
    live.save()
    call_command("demo_live_events", "--once")
    assert _subscribed(sim) == [f"http://127.0.0.1:8000/live-events/canvas/{live.webhook_token}/"]


def test_it_refuses_to_run_without_debug_or_a_demo(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="only with DEBUG on"):
        call_command("demo_live_events", "--once")
    settings.DEBUG = True
    with pytest.raises(CommandError, match="seed_demo"):
        call_command("demo_live_events", "--once")
