"""The Live Events webhook: only events Canvas signed for this institution's Canvas get in, once."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.cache import cache
from django.urls import reverse

from lms_canvas.connect import verify
from lms_canvas.simulator.live_events import ISSUER
from sync.live.coalesce import drain_key
from sync.live.models import LiveEvent, LiveSync

from .live_helpers import claims, post, signed, turn_on


@pytest.fixture
def live(connected, sim, settings) -> LiveSync:
    return turn_on(connected, sim, settings)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _current_kid(sim) -> str:
    return sim.app.live_events.keys.current_kid


def test_a_signed_event_of_our_canvas_is_accepted_and_kept(client, live, sim):
    r = post(client, live, signed(sim, claims()))
    assert r.status_code == 202
    event = LiveEvent.objects.get(institution=live.institution)
    assert (event.event_name, event.canvas_course_id) == ("enrollment_updated", 501)
    live.refresh_from_db()
    assert live.last_event_at is not None


def test_verify_records_the_root_accounts_uuid(connected):
    verify(connected)
    connected.refresh_from_db()
    assert len(connected.root_account_uuid) == 40  # the simulator's uuid of the root account


def test_it_refuses_an_event_signed_with_another_key(client, live, sim):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims(), other, algorithm="RS256", headers={"kid": _current_kid(sim)})
    assert post(client, live, forged).status_code == 401
    assert not LiveEvent.objects.exists()


def test_it_refuses_alg_none(client, live, sim):
    header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": _current_kid(sim)}).encode())
    token = f"{header}.{_b64(json.dumps(claims()).encode())}."
    assert post(client, live, token).status_code == 401
    assert not LiveEvent.objects.exists()


def test_it_refuses_hs256_with_the_public_key_as_the_secret(client, live, sim):
    published = requests.get(f"{sim.url}/_sim/jwks", timeout=5).json()["keys"][1]
    public_pem = jwt.PyJWK(published).key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": published["kid"]}).encode())
    payload = _b64(json.dumps(claims()).encode())
    signature = _b64(hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    assert post(client, live, f"{header}.{payload}.{signature}").status_code == 401
    assert not LiveEvent.objects.exists()


def test_it_refuses_an_expired_event(client, live, sim):
    assert post(client, live, signed(sim, claims(expires_in=-120))).status_code == 401


def test_it_refuses_another_issuer(client, live, sim):
    assert post(client, live, signed(sim, claims(iss="https://evil.example"))).status_code == 401


def test_it_refuses_what_is_not_a_jwt(client, live):
    assert post(client, live, b'{"metadata": {}, "body": {}}').status_code == 401


def test_an_unknown_kid_fetches_the_key_set_again_once(client, live, sim):
    assert post(client, live, signed(sim, claims())).status_code == 202  # the key set is cached now
    sim.control("live_events/rotate")
    sim.control("live_events/rotate")  # signing now with a key the cached set never listed
    assert post(client, live, signed(sim, claims(course_id=502))).status_code == 202
    assert LiveEvent.objects.count() == 2


def test_forged_kids_fetch_the_key_set_again_at_most_once_a_minute(client, live, sim, monkeypatch):
    """A `kid` no published key has fetches the set once; a flood of them must not make every delivery
    a request to the key set's host."""
    from sync.live import keys as live_keys

    fetches = []
    real = live_keys.get_live_events_keys
    monkeypatch.setattr(live_keys, "get_live_events_keys", lambda url: fetches.append(url) or real(url))
    assert post(client, live, signed(sim, claims())).status_code == 202
    assert len(fetches) == 1  # the first read of the set
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for n in range(5):
        forged = jwt.encode(claims(course_id=510 + n), other, algorithm="RS256", headers={"kid": f"forged-{n}"})
        assert post(client, live, forged).status_code == 401
    assert len(fetches) == 2  # one refetch for the first unknown kid, none for the others
    assert post(client, live, signed(sim, claims(course_id=502))).status_code == 202  # the cached set still works


