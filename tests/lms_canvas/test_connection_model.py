"""CanvasConnection's per-object facts: one reset, the account it reads under, the re-authorization email."""

from __future__ import annotations

import pytest
from django.core import mail
from django.utils import timezone

from lms_canvas.models import CanvasConnection, ConnectionStatus, LmsType
from lms_canvas.notify import notify_reauth_once

pytestmark = pytest.mark.django_db


@pytest.fixture
def verified(institution_a, admin_a) -> CanvasConnection:
    return CanvasConnection.objects.create(
        institution=institution_a,
        server_url="https://canvas.alpha.test",
        client_id="10000000000001",
        client_secret="s3cret",
        access_token="tok",
        refresh_token="ref",
        token_expires_at=timezone.now(),
        status=ConnectionStatus.VERIFIED,
        verified_at=timezone.now(),
        verified_by=admin_a,
        root_account_id=7,
        capabilities={"accounts": {"label": "Accounts", "ok": True, "message": "", "fix": ""}},
    )


def test_reset_forgets_tokens_and_verification_but_keeps_the_key(verified):
    verified.reset("Disconnected by an admin.")
    verified.save()
    verified.refresh_from_db()
    assert (verified.access_token, verified.refresh_token, verified.token_expires_at) == ("", "", None)
    assert verified.status == ConnectionStatus.NOT_VERIFIED
    assert verified.status_reason == "Disconnected by an admin."
    assert verified.verified_at is None and verified.verified_by is None and verified.capabilities == {}
    assert verified.client_secret == "s3cret" and verified.root_account_id == 7


def test_reset_without_a_secret_is_not_configured(verified):
    verified.client_secret = ""
    verified.reset("")
    assert verified.status == ConnectionStatus.NOT_CONFIGURED


def test_a_move_to_another_server_resets_and_forgets_what_belonged_to_the_old_one(verified):
    assert verified.change_server_url("https://canvas.other.test")
    assert verified.status == ConnectionStatus.NOT_CONFIGURED and "Canvas Server changed" in verified.status_reason
    assert not verified.client_secret and not verified.access_token and verified.capabilities == {}
    assert verified.root_account_id is None and verified.account_ref == "self"


def test_the_account_ref_is_the_root_account_once_known(verified):
    assert verified.account_ref == 7
    verified.root_account_id = None
    assert verified.account_ref == "self"


def test_the_reauthorization_email_is_sent_once_and_says_what_to_do(verified, admin_a):
    CanvasConnection.objects.filter(id=verified.id).update(
        status=ConnectionStatus.NEEDS_REAUTH, status_reason="Canvas refused to renew the portal's access."
    )
    assert notify_reauth_once(verified.id, details_url="https://portal.test/runs/9/")
    assert not notify_reauth_once(verified.id)
    [email] = mail.outbox
    assert email.subject.endswith("Canvas needs re-authorization") and email.to == ["alice@alpha.test"]
    assert "can no longer read https://canvas.alpha.test for" in email.body
    assert "What happened: Canvas refused to renew the portal's access." in email.body
    assert "choose Generate Key" in email.body and "Details: https://portal.test/runs/9/" in email.body


def test_the_reauthorization_email_for_a_pasted_token_asks_for_a_new_one(verified, admin_a):
    CanvasConnection.objects.filter(id=verified.id).update(lms_type=LmsType.ACCESS_TOKEN)
    notify_reauth_once(verified.id)
    assert "paste a new access token" in mail.outbox[0].body and "Details:" not in mail.outbox[0].body
