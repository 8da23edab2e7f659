"""LMS Settings' "Instant sync (Canvas Live Events)" section: off by default, turned on and off, a new
address, the status and its warning; each admin sees and changes only their own institution's."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from lms_canvas.models import CanvasConnection
from sync.live.models import LiveEvent, LiveSync

SETTINGS = reverse("lms-settings")
UNBOUND = "Events from Canvas are not accepted yet"


@pytest.fixture
def bound(institution_a) -> CanvasConnection:
    """A's connection as Verify leaves it: the root account's uuid recorded."""
    conn, _ = CanvasConnection.objects.get_or_create(institution=institution_a)
    conn.root_account_uuid = "a" * 40
    conn.save()
    return conn


def _page(client) -> str:
    r = client.get(SETTINGS)
    assert r.status_code == 200
    return r.content.decode()


def test_it_is_off_by_default(client_a):
    page = _page(client_a)
    assert "Instant sync (Canvas Live Events)" in page
    assert "Instant sync is off." in page
    assert "live-events/canvas/" not in page


def test_turning_it_on_shows_the_address_and_the_canvas_steps(client_a, institution_a):
    r = client_a.post(reverse("instant-sync-switch"), {"enabled": "on"}, follow=True)
    live = LiveSync.objects.get(institution=institution_a)
    assert live.enabled and live.enabled_at is not None
    page = r.content.decode()
    assert "Instant sync is on" in page
    assert f"http://testserver/live-events/canvas/{live.webhook_token}/" in page
    for words in ("Data Services", "Sign Payload", "HTTPS", "enrollment_state_updated", "user_updated", "None yet"):
        assert words in page


def test_turning_it_off_keeps_the_address(client_a, institution_a):
    client_a.post(reverse("instant-sync-switch"), {"enabled": "on"})
    token = LiveSync.objects.get(institution=institution_a).webhook_token
    r = client_a.post(reverse("instant-sync-switch"), {"enabled": "off"}, follow=True)
    assert "Instant sync is off." in r.content.decode()
    live = LiveSync.objects.get(institution=institution_a)
    assert not live.enabled and live.webhook_token == token


def test_a_new_address_replaces_the_old_one(client_a, institution_a):
    client_a.post(reverse("instant-sync-switch"), {"enabled": "on"})
    old = LiveSync.objects.get(institution=institution_a).webhook_token
    r = client_a.post(reverse("instant-sync-rotate"), follow=True)
    new = LiveSync.objects.get(institution=institution_a).webhook_token
    assert new != old and new in r.content.decode() and old not in r.content.decode()
    assert "the old one no longer works" in r.content.decode()
    assert client_a.post(f"/live-events/canvas/{old}/", data="x", content_type="application/jwt").status_code == 404


def test_the_status_counts_todays_events_and_names_the_last(client_a, institution_a, bound):
    now = timezone.now()
    LiveSync.objects.create(institution=institution_a, enabled=True, enabled_at=now, last_event_at=now)
    for i in range(3):
        LiveEvent.objects.create(institution=institution_a, digest=str(i), event_name="enrollment_updated")
    LiveEvent.objects.create(
        institution=institution_a, digest="old", event_name="enrollment_updated", received_at=now - dt.timedelta(days=2)
    )
    page = _page(client_a)
    assert '<dd data-testid="events-today">3</dd>' in page
    assert "just now (" in page and "0\xa0minutes" not in page
    assert "No event has arrived" not in page and UNBOUND not in page


def test_it_warns_when_nothing_arrived_for_a_day_while_on(client_a, institution_a, bound):
    two_days_ago = timezone.now() - dt.timedelta(days=2)
    LiveSync.objects.create(institution=institution_a, enabled=True, enabled_at=two_days_ago)
    page = _page(client_a)
    assert "No event has arrived from Canvas for more than a day" in page
    assert "Data Services" in page


def test_no_warning_in_the_first_day_or_while_off(client_a, institution_a, bound):
    live = LiveSync.objects.create(institution=institution_a, enabled=True, enabled_at=timezone.now())
    assert "No event has arrived" not in _page(client_a)
    live.enabled, live.enabled_at = False, timezone.now() - dt.timedelta(days=3)
    live.save()
    assert "No event has arrived" not in _page(client_a)


def test_it_says_to_check_the_connection_while_it_cannot_tell_our_canvas(client_a, institution_a, bound):
    """A connection verified before instant sync existed, or moved to another server, has no root
    account uuid: every event is dropped as another Canvas's, and Data Services is not where to look."""
    CanvasConnection.objects.filter(id=bound.id).update(root_account_uuid="")
    LiveSync.objects.create(institution=institution_a, enabled=True, enabled_at=timezone.now() - dt.timedelta(days=2))
    page = _page(client_a)
    assert UNBOUND in page and "Check connection" in page
    assert "No event has arrived" not in page  # one warning, the one with the cause
    CanvasConnection.objects.filter(id=bound.id).update(root_account_uuid="a" * 40)
    page = _page(client_a)
    assert UNBOUND not in page and "No event has arrived" in page
    LiveSync.objects.filter(institution=institution_a).update(enabled=False)
    CanvasConnection.objects.filter(id=bound.id).update(root_account_uuid="")
    assert UNBOUND not in _page(client_a)  # off: nothing to warn about


def test_each_admin_sees_and_switches_only_their_own(client, admin_a, admin_b, institution_a, institution_b):
    client.force_login(admin_b)
    client.post(reverse("instant-sync-switch"), {"enabled": "on"})
    b_token = LiveSync.objects.get(institution=institution_b).webhook_token
    assert not LiveSync.objects.filter(institution=institution_a, enabled=True).exists()
    client.force_login(admin_a)
    page = _page(client)
    assert b_token not in page and "Instant sync is off." in page
    client.post(reverse("instant-sync-rotate"))
    assert LiveSync.objects.get(institution=institution_b).webhook_token == b_token


def test_it_requires_access(client, support_user):
    for url in (reverse("instant-sync-switch"), reverse("instant-sync-rotate")):
        r = client.post(url, {"enabled": "on"})
        assert r.status_code == 302 and "/login/" in r["Location"]
    client.force_login(support_user)
    for url in (reverse("instant-sync-switch"), reverse("instant-sync-rotate")):
        assert client.post(url, {"enabled": "on"}).status_code == 403
    assert not LiveSync.objects.exists()
