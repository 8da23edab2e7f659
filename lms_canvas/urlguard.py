"""The Canvas Server URL guard: https in production, and no private or loopback hosts unless allowed."""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def normalize_canvas_url(value: str) -> str:
    """Reduce what an admin pastes (often a page address) to the server origin, or explain why not."""
    value = (value or "").strip()
    if "://" not in value:
        value = "https://" + value
    parts = urlsplit(value)
    allow_private = settings.CANVAS_ALLOW_PRIVATE_URLS
    if parts.scheme not in {"http", "https"} or not parts.hostname or not _is_host_name(parts.hostname):
        raise ValidationError("Enter your Canvas address, such as https://yourschool.instructure.com.")
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        raise ValidationError("The port in the Canvas Server address must be a number up to 65535.") from None
    if parts.scheme != "https" and not allow_private:
        raise ValidationError("The Canvas Server must use https:// so keys and tokens travel encrypted.")
    if parts.username or parts.password:
        raise ValidationError("Leave user names and passwords out of the Canvas Server address.")
    if not allow_private and _is_private(parts.hostname):
        raise ValidationError(
            "That address points to a private or local network, which the portal does not connect to. "
            "Use your Canvas instance's public address."
        )
    if not allow_private and "." not in parts.hostname.strip(".") and ":" not in parts.hostname:
        # A name without a dot only resolves on a local network.
        raise ValidationError("Enter your Canvas address, such as https://yourschool.instructure.com.")
    return f"{parts.scheme}://{parts.hostname.lower()}{port}"


def _is_host_name(host: str) -> bool:
    """An IP address or a DNS name (internationalized names included); not any text after https://."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_host.lower().removesuffix(".").split(".")
    # An all-digit last label is no top-level domain, only a short form of an IP address ("1.5").
    return len(ascii_host) <= 253 and all(HOST_LABEL.match(label) for label in labels) and not labels[-1].isdigit()


def _is_private(host: str) -> bool:
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (socket.gaierror, UnicodeError):
        # An unresolvable name is caught by the key preflight with a clearer message.
        return False
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global:
            return True
    return False
