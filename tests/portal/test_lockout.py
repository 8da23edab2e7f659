"""Login lockouts key on the account and the client's real address, behind a reverse proxy too."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.test import RequestFactory
from django.urls import reverse

from portal.clientip import client_ip
from tests.conftest import PASSWORD

STRANGER, ADMIN = "203.0.113.5", "198.51.100.7"


def request_with(xff: str | None, remote: str = "10.0.0.2"):
    meta = {"REMOTE_ADDR": remote} | ({"HTTP_X_FORWARDED_FOR": xff} if xff is not None else {})
    return RequestFactory().get("/", **meta)


def test_it_ignores_the_header_without_a_proxy(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request_with(STRANGER)) == "10.0.0.2"


@pytest.mark.parametrize(
    ("count", "xff", "expected"),
    [
        (1, STRANGER, STRANGER),
        (1, f"{ADMIN}, {STRANGER}", STRANGER),  # the client wrote ADMIN; the proxy appended STRANGER
        (2, f"{ADMIN}, {STRANGER}, 10.0.0.9", STRANGER),
        (1, " 2001:DB8::1 ", "2001:db8::1"),
        (2, STRANGER, "10.0.0.2"),  # fewer hops than proxies: only the socket is known
        (1, "", "10.0.0.2"),
        (1, None, "10.0.0.2"),
        (1, "not-an-address", "10.0.0.2"),
        (1, f"{ADMIN}, 203.0.113.5:4711", "10.0.0.2"),
    ],
)
def test_it_takes_the_address_the_outermost_proxy_saw(settings, count, xff, expected):
    settings.TRUSTED_PROXY_COUNT = count
    assert client_ip(request_with(xff)) == expected


def test_it_reads_the_configured_header(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.TRUSTED_PROXY_HEADER = "HTTP_X_REAL_IP"
    assert client_ip(RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_REAL_IP=STRANGER)) == STRANGER


def fail_logins(client, settings, xff: str) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "alice@alpha.test", "password": "guess"}, HTTP_X_FORWARDED_FOR=xff)


def log_in(client, xff: str):
    return client.post(
        reverse("login"), {"username": "alice@alpha.test", "password": PASSWORD}, HTTP_X_FORWARDED_FOR=xff
    )


def test_behind_a_proxy_a_stranger_locks_out_only_their_own_address(client, admin_a, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    # The stranger even claims the admin's address; the proxy appends the real one after it.
    fail_logins(client, settings, f"{ADMIN}, {STRANGER}")

    assert log_in(client, STRANGER).status_code == 429
    r = log_in(client, ADMIN)
    assert r.status_code == 302 and r["Location"] == reverse("home")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {STRANGER}


def test_without_a_proxy_the_header_is_ignored_and_cannot_dodge_a_lockout(client, admin_a, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    fail_logins(client, settings, STRANGER)

    r = log_in(client, ADMIN)
    assert r.status_code == 429 and "locked for 15 minutes" in r.content.decode()
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"127.0.0.1"}
