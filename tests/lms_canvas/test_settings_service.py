"""LMS Settings' save as a service: called without a request, it says what to tell the admin."""

from __future__ import annotations

import pytest
from django.urls import reverse

from lms_canvas import oauth, settings_service
from lms_canvas.errors import AddressRefused, Forbidden, ScopeMissing, TokenInvalid
from lms_canvas.models import CanvasConnection, ConnectionStatus, LmsType
from lms_canvas.settings_service import Notice

pytestmark = pytest.mark.django_db
DEV_KEY = {
    "lms_type": LmsType.DEV_KEY,
    "server_url": "https://canvas.alpha.test",
    "client_id": "10000000000001",
    "client_secret": "s3cret",
    "access_token": "",
}


@pytest.fixture
def conn(institution_a) -> CanvasConnection:
    return CanvasConnection.objects.create(institution=institution_a)


def test_a_developer_key_canvas_accepts_is_saved_and_awaits_generate_key(conn, monkeypatch):
    monkeypatch.setattr("lms_canvas.oauth.preflight", lambda conn: [])

    notices = settings_service.save_settings(conn, DEV_KEY)

    assert notices == [
        Notice("success", "Saved. Canvas accepts this developer key: choose Generate Key to authorize the portal.")
    ]
    conn.refresh_from_db()
    assert conn.status == ConnectionStatus.NOT_VERIFIED and conn.client_secret == "s3cret"


def test_a_refused_developer_key_says_why_and_keeps_the_reason(conn, monkeypatch):
    finding = oauth.Finding("Canvas does not know this Client ID.", "Copy the key's ID from Developer Keys.")
    monkeypatch.setattr("lms_canvas.oauth.preflight", lambda conn: [finding])

    notices = settings_service.save_settings(conn, DEV_KEY)

    assert notices == [Notice("error", f"{finding.message} What to do: {finding.fix}")]
    conn.refresh_from_db()
    assert conn.status_reason == finding.message


def test_every_problem_canvas_shows_is_kept_in_the_reason_with_what_to_do(conn, monkeypatch):
    findings = [
        oauth.Finding("The developer key does not grant 1 required scope: a.", "Tick it."),
        oauth.Finding("The developer key is switched OFF.", "Set State to ON."),
        oauth.Finding("Canvas refused the Client Secret for this Client ID.", "Paste Show Key's value."),
    ]
    monkeypatch.setattr("lms_canvas.oauth.preflight", lambda conn: findings)

    notices = settings_service.save_settings(conn, DEV_KEY)

    assert notices == [
        Notice(
            "error",
            "Canvas showed 3 problems with the developer key, each listed under Connection below with what to do. "
            "Fix them all in Canvas, then Save again.",
        )
    ]
    conn.refresh_from_db()
    assert conn.status_reason.splitlines() == [
        "Canvas showed 3 problems with the developer key:",
        *(f"{f.message} What to do: {f.fix}" for f in findings),
    ]


def test_several_problems_elsewhere_are_numbered_notices():
    findings = [oauth.Finding("One.", "Fix one."), oauth.Finding("Two.", "Fix two.")]
    assert [n.text for n in settings_service.finding_notices(findings)] == [
        "Problem 1 of 2: One. What to do: Fix one.",
        "Problem 2 of 2: Two. What to do: Fix two.",
    ]


def test_new_key_details_forget_the_old_tokens(conn, monkeypatch):
    monkeypatch.setattr("lms_canvas.oauth.preflight", lambda conn: [])
    settings_service.save_settings(conn, DEV_KEY)
    CanvasConnection.objects.filter(id=conn.id).update(
        access_token="old", refresh_token="old", status=ConnectionStatus.VERIFIED
    )
    conn.refresh_from_db()

    settings_service.save_settings(conn, {**DEV_KEY, "client_id": "10000000000002", "client_secret": ""})

    conn.refresh_from_db()
    assert (conn.access_token, conn.refresh_token, conn.client_id) == ("", "", "10000000000002")
    assert conn.status == ConnectionStatus.NOT_VERIFIED and conn.client_secret == "s3cret"


def test_a_pasted_token_is_verified_at_once(institution_a, sim, admin_a):
    conn = CanvasConnection.objects.create(institution=institution_a)
    data = {**DEV_KEY, "lms_type": LmsType.ACCESS_TOKEN, "server_url": sim.url, "client_id": "", "client_secret": ""}

    notices = settings_service.save_settings(conn, {**data, "access_token": sim.issue_token()["access_token"]}, admin_a)

    assert notices[0] == Notice("success", "Verified: the portal can read Canvas.")
    conn.refresh_from_db()
    assert conn.is_verified and conn.verified_by == admin_a


@pytest.mark.parametrize(
    "fix",
    [
        TokenInvalid.fix,
        ScopeMissing("", scope="url:GET|/api/v1/accounts").fix,
        Forbidden.fix,
        AddressRefused.fix,
        "Open LMS Settings and choose Generate Key to authorize the portal again.",
    ],
)
def test_notices_on_lms_settings_do_not_send_the_admin_to_lms_settings(fix):
    [notice] = settings_service.finding_notices([oauth.Finding("Something happened.", fix)])
    assert "LMS Settings" not in notice.text
    assert "Generate Key" in notice.text or "Canvas Server" in notice.text


def test_the_connection_checks_on_lms_settings_do_not_send_the_admin_to_lms_settings(client_a, connected):
    connected.capabilities = {
        "roles": {
            "label": "Roles",
            "ok": False,
            "message": "Canvas refused the roles listing.",
            "fix": "Add the roles scope to the developer key, then choose Generate Key in LMS Settings.",
        }
    }
    connected.save(update_fields=["capabilities"])

    body = client_a.get(reverse("lms-settings")).content.decode()

    assert "then choose Generate Key below." in body
    assert "Generate Key in LMS Settings" not in body
