"""The Canvas Server address guard: https in production, and no private, local or metadata hosts.

Two moments use it: saving LMS Settings or the admin form (`normalize_canvas_url`, which resolves the
name once to explain a refusal beside the field), and every connection the transport opens
(`host_refusal` for the name, `address_refusal` for the address the socket actually reached, since
a name can resolve differently by then). Private addresses are allowed only where
settings.CANVAS_ALLOW_PRIVATE_URLS says so (the simulator on 127.0.0.1); cloud metadata never.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
BRACKETED_NETLOC = re.compile(r"(?:[^@]*@)?\[[^\]]+\](?::\d*)?")
DEFAULT_PORTS = {"http": 80, "https": 443}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Instance metadata services hand out cloud credentials; nothing the portal talks to lives there.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)
METADATA_NAMES = frozenset({"metadata.google.internal", "metadata", "instance-data", "instance-data.ec2.internal"})
# Special-use names that only ever mean this machine or a local network (RFC 6761 localhost, RFC 6762
# .local, RFC 8375 home.arpa, ICANN's private-use .internal).
LOCAL_NAME_SUFFIXES = ("localhost", "local", "internal", "localdomain", "home.arpa")

NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052; its local-use sibling 64:ff9b:1::/48 is private
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")

PRIVATE_MESSAGE = (
    "That address points to a private or local network ({kind}), which the portal does not connect to. "
    "Use your Canvas instance's public address."
)
ADDRESS_HELP = "Enter your Canvas address, such as https://yourschool.instructure.com."


def normalize_canvas_url(value: str) -> str:
    """Reduce what an admin pastes (often a page address) to the server origin, or explain why not."""
    value = (value or "").strip()
    if "://" not in value:
        value = "https://" + value
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        raise ValidationError(ADDRESS_HELP) from None
    allow_private = settings.CANVAS_ALLOW_PRIVATE_URLS
    if parts.scheme not in {"http", "https"} or not host or not _is_host_name(host, parts.netloc):
        raise ValidationError(ADDRESS_HELP)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        raise ValidationError("The port in the Canvas Server address must be a number up to 65535.") from None
    if parts.scheme != "https" and not allow_private:
        raise ValidationError("The Canvas Server must use https:// so keys and tokens travel encrypted.")
    if parts.username or parts.password:
        raise ValidationError("Leave user names and passwords out of the Canvas Server address.")
    kind = host_refusal(host, allow_private=allow_private) or _resolves_to_refused(host, allow_private)
    if kind:
        raise ValidationError(PRIVATE_MESSAGE.format(kind=kind))
    if not allow_private and "." not in host.strip(".") and ":" not in host:
        # A name without a dot only resolves on a local network.
        raise ValidationError(ADDRESS_HELP)
    return f"{parts.scheme}://{_url_host(host)}{port}"


def canvas_origin(url: str) -> tuple[str, str, int | None] | None:
    """What a connection's secrets are bound to: scheme, host and port (the default one if omitted)."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return ("", url.strip().lower(), None)
    scheme = parts.scheme.lower()
    return (scheme, _url_host(host.rstrip(".")).strip("[]"), port or DEFAULT_PORTS.get(scheme))


def host_refusal(host: str, *, allow_private: bool) -> str | None:
    """Why the portal must not connect to this host name or IP literal, or None."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return address_refusal(host, allow_private=allow_private)
    name = host.lower().rstrip(".")
    if name in METADATA_NAMES:
        return "a cloud metadata service"
    if allow_private:
        return None
    if any(name == suffix or name.endswith("." + suffix) for suffix in LOCAL_NAME_SUFFIXES):
        return "a name for this machine or a local network"
    return None


def address_refusal(address: str, *, allow_private: bool) -> str | None:
    """Why the portal must not connect to this IP address (zone ids such as fe80::1%eth0 accepted), or None."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
        ip = ipaddress.IPv6Address(address.split("%", 1)[0])
    embedded = _embedded_ipv4(ip)
    if ip in METADATA_ADDRESSES or embedded in METADATA_ADDRESSES:
        return "a cloud metadata service"
    if allow_private:
        return None
    if embedded is not None:
        # NAT64, 6to4 and mapped forms reach the IPv4 address inside; judge that one.
        kind = _refused_kind(embedded)
        if kind:
            return f"{kind} inside an IPv6 address"
        if ip in IPV4_COMPATIBLE:
            return "a deprecated IPv4-compatible IPv6 address"
        return None
    return _refused_kind(ip)


def _refused_kind(ip: IPAddress) -> str | None:
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_unspecified:
        return "an unspecified address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "a site-local address"
    if ip.is_private:
        return "a private network address"
    if ip.is_reserved or not ip.is_global:
        return "a reserved or non-public address"
    return None


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip in NAT64 or (ip in IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _resolves_to_refused(host: str, allow_private: bool) -> str | None:
    try:
        # typeshed allows an int there (another family's sockaddr); IPv4 and IPv6 answers are strings.
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
    except (socket.gaierror, UnicodeError):
        # An unresolvable name is caught by the key preflight with a clearer message.
        return None
    for address in sorted(addresses):
        kind = address_refusal(address, allow_private=allow_private)
        if kind:
            return kind
    return None


def _is_host_name(host: str, netloc: str) -> bool:
    """An IP address or a DNS name (internationalized names included); not any text after https://."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        if "[" in netloc:
            return False  # brackets hold an IPv6 address, nothing else
    else:
        if isinstance(ip, ipaddress.IPv6Address):
            return BRACKETED_NETLOC.fullmatch(netloc) is not None
        return "[" not in netloc
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_host.lower().removesuffix(".").split(".")
    # An all-digit last label is no top-level domain, only a short form of an IP address ("1.5").
    return len(ascii_host) <= 253 and all(HOST_LABEL.match(label) for label in labels) and not labels[-1].isdigit()


def _url_host(host: str) -> str:
    """The host as a URL writes it: IPv6 literals in brackets, in their short form."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host.lower()
    return f"[{ip.compressed}]" if isinstance(ip, ipaddress.IPv6Address) else ip.compressed
