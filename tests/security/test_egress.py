"""Every outbound Canvas request, API and OAuth alike, goes through one guarded transport: it follows
no redirect, and it checks the address it actually connected to, not only the name saved in LMS
Settings. A recording server of the test's own is the place a secret must never reach."""

from __future__ import annotations

import socket
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from lms_canvas import connect, oauth
from lms_canvas.errors import CanvasError
from lms_canvas.http import build_session
from lms_canvas.models import CanvasConnection, ConnectionStatus
from lms_canvas.urlguard import normalize_canvas_url
from tests.recorder import recording_server

SECRET = "client-secret-that-must-stay-home"
ACCESS = "access-token-that-must-stay-home-0123456789"
REFRESH = "refresh-token-that-must-stay-home-0123456789"
SECRETS = [SECRET, ACCESS, REFRESH]
REAL_GETADDRINFO = socket.getaddrinfo


@pytest.fixture
def canvas():
    """The connection's own host: it may see the secrets."""
    with recording_server() as recorder:
        yield recorder


@pytest.fixture
def trap():
    """Another host: a port of its own, named localhost; it must never see a secret."""
    with recording_server("localhost") as recorder:
        recorder.answer("POST", "/steal", 418, body={"error": "teapot"})
        yield recorder


def connection_to(institution, url: str, **fields) -> CanvasConnection:
    return CanvasConnection.objects.create(
        institution=institution,
        server_url=url,
        client_id="170000000000001",
        client_secret=SECRET,
        access_token=ACCESS,
        refresh_token=REFRESH,
        token_expires_at=timezone.now() + timezone.timedelta(hours=1),
        **{"status": ConnectionStatus.VERIFIED, **fields},
    )


def redirect_token_endpoint(canvas, trap, method: str = "POST", status: int = 307) -> None:
    canvas.answer(method, "/login/oauth2/token", status, {"Location": trap.url + "/steal"})


