"""The address of the person at the other end of a request, for login lockouts and rate limits.

Without a proxy (TRUSTED_PROXY_COUNT = 0) it is the socket's address, REMOTE_ADDR, and any
X-Forwarded-For a client sends is ignored: it could name anyone. Behind N proxies that each append
the address they were connected from to the header (nginx's $proxy_add_x_forwarded_for, an AWS
ALB), the Nth entry from the right is the one the outermost proxy saw; whatever is left of it the
client wrote itself and is never read.

django-axes would do this through django-ipware, which is not installed here (axes made it
optional), so its AXES_IPWARE_* settings would be silently ignored; axes calls this instead.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    remote = request.META.get("REMOTE_ADDR")
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    hops = [hop.strip() for hop in request.META.get(settings.TRUSTED_PROXY_HEADER, "").split(",") if hop.strip()]
    if len(hops) < count:
        return remote  # not through all the proxies: only the socket's address is known
    candidate = hops[-count]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