def test_the_webhook_answers_in_a_fraction_of_a_second(client, live, sim):
    """Canvas gives up after 15 s; the issue asks for a fraction of a second. Twenty deliveries with the
    key set cached (as it is between monthly rotations), each timed from request to answer."""
    assert post(client, live, signed(sim, claims())).status_code == 202
    tokens = [signed(sim, claims(course_id=600 + n)) for n in range(20)]
    times = []
    for token in tokens:
        started = time.perf_counter()
        assert post(client, live, token).status_code == 202
        times.append(time.perf_counter() - started)
    times.sort()
    assert times[len(times) // 2] < 0.2, f"median {times[len(times) // 2]:.3f} s"
    assert times[-1] < 1.0, f"slowest {times[-1]:.3f} s"


def test_previous_current_and_next_keys_are_all_accepted(client, live, sim):
    keys = sim.app.live_events.keys
    for index, (kid, private) in enumerate(keys.keys):
        token = jwt.encode(claims(course_id=501 + index), private, algorithm="RS256", headers={"kid": kid})
        assert post(client, live, token).status_code == 202
    assert LiveEvent.objects.count() == 3


def test_a_correctly_signed_event_from_another_canvas_does_nothing(client, live, sim):
    r = post(client, live, signed(sim, claims(root_account_uuid="f" * 40)))
    assert r.status_code == 200
    assert not LiveEvent.objects.exists()


def test_a_duplicate_delivery_is_dropped(client, live, sim):
    event = claims()
    assert post(client, live, signed(sim, event)).status_code == 202
    event["iat"] -= 60  # signed again for the retry: another JWT, the same event
    assert post(client, live, signed(sim, event)).status_code == 200
    assert LiveEvent.objects.count() == 1


def test_an_unknown_or_rotated_address_is_a_404(client, live, sim):
    token = signed(sim, claims())
    assert (
        client.post("/live-events/canvas/not-a-token/", data=token, content_type="application/jwt").status_code == 404
    )
    old = LiveSync.objects.get(id=live.id)
    live.rotate_token()
    live.save()
    assert post(client, old, token).status_code == 404
    assert post(client, live, token).status_code == 202


def test_while_off_events_are_answered_and_dropped(client, live, sim):
    LiveSync.objects.filter(id=live.id).update(enabled=False)
    live.refresh_from_db()
    assert post(client, live, signed(sim, claims())).status_code == 200
    assert not LiveEvent.objects.exists()


def test_an_event_counts_only_for_the_institution_whose_address_it_came_to(client, live, sim, institution_b):
    other = LiveSync.objects.create(institution=institution_b, enabled=True)  # B has no Canvas connection
    assert post(client, other, signed(sim, claims())).status_code == 200
    assert not LiveEvent.objects.filter(institution=institution_b).exists()
    assert post(client, live, signed(sim, claims())).status_code == 202
    assert LiveEvent.objects.get().institution_id == live.institution_id


def test_the_answer_does_not_wait_on_canvas_or_the_sync(client, live, sim, django_capture_on_commit_callbacks):
    """Canvas gives up after 15 s: the webhook reads nothing from Canvas and syncs nothing itself; the
    event's work is one task for a worker, sent once the event is saved."""
    post(client, live, signed(sim, claims(course_id=503)))  # the key set is cached from here on
    before = sim.control("stats")["total_requests"]
    cache.delete(drain_key(live.institution_id))  # as when the first event's drain task has started
    with django_capture_on_commit_callbacks() as callbacks:
        r = post(client, live, signed(sim, claims()))
    assert r.status_code == 202
    assert sim.control("stats")["total_requests"] == before + 1  # only this stats call itself
    assert len(callbacks) == 1  # the drain task, sent; nothing run inline
    assert LiveEvent.objects.filter(handled_at__isnull=True).count() == 2


def test_a_burst_of_deliveries_sends_one_task(client, live, sim, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        for course_id in (501, 502, 503, 501):
            assert post(client, live, signed(sim, claims(course_id=course_id))).status_code in (200, 202)
    assert len(callbacks) == 1


def _settings_page(client, admin) -> str:
    client.force_login(admin)
    return client.get(reverse("lms-settings")).content.decode()


def test_a_subscription_set_up_wrong_in_canvas_is_named_on_lms_settings(client, live, sim, admin_a):
    """Every delivery of a subscription saved with Sign Payload off, in the Caliper format or in another
    Canvas is refused; Canvas tells only its creator when it gives up, so LMS Settings says why."""
    assert post(client, live, json.dumps(claims())).status_code == 401  # Sign Payload off: plain JSON
    assert "turn Sign Payload on" in _settings_page(client, admin_a)
    now = int(time.time())
    caliper = {"iss": ISSUER, "exp": now + 300, "sensor": "canvas", "data": [{"type": "Event"}]}
    assert post(client, live, signed(sim, caliper)).status_code == 401
    assert "choose the Canvas format, not Caliper" in _settings_page(client, admin_a)
    assert post(client, live, signed(sim, claims(root_account_uuid="f" * 40))).status_code == 200
    assert "other than the one connected" in _settings_page(client, admin_a)
    assert post(client, live, signed(sim, claims())).status_code == 202
    assert "was refused" not in _settings_page(client, admin_a)  # an event got in since: fixed


def test_a_key_set_canvas_cannot_serve_is_not_the_admins_to_fix(client, live, sim, admin_a, settings):
    settings.LIVE_EVENTS_JWKS_URL = f"{sim.url}/_sim/no-such-key-set"
    assert post(client, live, signed(sim, claims())).status_code == 401  # Canvas retries it later
    assert "was refused" not in _settings_page(client, admin_a)


def test_refusals_never_log_the_address(client, live, sim, caplog):
    token = signed(sim, claims(root_account_uuid="f" * 40))
    post(client, live, b"not a jwt")
    client.post("/live-events/canvas/not-a-token/", data=token, content_type="application/jwt")
    assert caplog.records and live.webhook_token not in caplog.text and "not-a-token" not in caplog.text


def test_error_reports_never_hold_the_address(live):
    from portal.sentry import redact

    url = f"https://portal.example.edu/live-events/canvas/{live.webhook_token}/"
    assert live.webhook_token not in redact(f"POST {url} failed")
    assert "/live-events/canvas/" in redact(url)
