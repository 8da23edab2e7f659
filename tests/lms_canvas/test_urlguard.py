"""The Canvas address guard, one row per address form: what LMS Settings and the admin refuse at save,
and what the transport refuses for the address a connection actually reached."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from django.core.exceptions import ValidationError

from lms_canvas.urlguard import address_refusal, canvas_origin, host_refusal, normalize_canvas_url

REAL_GETADDRINFO = socket.getaddrinfo

# Address forms that must never be reached in production, each with the URL host that writes it.
REFUSED = {
    "IPv4 loopback": "127.0.0.1",
    "IPv4 loopback, not .1": "127.255.255.254",
    "IPv6 loopback": "[::1]",
    "private 10/8": "10.1.2.3",
    "private 172.16/12": "172.16.0.1",
    "private 192.168/16": "192.168.1.1",
    "shared address space (CGNAT)": "100.64.0.1",
    "IPv6 unique local": "[fd00::1]",
    "IPv6 site-local (deprecated)": "[fec0::1]",
    "link-local": "169.254.1.1",
    "cloud metadata": "169.254.169.254",
    "AWS metadata over IPv6": "[fd00:ec2::254]",
    "IPv6 link-local": "[fe80::1]",
    "IPv6 link-local with a zone id": "[fe80::1%25eth0]",
    "multicast": "224.0.0.1",
    "IPv6 multicast": "[ff02::1]",
    "reserved 240/4": "240.0.0.1",
    "broadcast": "255.255.255.255",
    "unspecified": "0.0.0.0",  # noqa: S104 (an address to refuse, not one to bind)
    "IPv6 unspecified": "[::]",
    "IPv4-mapped loopback": "[::ffff:127.0.0.1]",
    "IPv4-mapped private": "[::ffff:10.0.0.1]",
    "NAT64 loopback": "[64:ff9b::7f00:1]",
    "NAT64 private": "[64:ff9b::a00:1]",
    "local-use NAT64 (64:ff9b:1::/48)": "[64:ff9b:1::a00:1]",
    "6to4 of loopback": "[2002:7f00:1::]",
    "6to4 of private": "[2002:c0a8:101::]",
    "IPv4-compatible loopback": "[::127.0.0.1]",
    "IPv4-compatible private": "[::10.0.0.1]",
    "Teredo": "[2001:0:4136:e378:8000:63bf:3fff:fdd2]",
    "documentation": "192.0.2.1",
    "benchmarking": "198.18.0.1",
    "localhost": "localhost",
    "a .localhost name": "foo.localhost",
    "a .localhost name, any case, trailing dot": "Foo.LOCALHOST.",
    "GCP metadata": "metadata.google.internal",
    "a .internal name": "instance-data.ec2.internal",
    "an mDNS name": "canvas.local",
    "a home.arpa name": "canvas.home.arpa",
}

ACCEPTED = {
    "public IPv4": ("8.8.8.8", "https://8.8.8.8"),
    "public IPv6, brackets kept": ("[2606:4700:4700::1111]", "https://[2606:4700:4700::1111]"),
    "public IPv6 with a port, written long": ("[2606:4700:4700:0::1111]:8443", "https://[2606:4700:4700::1111]:8443"),
    "NAT64 of a public address": ("[64:ff9b::808:808]", "https://[64:ff9b::808:808]"),
    "6to4 of a public address": ("[2002:808:808::]", "https://[2002:808:808::]"),
    "IPv4-mapped public address": ("[::ffff:8.8.8.8]", "https://[::ffff:808:808]"),
    "a public name": ("School.Instructure.com", "https://school.instructure.com"),
}


@pytest.fixture
def production(settings, monkeypatch):
    settings.CANVAS_ALLOW_PRIVATE_URLS = False

    def getaddrinfo(host, port, *args, **kwargs):
        # Every name in these tables resolves to a public address; the name rules are what is tested.
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port or 0))]
        return REAL_GETADDRINFO(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.mark.parametrize("host", REFUSED.values(), ids=REFUSED.keys())
def test_lms_settings_refuses_every_private_address_form(production, host):
    with pytest.raises(ValidationError, match="private or local network"):
        normalize_canvas_url(f"https://{host}")


@pytest.mark.parametrize("host", REFUSED.values(), ids=REFUSED.keys())
def test_the_transport_refuses_every_private_address_form(production, host):
    bare = host.strip("[]").replace("%25", "%")
    assert host_refusal(bare, allow_private=False)


@pytest.mark.parametrize(("host", "expected"), ACCEPTED.values(), ids=ACCEPTED.keys())
def test_public_addresses_are_accepted_and_stay_valid_urls(production, host, expected):
    assert normalize_canvas_url(f"https://{host}/courses/1?x=1") == expected


def test_private_addresses_are_allowed_for_the_simulator_but_metadata_never(settings):
    settings.CANVAS_ALLOW_PRIVATE_URLS = True
    assert normalize_canvas_url("http://127.0.0.1:8001/") == "http://127.0.0.1:8001"
    assert normalize_canvas_url("http://[::1]:8001") == "http://[::1]:8001"
    assert address_refusal("10.0.0.1", allow_private=True) is None
    for address in ("169.254.169.254", "fd00:ec2::254", "::ffff:169.254.169.254", "100.100.100.200"):
        assert "metadata" in address_refusal(address, allow_private=True)
    assert "metadata" in host_refusal("metadata.google.internal", allow_private=True)
    with pytest.raises(ValidationError, match="metadata"):
        normalize_canvas_url("http://metadata.google.internal")


def test_a_name_that_resolves_to_a_private_address_is_refused_at_save(production, monkeypatch):
    monkeypatch.setattr(
        socket, "getaddrinfo", lambda *a, **k: [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", 0, 0, 0))]
    )
    with pytest.raises(ValidationError, match="private or local network"):
        normalize_canvas_url("https://canvas.example.edu")


@pytest.mark.parametrize("value", ["https://[zz]", "https://[v1.fe]", "https://[::1", "https://[::1]x"])
def test_a_malformed_bracketed_host_is_explained(production, value):
    with pytest.raises(ValidationError, match="Enter your Canvas address"):
        normalize_canvas_url(value)


def test_the_origin_is_scheme_host_and_port():
    assert canvas_origin("https://Canvas.Example.edu/") == canvas_origin("https://canvas.example.edu:443")
    assert canvas_origin("http://[::1]:8001") == ("http", "::1", 8001) == canvas_origin("http://[0:0::1]:8001")
    assert canvas_origin("https://canvas.example.edu") != canvas_origin("http://canvas.example.edu")
    assert canvas_origin("") is None
