"""Support's actions on a connection in Django admin: Re-verify and Refresh token, secrets masked."""

from __future__ import annotations

from django.urls import reverse

from lms_canvas.admin import mask
from lms_canvas.models import CanvasConnection, ConnectionStatus


def act(client, action: str, conn: CanvasConnection):
    url = reverse("admin:lms_canvas_canvasconnection_changelist")
    return client.post(url, {"action": action, "_selected_action": [conn.id]}, follow=True)


def test_reverify_makes_a_live_call_and_reports_the_status(client, support_user, connected):
    client.force_login(support_user)
    CanvasConnection.objects.filter(id=connected.id).update(status=ConnectionStatus.NOT_VERIFIED)
    body = act(client, "reverify", connected).content.decode()
    connected.refresh_from_db()
    assert connected.is_verified and connected.verified_by == support_user
    assert "Alpha University: Verified (all checks passed)" in body


def test_refresh_token_gets_a_new_access_token(client, support_user, connected, sim):
    client.force_login(support_user)
    old = connected.access_token
    body = act(client, "refresh_token", connected).content.decode()
    connected.refresh_from_db()
    assert connected.access_token != old and "token refreshed" in body
    assert sim.control("stats")["tokens_refreshed"] == 1


def test_refresh_token_refused_by_canvas_is_explained(client, support_user, connected, sim):
    client.force_login(support_user)
    sim.control("tokens/revoke")
    body = act(client, "refresh_token", connected).content.decode()
    assert "Canvas refused to renew the portal&#x27;s access" in body
    connected.refresh_from_db()
    assert connected.status == ConnectionStatus.NEEDS_REAUTH


def test_support_cannot_delete_a_connection_and_leave_its_token_live_at_canvas(client, support_user, connected):
    client.force_login(support_user)
    changelist = client.get(reverse("admin:lms_canvas_canvasconnection_changelist")).content.decode()
    delete = client.post(reverse("admin:lms_canvas_canvasconnection_delete", args=[connected.id]), {"post": "yes"})
    bulk = act(client, "delete_selected", connected)

    assert "delete_selected" not in changelist
    assert delete.status_code == 403 and bulk.status_code == 200
    token = connected.access_token
    connected.refresh_from_db()  # still there, its token too
    assert connected.access_token == token


def test_support_sees_only_whether_a_secret_is_set_never_any_of_it():
    assert mask("") == "—"
    assert mask("short") == "•••• (set, never shown)"
    assert "WXYZ" not in mask("a" * 60 + "WXYZ")