def resolve(monkeypatch, name: str, address: str) -> None:
    """DNS for `name` answers `address` from now on; other names resolve as usual."""

    def getaddrinfo(host, port, *args, **kwargs):
        if host == name:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            return [(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port or 0))]
        return REAL_GETADDRINFO(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


# --- no redirect is followed ---------------------------------------------------------------------


def test_the_secret_check_does_not_follow_a_token_endpoint_redirect(institution_a, canvas, trap):
    redirect_token_endpoint(canvas, trap)
    [finding] = oauth.preflight(connection_to(institution_a, canvas.url))
    assert trap.requests == [] and trap.first_lines == []
    assert "answered with a redirect (HTTP 307)" in finding.message
    assert "HTTP 418" not in finding.message + finding.fix and "teapot" not in finding.message + finding.fix
    assert [r.path for r in canvas.requests if r.method == "POST"] == ["/login/oauth2/token"]


def test_the_code_exchange_does_not_follow_a_redirect(client_a, institution_a, canvas, trap):
    conn = connection_to(institution_a, canvas.url, status=ConnectionStatus.NOT_VERIFIED)
    r = client_a.post(reverse("canvas-generate-key"))
    assert r["Location"].startswith(canvas.url + "/login/oauth2/auth")
    state = parse_qs(urlsplit(r["Location"]).query)["state"][0]
    redirect_token_endpoint(canvas, trap)
    r = client_a.get(reverse("canvas-callback") + "?" + urlencode({"code": "c0de", "state": state}), follow=True)
    body = r.content.decode()
    assert r.status_code == 200 and "answered with a redirect (HTTP 307)" in body
    assert "HTTP 418" not in body and "teapot" not in body  # "418" alone may be in a port or a token
    trap.assert_received_none_of(SECRETS + ["c0de"])
    assert trap.requests == []
    conn.refresh_from_db()
    assert not conn.is_verified


def test_the_token_refresh_does_not_follow_a_redirect(institution_a, canvas, trap):
    conn = connection_to(institution_a, canvas.url)
    redirect_token_endpoint(canvas, trap)
    with pytest.raises(CanvasError) as excinfo:
        oauth.refresh_access_token(conn.id, rejected_token=ACCESS)
    assert "redirect (HTTP 307)" in excinfo.value.message and excinfo.value.permanent
    assert trap.requests == []


def test_the_revoke_does_not_follow_a_redirect(institution_a, canvas, trap):
    conn = connection_to(institution_a, canvas.url)
    redirect_token_endpoint(canvas, trap, method="DELETE")
    assert connect.disconnect(conn) is False
    assert trap.requests == []


def test_an_api_call_does_not_follow_a_redirect(institution_a, canvas, trap):
    conn = connection_to(institution_a, canvas.url)
    canvas.answer("GET", "/api/v1/accounts/self", 302, {"Location": trap.url + "/api/v1/accounts/self"})
    findings = connect.verify(conn)
    assert "answered GET /api/v1/accounts/self with a redirect (HTTP 302)" in findings[0].message
    assert trap.requests == []
    conn.refresh_from_db()
    assert conn.status == ConnectionStatus.NOT_VERIFIED


def test_a_redirect_to_the_portal_with_an_error_is_read_not_followed(institution_a, canvas):
    # Canvas without no_redirect_on_oauth_token_method answers token errors on the redirect URI.
    location = oauth.redirect_uri() + "?" + urlencode({"error": "invalid_grant"})
    canvas.answer("POST", "/login/oauth2/token", 302, {"Location": location})
    assert oauth.preflight(connection_to(institution_a, canvas.url)) == []


# --- the address connected to is checked ---------------------------------------------------------


@pytest.fixture
def production(settings):
    settings.CANVAS_ALLOW_PRIVATE_URLS = False


def rebound(monkeypatch, trap) -> str:
    """A public name that passes the guard at save, then resolves to the trap's loopback address."""
    port = urlsplit(trap.url).port
    resolve(monkeypatch, "canvas.example.edu", "93.184.215.14")
    url = normalize_canvas_url(f"https://canvas.example.edu:{port}")
    resolve(monkeypatch, "canvas.example.edu", "127.0.0.1")
    return url


def wait_for_connection(trap) -> None:
    deadline = time.monotonic() + 2
    while not trap.connections and time.monotonic() < deadline:
        time.sleep(0.01)
    assert trap.connections, "the name was refused before connecting: this test no longer tests the peer check"


def test_an_api_call_to_a_name_rebound_to_a_private_address_sends_nothing(production, monkeypatch, institution_a, trap):
    conn = connection_to(institution_a, rebound(monkeypatch, trap))
    findings = connect.verify(conn)
    wait_for_connection(trap)
    assert trap.first_lines == []
    assert "private or local network" in findings[0].message
    conn.refresh_from_db()
    assert conn.status == ConnectionStatus.NOT_VERIFIED


def test_the_key_preflight_to_a_rebound_name_sends_nothing(production, monkeypatch, institution_a, trap):
    conn = connection_to(institution_a, rebound(monkeypatch, trap))
    [finding] = oauth.preflight(conn)
    wait_for_connection(trap)
    assert trap.first_lines == []
    assert "private or local network" in finding.message


def test_a_token_refresh_to_a_rebound_name_sends_nothing(production, monkeypatch, institution_a, trap):
    conn = connection_to(institution_a, rebound(monkeypatch, trap))
    with pytest.raises(CanvasError) as excinfo:
        oauth.refresh_access_token(conn.id, rejected_token=ACCESS)
    wait_for_connection(trap)
    assert trap.first_lines == [] and "private or local network" in excinfo.value.message


@pytest.mark.parametrize(
    "url",
    ["https://foo.localhost:{port}", "https://localhost:{port}", "http://canvas.example.edu:{port}"],
)
def test_a_stored_address_the_guard_refuses_is_refused_when_sending(production, monkeypatch, institution_a, trap, url):
    resolve(monkeypatch, "canvas.example.edu", "127.0.0.1")
    conn = connection_to(institution_a, url.format(port=urlsplit(trap.url).port))
    assert connect.verify(conn)[0].message
    assert trap.connections == 0 and trap.first_lines == []


def test_cloud_metadata_is_refused_even_where_private_addresses_are_allowed(monkeypatch, institution_a, trap):
    resolve(monkeypatch, "metadata.google.internal", "127.0.0.1")
    conn = connection_to(institution_a, f"http://metadata.google.internal:{urlsplit(trap.url).port}")
    assert "metadata" in connect.verify(conn)[0].message
    assert trap.connections == 0


def test_through_a_proxy_the_name_is_resolved_and_checked_before_sending(production, monkeypatch, trap):
    resolve(monkeypatch, "canvas.example.edu", "10.0.0.5")
    session = build_session()
    with pytest.raises(Exception, match="private or local network"):
        session.get("https://canvas.example.edu/api/v1/accounts/self", proxies={"https": trap.url}, timeout=5)
    assert trap.connections == 0
