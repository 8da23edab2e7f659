"""One Canvas API call: authentication, the throttle gate, retries, and turning answers into errors.

The retry policy lives here and nowhere else (STYLE rule 9): transient failures (5xx, timeouts,
connection errors) back off exponentially with full jitter; throttled answers back off more
patiently; permanent errors raise at once.
"""

from __future__ import annotations

import functools
import logging
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import version
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

import requests
import requests.auth

from lms_canvas.egress import NoRedirects, Refused, guard
from lms_canvas.errors import (
    AddressRefused,
    CanvasError,
    CanvasUnavailable,
    Forbidden,
    NotFound,
    RequestRejected,
    ScopeMissing,
    Throttled,
    TokenInvalid,
    UnexpectedResponse,
    redact,
)
from lms_canvas.scopes import scope_for
from lms_canvas.throttle import Gate

if TYPE_CHECKING:
    from requests.sessions import _Settings  # requests-stubs' TypedDict of what this returns

logger = logging.getLogger("lms_canvas.client")

# POST is not idempotent: after a 5xx or a read timeout Canvas may already have created the object.
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE"})


def canvas_timeout() -> tuple[float, float]:
    """(connect, read) seconds for every request to Canvas: one setting, below Canvas's 60 s idle drop."""
    from django.conf import settings

    return (settings.CANVAS_CONNECT_TIMEOUT_S, settings.CANVAS_READ_TIMEOUT_S)


class TokenSource(Protocol):
    def access_token(self) -> str: ...

    def refreshed_after_rejection(self, rejected_token: str) -> str:
        """Called once when Canvas rejects `rejected_token`; returns a new token or raises TokenInvalid."""
        ...


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    throttled_attempts: int = 8
    throttled_base_delay: float = 2.0
    throttled_max_delay: float = 30.0

    def delay(self, retry: int) -> float:
        """Full jitter: anywhere from 0 to the exponential step, so retrying workers spread out."""
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**retry))

    def throttled_delay(self, retry: int, retry_after: float | None) -> float:
        """Equal jitter: at least half the step, because the bucket needs time to drain."""
        step = min(self.throttled_max_delay, self.throttled_base_delay * 2**retry)
        return max(retry_after or 0.0, step / 2 + random.uniform(0, step / 2))


@functools.cache
def user_agent() -> str:
    """Names the installed release (pyproject.toml's version; `make` and the image install the project).

    Read once per process: importlib.metadata scans the installed distributions on every call."""
    return f"LMS-Sync-Portal/{version('lms-sync-portal')} (+python-requests)"


