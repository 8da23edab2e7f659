"""Access tokens: refreshed before expiry and after a rejection, single-flight, and loss of access explained."""

from __future__ import annotations

import logging
import threading

import pytest
from django.core import mail
from django.db import connections
from django.utils import timezone

from lms_canvas import connect, oauth
from lms_canvas.errors import TokenInvalid
from lms_canvas.models import CanvasConnection, ConnectionStatus


def test_an_expired_token_is_refreshed_transparently(connected, sim):
    old = connected.access_token
    sim.control("clock", {"advance_s": 3700})
    account = connect.client_for(connected).get_account("self")
    assert account.id == 1
    connected.refresh_from_db()
    assert connected.access_token != old and connected.is_verified
    assert sim.control("stats")["tokens_refreshed"] == 1


def test_a_token_rejected_early_is_refreshed_once_and_the_call_succeeds(connected, sim):
    stale = connected.access_token
    # Another process refreshed: Canvas regenerated the token, so the one we hold is now refused.
    refreshed = oauth.refresh_access_token(connected.id, rejected_token=stale)
    assert sim.api(stale).get(sim.url + "/api/v1/accounts/self").status_code == 401
    assert connect.client_for(connected).get_account("self").id == 1
    connected.refresh_from_db()
    assert connected.access_token == refreshed


def test_a_refused_refresh_needs_reauthorization_and_emails_admins_once(connected, sim, admin_a):
    sim.control("tokens/revoke")
    sim.control("clock", {"advance_s": 3700})
    for _ in range(2):
        with pytest.raises(TokenInvalid) as excinfo:
            connect.client_for(connected).get_account("self")
    assert "Generate Key" in excinfo.value.fix
    connected.refresh_from_db()
    assert connected.status == ConnectionStatus.NEEDS_REAUTH
    assert "refused to renew" in connected.status_reason
    assert not connected.access_token and not connected.refresh_token
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["alice@alpha.test"]
    assert "Generate Key" in mail.outbox[0].body


def test_verifying_again_clears_the_once_only_email_guard(connected, sim, admin_a):
    sim.control("tokens/revoke")
    sim.control("clock", {"advance_s": 3700})
    with pytest.raises(TokenInvalid):
        connect.client_for(connected).get_account("self")
    token = sim.issue_token()
    connected.refresh_from_db()
    oauth.store_tokens(connected, token)
    connected.save()
    assert connect.verify(connected) == []
    connected.refresh_from_db()
    assert connected.is_verified and connected.reauth_notified_at is None


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_refreshes_make_one_token_call(institution_a, sim):
    from tests.conftest import connect_to

    conn = connect_to(institution_a, sim)
    sim.control("clock", {"advance_s": 3700})
    CanvasConnection.objects.filter(id=conn.id).update(token_expires_at=timezone.now())
    results: list[str] = []
    errors: list[Exception] = []
    barrier = threading.Barrier(2)

    def refresh() -> None:
        try:
            barrier.wait()
            results.append(oauth.ConnectionTokens(conn.id).access_token())
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=refresh) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(results)) == 1
    assert sim.control("stats")["tokens_refreshed"] == 1


def test_no_token_or_secret_reaches_the_logs(connected, sim, caplog):
    caplog.set_level(logging.DEBUG)
    sim.control("clock", {"advance_s": 3700})
    connect.client_for(connected).get_account("self")
    connected.refresh_from_db()
    for secret in (connected.access_token, connected.refresh_token, connected.client_secret):
        assert secret not in caplog.text
