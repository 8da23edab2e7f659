"""A connection's secrets belong to its Canvas address: whichever path moves the address (LMS
Settings, Django admin, code such as a command) forgets the client secret and the tokens, so they
are never sent to the new host. A recording server of the test's own stands for that new host."""

from __future__ import annotations

import pytest
from django.urls import reverse

from lms_canvas.models import CanvasConnection, ConnectionStatus, LmsType
from lms_canvas.simulator.generator import DEMO_KEY_ID, DEMO_SECRET
from tests.recorder import recording_server


@pytest.fixture
def trap():
    """Another host (a port of its own), answering as Canvas does, that must never get a secret."""
    with recording_server() as recorder:
        yield recorder


def secrets_of(conn: CanvasConnection) -> list[str]:
    conn.refresh_from_db()
    values = [conn.client_secret, conn.access_token, conn.refresh_token]
    assert all(values)
    return values


def act(client, action: str, conn: CanvasConnection):
    url = reverse("admin:lms_canvas_canvasconnection_changelist")
    return client.post(url, {"action": action, "_selected_action": [conn.id]}, follow=True)


def admin_change(client, conn: CanvasConnection, **data):
    url = reverse("admin:lms_canvas_canvasconnection_change", args=[conn.id])
    form = {"lms_type": conn.lms_type, "server_url": conn.server_url, "client_id": conn.client_id, **data}
    return client.post(url, {**form, "_save": "Save"}, follow=True)


def lms_settings(client, **data):
    form = {"lms_type": "dev_key", "client_id": str(DEMO_KEY_ID), "client_secret": "", **data}
    return client.post(reverse("lms-settings"), form, follow=True)


def test_support_moving_the_server_in_admin_then_reverifying_and_refreshing_sends_no_secret(
    client, support_user, connected, trap
):
    secrets = secrets_of(connected)
    client.force_login(support_user)
    r = admin_change(client, connected, server_url=trap.url)
    assert "client secret and tokens were cleared" in r.content.decode()
    act(client, "reverify", connected)
    act(client, "refresh_token", connected)
    trap.assert_received_none_of(secrets)
    assert trap.requests == []
    connected.refresh_from_db()
    assert connected.server_url == trap.url
    assert not (connected.client_secret or connected.access_token or connected.refresh_token)
    assert not connected.is_verified and connected.verified_at is None


def test_the_admin_form_applies_the_url_guard(client, support_user, connected, settings):
    settings.CANVAS_ALLOW_PRIVATE_URLS = False
    client.force_login(support_user)
    r = admin_change(client, connected, server_url="https://10.0.0.1")
    assert "private or local network" in r.content.decode()
    connected.refresh_from_db()
    assert connected.server_url != "https://10.0.0.1" and connected.client_secret == DEMO_SECRET


def test_the_admin_form_keeps_the_secrets_when_the_address_stays(client, support_user, connected):
    secrets = secrets_of(connected)
    client.force_login(support_user)
    r = admin_change(client, connected, server_url=connected.server_url.upper() + "/courses/1")
    assert "were cleared" not in r.content.decode()
    assert secrets_of(connected) == secrets


def test_moving_the_server_in_lms_settings_with_a_blank_secret_asks_for_it_and_sends_nothing(client_a, connected, trap):
    secrets = secrets_of(connected)
    r = lms_settings(client_a, server_url=trap.url)
    assert r.status_code == 200
    assert (
        "You changed the Canvas Server (even http to https is a change), so type the Client Secret again"
        in r.content.decode()
    )
    assert trap.requests == []
    trap.assert_received_none_of(secrets)
    assert secrets_of(connected) == secrets


def test_moving_the_server_in_lms_settings_with_a_new_secret_forgets_the_old_tokens(client_a, connected, make_sim):
    secrets_of(connected)
    other = make_sim()
    r = lms_settings(client_a, server_url=other.url, client_secret=DEMO_SECRET)
    assert "Canvas accepts this developer key" in r.content.decode()
    connected.refresh_from_db()
    assert connected.server_url == other.url and connected.client_secret == DEMO_SECRET
    assert not connected.access_token and not connected.refresh_token
    assert connected.status == ConnectionStatus.NOT_VERIFIED


def test_moving_a_pasted_token_connection_asks_for_the_token_again(client_a, connected, trap):
    token = connected.access_token
    CanvasConnection.objects.filter(id=connected.id).update(lms_type=LmsType.ACCESS_TOKEN)
    r = client_a.post(reverse("lms-settings"), {"lms_type": "access_token", "server_url": trap.url})
    assert r.status_code == 200
    assert (
        "You changed the Canvas Server (even http to https is a change), so paste the access token"
        in r.content.decode()
    )
    assert trap.requests == []
    connected.refresh_from_db()
    assert connected.access_token == token


def test_code_that_assigns_a_new_address_and_saves_clears_the_secrets(connected, trap):
    # The path of a management command or a shell: no form, only the model.
    conn = CanvasConnection.objects.get(id=connected.id)
    conn.server_url = trap.url
    conn.save()
    conn = CanvasConnection.objects.get(id=connected.id)
    assert conn.server_url == trap.url
    assert not (conn.client_secret or conn.access_token or conn.refresh_token)
    assert conn.status == ConnectionStatus.NOT_CONFIGURED and "Canvas Server changed" in conn.status_reason


def test_a_save_of_other_fields_after_a_move_still_clears(connected, trap):
    conn = CanvasConnection.objects.get(id=connected.id)
    conn.server_url = trap.url
    conn.save(update_fields=["server_url"])
    conn = CanvasConnection.objects.get(id=connected.id)
    assert not (conn.client_secret or conn.access_token or conn.refresh_token)


@pytest.mark.parametrize(
    ("new", "moves"),
    [
        ("http://127.0.0.1:{port}", False),
        ("HTTP://127.0.0.1:{port}/", False),
        ("http://127.0.0.1:{other}", True),
        ("https://127.0.0.1:{port}", True),
        ("http://localhost:{port}", True),
    ],
)
def test_the_address_is_scheme_host_and_port(connected, new, moves):
    port = int(connected.server_url.rsplit(":", 1)[1])
    conn = CanvasConnection.objects.get(id=connected.id)
    assert conn.change_server_url(new.format(port=port, other=port + 1)) is moves
    assert bool(conn.client_secret) is not moves


def test_a_default_port_is_the_same_address(institution_a):
    conn = CanvasConnection.objects.create(
        institution=institution_a, server_url="https://canvas.example.edu", client_id="1", client_secret="s"
    )
    conn = CanvasConnection.objects.get(id=conn.id)
    assert conn.change_server_url("https://canvas.example.edu:443") is False
    assert conn.client_secret == "s"


def test_reloading_rebinds_to_the_saved_address(connected, trap):
    conn = CanvasConnection.objects.get(id=connected.id)
    other = CanvasConnection.objects.get(id=connected.id)
    other.change_server_url(trap.url)
    other.client_secret = "entered-for-the-new-server"
    other.save()
    conn.refresh_from_db()
    conn.save()
    assert CanvasConnection.objects.get(id=connected.id).client_secret == "entered-for-the-new-server"