class CanvasSession(NoRedirects, requests.Session):
    """A guarded requests session (lms_canvas.egress) that reads the environment (proxy variables,
    CA bundle) once per host.

    requests looks them up on every request, and ~/.netrc too: about a third of the client's CPU
    per Canvas call, which at hundreds of calls a second competes with the calls themselves for the
    GIL. The environment does not change while a worker runs. netrc is never read at all: every
    call carries its bearer token as `auth` (so a netrc entry cannot replace the token either).
    """

    def __init__(self) -> None:
        super().__init__()
        self._environment: dict[tuple[str, str], _Settings] = {}

    def merge_environment_settings(
        self, url: str | bytes | None, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> _Settings:
        if not isinstance(url, str) or proxies or stream is not None or verify is not None or cert is not None:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        host = urlsplit(url)[:2]
        settings = self._environment.get(host)
        if settings is None:
            settings = self._environment[host] = super().merge_environment_settings(url, {}, None, None, None)
        return {**settings, "proxies": dict(settings["proxies"])}

    def prepare_canvas_request(
        self, method: str, url: str, *, params: Any, data: Any, auth: requests.auth.AuthBase
    ) -> requests.PreparedRequest:
        """What `prepare_request(Request(method, url, params=..., data=..., auth=...))` makes, without
        its per-call merging: this session has no params or auth of its own, and the request has no
        headers, cookies or hooks of its own, so the session's headers, cookie jar and hooks are the
        merged ones (the merging copied the headers and the jar twice, and was ~15% of the client's
        CPU per Canvas call outside the socket, py-spy --gil)."""
        if self.params or self.auth or not isinstance(params, Mapping):
            return self.prepare_request(requests.Request(method, url, params=params, data=data, auth=auth))
        prepared = requests.PreparedRequest()
        prepared.prepare(
            method=method.upper(),
            url=url,
            headers=self.headers,
            data=data,
            params={key: value for key, value in params.items() if value is not None},  # as merging drops them
            auth=auth,
            cookies=self.cookies,
            hooks=self.hooks,
        )
        return prepared


class BearerAuth(requests.auth.AuthBase):
    def __init__(self, token: str) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "BearerAuth(<redacted>)"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request


def build_session() -> requests.Session:
    session = CanvasSession()
    session.headers.update({"User-Agent": user_agent(), "Accept": "application/json"})
    # Enough pooled connections for every worker of fetch_concurrently to keep its own.
    return guard(session, pool_maxsize=32)


_sessions: dict[tuple[str, int], requests.Session] = {}
_sessions_lock = threading.Lock()


def session_for(server_url: str, connection_id: int) -> requests.Session:
    """One session per Canvas connection per process, kept across tasks: its pooled keep-alive
    connections serve the next batch too, instead of each batch opening (and Canvas accepting) a new
    TCP connection per thread. Per connection, never shared between institutions, so nothing one
    token's answers leave in a session (cookies) reaches another's requests. requests' sessions are
    used from many threads here already (fetch_concurrently's); the pool hands each a connection."""
    key = (server_url, connection_id)
    with _sessions_lock:
        session = _sessions.get(key)
        if session is None:
            session = _sessions[key] = build_session()
        return session


class Transport:
    def __init__(
        self,
        tokens: TokenSource,
        session: requests.Session,
        gate: Gate,
        *,
        timeout: tuple[float, float],
        policy: RetryPolicy,
        sleep: Callable[[float], None],
    ) -> None:
        self.tokens = tokens
        self.session = session
        self.gate = gate
        self.timeout = timeout
        self.policy = policy
        self.sleep = sleep

    def request(self, method: str, url: str, *, params: Any = None, data: Any = None) -> requests.Response:
        """Send until Canvas answers 2xx, retrying what can be retried; raise a CanvasError otherwise."""
        token = self.tokens.access_token()
        refreshed = False
        failures = throttled = 0
        while True:
            try:
                response = self._send(method, url, params, data, token)
            except Refused as exc:
                raise AddressRefused(str(exc)) from None
            except (requests.ConnectionError, requests.Timeout) as exc:
                if not self._may_retry_failure(method, failures):
                    raise CanvasUnavailable(_network_message(method, _path(url), exc)) from exc
                self.back_off(f"{method} {_path(url)}: {type(exc).__name__}", self.policy.delay(failures))
                failures += 1
                continue
            if 200 <= response.status_code < 300:
                return response
            if _is_throttled(response):
                if throttled + 1 >= self.policy.throttled_attempts:
                    raise Throttled(
                        f"Canvas kept throttling {method} {_path(url)} (Rate Limit Exceeded) after {throttled + 1} attempts.",
                        status=response.status_code,
                    )
                delay = self.policy.throttled_delay(throttled, _retry_after(response))
                self.back_off(f"{method} {_path(url)}: throttled", delay)
                throttled += 1
                continue
            if response.status_code == 401 and "WWW-Authenticate" in response.headers and not refreshed:
                token = self.tokens.refreshed_after_rejection(token)
                refreshed = True
                continue
            error = error_for(method, _path(url), response, after_refresh=refreshed)
            if error.permanent or not self._may_retry_failure(method, failures):
                raise error
            self.back_off(f"{method} {_path(url)}: HTTP {response.status_code}", self.policy.delay(failures))
            failures += 1

    def back_off(self, what: str, delay: float) -> None:
        logger.info("Canvas %s; retrying in %.1fs", what, delay)
        self.sleep(delay)

    def _send(self, method: str, url: str, params: Any, data: Any, token: str) -> requests.Response:
        remaining: float | None = None
        throttled = False
        # Prepared before the gate admits it (what session.request does, in two steps): a request holds
        # its share of the token's budget only while it is on its way to Canvas and back.
        if isinstance(self.session, CanvasSession):
            prepared = self.session.prepare_canvas_request(
                method, url, params=params or {}, data=data or {}, auth=BearerAuth(token)
            )
        else:
            prepared = self.session.prepare_request(
                requests.Request(method, url, params=params or {}, data=data or {}, auth=BearerAuth(token))
            )
        environment = self.session.merge_environment_settings(prepared.url, {}, None, None, None)
        self.gate.acquire()
        try:
            response = self.session.send(prepared, timeout=self.timeout, allow_redirects=False, **environment)
            remaining = _remaining(response)
            throttled = _is_throttled(response)
        finally:
            self.gate.release(remaining, throttled)
        if logger.isEnabledFor(logging.DEBUG):  # not formatted for every request when nobody reads it
            logger.debug(
                "Canvas %s %s -> %s (rate limit remaining %s)", method, _path(url), response.status_code, remaining
            )
        return response

    def _may_retry_failure(self, method: str, failures: int) -> bool:
        return method in IDEMPOTENT and failures + 1 < self.policy.attempts


def error_for(method: str, path: str, response: requests.Response, *, after_refresh: bool) -> CanvasError:
    """The CanvasError for a non-2xx, non-throttled answer (CANVAS_API.md §6)."""
    status = response.status_code
    said = _canvas_message(response)
    where = f"{method} {path}"
    if status == 401 and "WWW-Authenticate" in response.headers:
        if after_refresh:
            # Canvas renewed the token, then refused the new one: the key itself no longer works.
            return TokenInvalid(
                f"Canvas rejected the access token for {where} even just after renewing it "
                f"({said or 'Invalid access token.'}): the developer key is probably switched OFF.",
                refresh_may_help=False,
                fix="In Canvas, go to Admin > Developer Keys and set the portal key's State to ON; "
                "if it is ON, choose Generate Key in LMS Settings to authorize the portal again.",
            )
        return TokenInvalid(
            f"Canvas rejected the access token for {where}: {said or 'Invalid access token.'}",
            refresh_may_help="revoked" not in said.lower(),
        )
    if status in (401, 403) and "not authorized" in said.lower():
        return Forbidden(f"Canvas says the authorizing user may not {where}: {said}", status=status)
    if status == 401:
        scope = scope_for(method, path)
        return ScopeMissing(
            f"The developer key does not grant {scope or 'a scope for this endpoint'}, needed for {where}.",
            scope=scope,
        )
    if status == 403:
        return Forbidden(f"Canvas refused {where} (403): {said or 'forbidden'}", status=status)
    if status == 404:
        return NotFound(f"Canvas has no such object: {where} (404).", status=status)
    if status in (400, 409, 422):
        return RequestRejected(f"Canvas refused {where} ({status}): {said or 'bad request'}", status=status)
    if status >= 500:
        return CanvasUnavailable(f"Canvas failed on {where} with HTTP {status}.", status=status)
    if 300 <= status < 400:
        return UnexpectedResponse(
            f"Canvas answered {where} with a redirect (HTTP {status}); the portal follows no redirect, "
            "so the request was not sent on.",
            status=status,
        )
    return UnexpectedResponse(f"Canvas answered {where} with unexpected HTTP {status}.", status=status)


def decode_json(method: str, path: str, response: requests.Response) -> Any:
    if response.status_code == 204 or not response.content:
        return {}
    try:
        return response.json()
    except ValueError:
        content_type = response.headers.get("Content-Type", "no content type")
        raise UnexpectedResponse(
            f"Canvas answered {method} {path} with HTTP {response.status_code} but the body is not JSON "
            f"({content_type}, {len(response.content)} bytes); is the server URL Canvas's?",
            status=response.status_code,
        ) from None


def _path(url: str) -> str:
    """The URL's path as messages and logs show it (redacted); only worked out when one is written."""
    return redact(urlsplit(url).path)


def _is_throttled(response: requests.Response) -> bool:
    return response.status_code == 429 or (response.status_code == 403 and "Rate Limit Exceeded" in response.text)


def _remaining(response: requests.Response) -> float | None:
    try:
        return float(response.headers["X-Rate-Limit-Remaining"])
    except (KeyError, ValueError):
        return None


def _retry_after(response: requests.Response) -> float | None:
    try:
        return float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        return None


def _canvas_message(response: requests.Response) -> str:
    """Canvas's own error text, e.g. {"errors": [{"message": "..."}]}, shortened and redacted."""
    try:
        body = response.json()
    except ValueError:
        return ""
    messages: list[str] = []
    if isinstance(body, dict):
        errors = body.get("errors", body.get("message", body.get("error", "")))
        if isinstance(errors, list):
            messages = [str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors]
        elif isinstance(errors, dict):
            messages = [f"{field}: {problems}" for field, problems in errors.items()]
        elif errors:
            messages = [str(errors)]
    return redact("; ".join(messages))[:300]


def _network_message(method: str, path: str, exc: Exception) -> str:
    kind = "timed out" if isinstance(exc, requests.Timeout) else "could not connect"
    return f"Canvas {kind} on {method} {path}."
