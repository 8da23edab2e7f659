"""Issue 15 item 1, LMS Settings' Save: a Save that Canvas would refuse, or that changes nothing, never
touches a Verified connection; key details Canvas accepts still replace it (test_settings_service.py::
test_new_key_details_forget_the_old_tokens). Over real HTTP to the simulator."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.urls import reverse

from lms_canvas import connect
from lms_canvas.http import RetryPolicy
from lms_canvas.models import ConnectionStatus
from lms_canvas.simulator.generator import DEMO_KEY_ID, DEMO_SECRET
from lms_canvas.simulator.testing import browser_authorize
from tests.lms_canvas.test_connect_flow import conn_of, generate_key_and_authorize, page_text, save_settings


@pytest.fixture
def verified(client_a, sim, institution_a):
    save_settings(client_a, sim)
    generate_key_and_authorize(client_a, sim)
    conn = conn_of(institution_a)
    assert conn.status == ConnectionStatus.VERIFIED, conn.status_reason
    return conn


def assert_unchanged(before, after) -> None:
    assert after.status == ConnectionStatus.VERIFIED and after.status_reason == ""
    assert (after.access_token, after.refresh_token, after.verified_at) == (
        before.access_token,
        before.refresh_token,
        before.verified_at,
    )
    assert (after.client_id, after.client_secret, after.server_url) == (
        before.client_id,
        before.client_secret,
        before.server_url,
    )


def test_the_same_secret_typed_again_keeps_the_connection(client_a, sim, verified, institution_a):
    r = save_settings(client_a, sim, client_secret=DEMO_SECRET)

    assert "Saved." in page_text(r)
    assert_unchanged(verified, conn_of(institution_a))


def test_a_wrong_secret_is_not_saved_and_the_connection_keeps_working(client_a, sim, verified, institution_a):
    r = save_settings(client_a, sim, client_secret="not-" + DEMO_SECRET)

    body = page_text(r)
    assert "Not saved" in body
    assert "Canvas refused the Client Secret" in body
    assert "Your existing connection is unchanged: it is still Verified" in body
    assert "not-" + DEMO_SECRET not in body
    assert_unchanged(verified, conn_of(institution_a))


def test_an_unknown_client_id_is_not_saved_and_the_connection_keeps_working(client_a, sim, verified, institution_a):
    r = save_settings(client_a, sim, client_id=str(DEMO_KEY_ID + 999), client_secret="")

    body = page_text(r)
    assert "Not saved" in body and f"Client ID {DEMO_KEY_ID + 999}" in body
    assert_unchanged(verified, conn_of(institution_a))


def test_an_unreachable_server_is_not_saved_and_the_connection_keeps_working(client_a, sim, verified, institution_a):
    r = save_settings(client_a, sim, server_url="http://127.0.0.1:9", client_secret=DEMO_SECRET)

    body = page_text(r)
    assert "Not saved" in body and "could not reach the Canvas Server" in body
    assert_unchanged(verified, conn_of(institution_a))


def test_a_connection_not_verified_saves_refused_details_with_the_reason(client_a, sim, institution_a):
    save_settings(client_a, sim)
    r = save_settings(client_a, sim, client_secret="not-" + DEMO_SECRET)

    assert "Canvas refused the Client Secret" in page_text(r)
    conn = conn_of(institution_a)
    assert conn.client_secret == "not-" + DEMO_SECRET and "Client Secret" in conn.status_reason


def test_a_new_token_that_cannot_read_the_account_does_not_replace_the_working_one(
    client_a, sim, verified, institution_a
):
    """Canvas authorized someone whose token cannot read the account (a teacher's, not an admin's):
    the working tokens stay and the page says why the new one was not taken."""
    r = client_a.post(reverse("canvas-generate-key"))
    answer = browser_authorize(sim.url, r["Location"])
    live = sim.app.auth.live_tokens()
    sim.control("faults", {"error_rate": 1.0, "error_status": 401, "paths": "^/api/v1/accounts/self$"})
    try:
        r = client_a.get(reverse("canvas-callback") + "?" + urlencode(answer), follow=True)
    finally:
        sim.control("faults", {})

    body = page_text(r)
    assert "Canvas authorized the portal, but the new token could not read the Canvas account" in body
    assert "Your existing connection is unchanged: it is still Verified" in body
    assert "Traceback" not in body and "TokenInvalid" not in body and "ScopeMissing" not in body
    assert_unchanged(verified, conn_of(institution_a))
    assert connect.verify(conn_of(institution_a)) == []  # and the kept token still works
    assert sim.app.auth.live_tokens() == live  # the refused new one was revoked at Canvas, not left live


def test_a_pasted_token_canvas_refuses_does_not_replace_a_working_connection(client_a, sim, verified, institution_a):
    r = client_a.post(
        reverse("lms-settings"),
        {"lms_type": "access_token", "server_url": sim.url, "access_token": "x" * 64},
        follow=True,
    )

    body = page_text(r)
    assert "Not saved" in body and "The pasted access token could not read the Canvas account" in body
    assert "x" * 64 not in body
    after = conn_of(institution_a)
    assert after.lms_type == "dev_key"
    assert_unchanged(verified, after)


def test_a_pasted_token_that_works_replaces_the_connection(client_a, sim, verified, institution_a):
    pasted = sim.issue_token()["access_token"]
    r = client_a.post(
        reverse("lms-settings"),
        {"lms_type": "access_token", "server_url": sim.url, "access_token": pasted},
        follow=True,
    )

    assert "Verified: the portal can read Canvas." in page_text(r)
    after = conn_of(institution_a)
    assert (after.lms_type, after.access_token, after.status) == ("access_token", pasted, ConnectionStatus.VERIFIED)


def test_check_connection_while_canvas_is_down_keeps_it_verified(client_a, sim, verified, institution_a, monkeypatch):
    """A Canvas outage during Check connection says so; it is no proof the token stopped working, so it
    does not block Refresh, Sync Now and the nightly sync."""
    monkeypatch.setattr(RetryPolicy, "delay", lambda self, retry: 0.0)
    sim.control("faults", {"error_rate": 1.0, "error_status": 503, "paths": "^/api/v1/"})
    try:
        r = client_a.post(reverse("canvas-reverify"), follow=True)
    finally:
        sim.control("faults", {})

    body = page_text(r)
    assert "HTTP 503" in body and "Your existing connection is unchanged: it is still Verified" in body
    assert_unchanged(verified, conn_of(institution_a))


def test_check_connection_with_a_revoked_token_is_not_verified(client_a, sim, verified, institution_a):
    sim.control("tokens/revoke")
    client_a.post(reverse("canvas-reverify"), follow=True)
    assert conn_of(institution_a).status != ConnectionStatus.VERIFIED


def test_disconnect_asks_first_and_changes_nothing_until_confirmed(client_a, sim, verified, institution_a):
    body = page_text(client_a.post(reverse("canvas-disconnect")))

    assert "<h1>Disconnect from Canvas?</h1>" in body
    assert "Sync Now, the nightly sync and posting grades stop" in body
    assert 'name="confirmed" value="1"' in body
    assert_unchanged(verified, conn_of(institution_a))
    assert client_a.get(reverse("canvas-disconnect")).status_code == 405  # a link cannot disconnect


def test_new_key_details_on_a_working_connection_are_preflighted_once(client_a, sim, verified, monkeypatch):
    asked = []
    monkeypatch.setattr("lms_canvas.oauth.preflight", lambda conn: asked.append(conn.client_id) or [])
    r = save_settings(client_a, sim, client_id=str(DEMO_KEY_ID + 1), client_secret="")
    assert "choose Generate Key to authorize the portal" in page_text(r)
    assert asked == [str(DEMO_KEY_ID + 1)]  # Canvas asked once, not again after the check


def test_an_https_address_on_a_plain_http_server_is_not_blamed_on_the_key(client_a, sim, verified, institution_a):
    """The simulator speaks plain http, so https to its port fails the TLS handshake: no Canvas answered,
    nothing is known against the key."""
    typed = sim.url.replace("http://", "https://")
    r = save_settings(client_a, sim, server_url=typed, client_secret=DEMO_SECRET)

    body = page_text(r)
    assert f"could not reach the Canvas Server {typed} securely" in body
    assert "the address your browser shows when you use Canvas, starting with https://" in body
    assert "Not saved: the portal could not reach a Canvas server at that Canvas Server address" in body
    assert "refuses these key details" not in body and "refused" not in body
    assert_unchanged(verified, conn_of(institution_a))


def test_a_refused_save_keeps_what_was_typed_and_asks_for_the_secret_again(client_a, sim, verified, institution_a):
    typed = sim.url.replace("http://", "https://")
    r = save_settings(client_a, sim, server_url=typed, client_secret=DEMO_SECRET)

    body = page_text(r)
    assert f'id="id_server_url" value="{typed}"' in body
    assert "the Client Secret you typed was not kept: type it again before you Save" in body
    assert DEMO_SECRET not in body
    assert_unchanged(verified, conn_of(institution_a))


def test_check_connection_with_a_revoked_token_says_so_in_words_for_this_page(client_a, sim, verified, institution_a):
    sim.control("tokens/revoke")
    body = page_text(client_a.post(reverse("canvas-reverify"), follow=True))

    assert "Canvas refused to renew the portal&#x27;s access: the authorization given in Canvas was revoked" in body
    assert "refresh_token" not in body and "not found" not in body
    assert "Open LMS Settings" not in body
    assert "What to do: Choose Generate Key to authorize the portal again." in body
    assert conn_of(institution_a).status == ConnectionStatus.NEEDS_REAUTH
