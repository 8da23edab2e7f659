"""Where a Canvas request may go: the guard every outbound Canvas request passes, API and OAuth alike.

A guarded session follows no redirect (a 3xx comes back to the caller as it is, so a secret is never
re-sent elsewhere) and checks, for every new connection, the address the socket actually reached:
the name saved in LMS Settings may resolve to another address by then (DNS rebinding). The check
sits in urllib3's connection, after connect and before a byte is sent, so a pooled keep-alive
connection costs nothing more. Behind an HTTP(S) proxy the proxy connects, so the portal resolves
and checks the name itself just before sending; the proxy should refuse private targets as well.
"""

from __future__ import annotations

import logging
import socket
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from requests.utils import select_proxy
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from lms_canvas.urlguard import address_refusal, host_refusal

logger = logging.getLogger("lms_canvas.egress")


class Refused(requests.ConnectionError):
    """The guard refused to send this request; the message says why, in words for the admin."""


class _PeerRefused(Exception):
    # Not an OSError, so urllib3 neither retries it nor wraps it; GuardedAdapter.send turns it into Refused.
    pass


def _refusal_message(host: str, kind: str) -> str:
    return f"The portal does not connect to {host}: it leads to a private or local network ({kind})."


def _check_peer(sock: socket.socket, host: str) -> None:
    address = sock.getpeername()[0]
    kind = address_refusal(address, allow_private=settings.CANVAS_ALLOW_PRIVATE_URLS)
    if kind:
        sock.close()
        logger.warning("Refused a Canvas connection to %s: it reached %s (%s)", host, address, kind)
        raise _PeerRefused(_refusal_message(host, kind))


class GuardedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _check_peer(sock, self.host)
        return sock


class GuardedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _check_peer(sock, self.host)  # before the TLS handshake: not even a ClientHello leaves
        return sock


class GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """requests' adapter, refusing what the URL guard refuses: by scheme, by name, by address reached."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": GuardedHTTPConnectionPool,
            "https": GuardedHTTPSConnectionPool,
        }

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        allow_private = settings.CANVAS_ALLOW_PRIVATE_URLS
        parts = urlsplit(request.url or "")
        host = parts.hostname or ""
        if parts.scheme != "https" and not allow_private:
            raise Refused(f"The portal sends Canvas requests to {host} only over https.", request=request)
        kind = host_refusal(host, allow_private=allow_private)
        if kind is None and select_proxy(request.url or "", kwargs.get("proxies")):
            kind = _resolved_refusal(host, parts.port, allow_private)
        if kind:
            raise Refused(_refusal_message(host, kind), request=request)
        try:
            return super().send(request, *args, **kwargs)
        except _PeerRefused as exc:
            raise Refused(str(exc), request=request) from None


def _resolved_refusal(host: str, port: int | None, allow_private: bool) -> str | None:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return None  # the proxy will say it cannot resolve the name
    for info in infos:
        kind = address_refusal(str(info[4][0]), allow_private=allow_private)
        if kind:
            return kind
    return None


class NoRedirects:
    """Mixed into a requests.Session: a redirect is returned to the caller, never followed."""

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        return None


def guard(session: requests.Session, *, pool_maxsize: int = 10) -> requests.Session:
    """Mount the guarded adapter for both schemes; the session's class must mix in NoRedirects."""
    if not isinstance(session, NoRedirects):
        raise TypeError("a guarded session must not follow redirects: mix NoRedirects into its class")
    adapter = GuardedAdapter(pool_connections=4, pool_maxsize=pool_maxsize)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
