"""The throttle gate of each Canvas token: one budget for every process and machine that uses the token.

With THROTTLE_REDIS_URL set, every process's gate for a connection is the same RedisGate state, so two
workers syncing one institution keep about 14 requests in flight in all, not 14 each. Without it (the
embedded default, one worker) the gate is this process's own ThrottleGate.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import redis
from django.conf import settings
from django.db import connections

from lms_canvas.redis_gate import RedisGate
from lms_canvas.throttle import Gate, ThrottleGate

logger = logging.getLogger(__name__)

# How long a process keeps its own gate after Redis failed before it tries Redis again.
RETRY_REDIS_AFTER_S = 30.0

_gates: dict[tuple[str, str, int], Gate] = {}
_clients: dict[str, redis.Redis] = {}
_lock = threading.Lock()


def gate_for(connection_id: int) -> Gate:
    """The gate of a connection's token, one object per process (so its threads share it too)."""
    url = settings.THROTTLE_REDIS_URL
    # Connection ids are unique only within one database: two portals, or two test runs, that share a
    # Redis must not share a budget.
    database = str(connections["default"].settings_dict["NAME"])
    with _lock:
        key = (url, database, connection_id)
        if key not in _gates:
            _gates[key] = _new_gate(url, f"{database}:{connection_id}")
        return _gates[key]


def _new_gate(url: str, name: str) -> Gate:
    if not url:
        return ThrottleGate()
    if url not in _clients:
        # The socket timeout must outlast a waiter's BLPOP (RedisGate.poll).
        _clients[url] = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=5, health_check_interval=30)
    return FallbackGate(RedisGate(_clients[url], name), ThrottleGate())


class FallbackGate:
    """The shared gate, or this process's own while Redis cannot be reached.

    A sync must not fail because the throttle's bookkeeping is down: Canvas still throttles, the
    client retries its 403s, and a per-process budget is what a single worker has anyway. So Redis
    errors switch this process to its own gate (one warning), and it tries Redis again after
    RETRY_REDIS_AFTER_S. Each request is released to the gate that admitted it.
    """

    def __init__(self, shared: RedisGate, local: ThrottleGate, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.shared = shared
        self.local = local
        self.max_limit = shared.max_limit
        self._clock = clock
        self._down_until: float | None = None
        self._state = threading.Lock()
        self._held = threading.local()

    @property
    def using_redis(self) -> bool:
        with self._state:
            return self._down_until is None or self._clock() >= self._down_until

    def acquire(self) -> None:
        gate: RedisGate | ThrottleGate = self.local
        if self.using_redis:
            try:
                self.shared.acquire()
                gate = self.shared
                self._redis_answered()
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                self._redis_failed(exc)
        if gate is self.local:
            self.local.acquire()
        self._admitted().append(gate)

    def release(self, remaining: float | None, throttled: bool) -> None:
        gate = self._admitted().pop()
        try:
            gate.release(remaining, throttled)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            # The lease expires on its own in Redis; raising here would hide Canvas's answer.
            self._redis_failed(exc)

    def _admitted(self) -> list[RedisGate | ThrottleGate]:
        if not hasattr(self._held, "gates"):
            self._held.gates = []
        return self._held.gates

    def _redis_failed(self, exc: Exception) -> None:
        with self._state:
            was_up = self._down_until is None
            self._down_until = self._clock() + RETRY_REDIS_AFTER_S
        if was_up:
            logger.warning(
                "Throttle gate: Redis unreachable (%s); this process keeps its own Canvas request budget "
                "and tries Redis again in %.0f s",
                type(exc).__name__,
                RETRY_REDIS_AFTER_S,
            )

    def _redis_answered(self) -> None:
        with self._state:
            was_down = self._down_until is not None
            self._down_until = None
        if was_down:
            logger.info("Throttle gate: Redis reachable again; the Canvas request budget is shared again")
