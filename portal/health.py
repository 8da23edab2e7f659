"""/healthz and /readyz for the container healthchecks and a load balancer, and beat's heartbeat.

/healthz says the process answers (no database). /readyz checks what a run needs: the database, the
broker, a worker answering a ping and beat's last tick. Both are answered by a middleware placed
first, before host validation and the HTTPS redirect: docker calls http://localhost:8000 inside the
container. Bodies carry short reasons only, never a URL or an exception's text (either can hold a
password)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from time import monotonic

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from portal.models import ServiceHeartbeat

log = logging.getLogger(__name__)

BEAT = "beat"
BEAT_TICK_EVERY = 15.0  # seconds between heartbeat writes per process: beat ticks far more often
BROKER_TIMEOUT = 2.0
PING_TIMEOUT = 1.0

_last_beat_write: float | None = None


@dataclass(frozen=True)
class Check:
    ok: bool
    detail: str


def record_beat_tick() -> bool:
    """Note that beat is alive; called from the beat scheduler's tick. Writes at most once every
    BEAT_TICK_EVERY seconds per process, and never raises: a database error just leaves the
    heartbeat to go stale, which /readyz then reports. Returns whether it wrote."""
    global _last_beat_write
    now = monotonic()
    if _last_beat_write is not None and now - _last_beat_write < BEAT_TICK_EVERY:
        return False
    try:
        ServiceHeartbeat.objects.update_or_create(name=BEAT, defaults={"seen_at": timezone.now()})
    except DatabaseError as exc:
        log.warning("beat heartbeat not recorded: %s", type(exc).__name__)
        if not connection.in_atomic_block:
            close_old_connections()  # as django-celery-beat does: a broken connection is replaced next tick
        return False
    _last_beat_write = now
    return True


def reason(exc: BaseException) -> str:
    """A short cause for a failed check that cannot hold a secret: the exception's class, not its text."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError):
            return "refused"
        if isinstance(seen, TimeoutError):
            return "timed out"
        seen = seen.__cause__ or seen.__context__
    return f"unreachable ({type(exc).__name__})"


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any failure means not ready; the log and the body name its class only
        log.warning("readyz: database check failed: %s", type(exc).__name__)
        return Check(False, reason(exc))
    return Check(True, "ok")


def check_broker() -> Check:
    from portal.celery import app

    try:
        with app.connection_for_write(connect_timeout=BROKER_TIMEOUT) as conn:
            # celery-types declares these int; kombu takes (and documents) the intervals in float seconds.
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0.2, timeout=BROKER_TIMEOUT)  # type: ignore[arg-type]
    except Exception as exc:
        log.warning("readyz: broker check failed: %s", type(exc).__name__)
        return Check(False, reason(exc))
    return Check(True, "ok")


def check_worker() -> Check:
    from portal.celery import app

    try:
        replies = app.control.ping(timeout=PING_TIMEOUT, limit=1)
    except Exception as exc:
        log.warning("readyz: worker ping failed: %s", type(exc).__name__)
        return Check(False, f"no worker answered: {reason(exc)}")
    if not replies:
        return Check(False, "no worker answered")
    return Check(True, "a worker answered")


def check_beat() -> Check:
    seen_at = ServiceHeartbeat.objects.filter(name=BEAT).values_list("seen_at", flat=True).first()
    if seen_at is None:
        return Check(False, "beat has not ticked yet")
    age = int((timezone.now() - seen_at).total_seconds())
    limit = settings.BEAT_STALE_SECONDS
    if age > limit:
        return Check(False, f"last tick {age} s ago (stale after {limit} s)")
    return Check(True, f"last tick {max(age, 0)} s ago")


def readiness() -> dict[str, Check]:
    checks: dict[str, Check] = {"database": check_database(), "broker": check_broker()}
    broker_up = checks["broker"].ok
    checks["worker"] = check_worker() if broker_up else Check(False, "not asked: the broker is down")
    checks["beat"] = check_beat() if checks["database"].ok else Check(False, "not read: the database is down")
    return checks


def healthz(request: HttpRequest) -> HttpResponse:
    return _json({"status": "ok"}, 200)


def readyz(request: HttpRequest) -> HttpResponse:
    checks = readiness()
    ok = all(c.ok for c in checks.values())
    body = {
        "status": "ok" if ok else "failing",
        "checks": {name: {"ok": c.ok, "detail": c.detail} for name, c in checks.items()},
    }
    return _json(body, 200 if ok else 503)


def _json(body: dict, status: int) -> HttpResponse:
    r = HttpResponse(json.dumps(body), status=status, content_type="application/json")
    r["Cache-Control"] = "no-store"
    return r


PROBES: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/healthz": healthz,
    "/healthz/": healthz,
    "/readyz": readyz,
    "/readyz/": readyz,
}


class HealthCheckMiddleware:
    """First in MIDDLEWARE: answers the probes before ALLOWED_HOSTS, the HTTPS redirect and login."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info)
        if probe is not None and request.method in ("GET", "HEAD"):
            return probe(request)
        return self.get_response(request)
