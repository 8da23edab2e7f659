"""A real Redis for the shared throttle gate's tests: DB 12 unless THROTTLE_TEST_REDIS_URL says otherwise,
each gate on a name of its own, so tests running at once in other processes never share a budget."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest
import redis

from lms_canvas.redis_gate import RedisGate
from tests.worker import redis_reachable

REDIS_URL = os.environ.get("THROTTLE_TEST_REDIS_URL", "redis://127.0.0.1:6379/12")


@pytest.fixture
def throttle_redis_url() -> str:
    if not redis_reachable(REDIS_URL):
        pytest.skip(f"needs Redis at {REDIS_URL} (set THROTTLE_TEST_REDIS_URL to use another)")
    return REDIS_URL


@pytest.fixture
def redis_client(throttle_redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(throttle_redis_url, socket_timeout=5)
    yield client
    client.close()


@pytest.fixture
def make_gate(redis_client: redis.Redis) -> Iterator[Callable[..., RedisGate]]:
    """`make_gate(name=None, **params)`: a RedisGate on a fresh name (or `name`, to share one), keys removed after."""
    made: list[RedisGate] = []
    fresh = uuid.uuid4().hex

    def make(name: str | None = None, **params: float) -> RedisGate:
        # Its own client, as another process would have.
        gate = RedisGate(redis.Redis.from_url(REDIS_URL, socket_timeout=5), name or fresh, **params)
        made.append(gate)
        return gate

    yield make
    for gate in made:
        redis_client.delete(*gate.keys)
        gate.redis.close()
