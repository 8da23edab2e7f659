"""gate_for: the shared gate when THROTTLE_REDIS_URL is set, this process's own when not, and its own
again (with one warning) while Redis cannot be reached."""

from __future__ import annotations

import logging

import pytest
import redis

from lms_canvas import gates
from lms_canvas.gates import FallbackGate, gate_for
from lms_canvas.redis_gate import RedisGate
from lms_canvas.throttle import ThrottleGate

# Nothing listens on port 1: connecting is refused at once.
UNREACHABLE = "redis://127.0.0.1:1/0"


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def unreachable_gate(clock=None) -> FallbackGate:
    client = redis.Redis.from_url(UNREACHABLE, socket_connect_timeout=0.5)
    return FallbackGate(RedisGate(client, "unreachable"), ThrottleGate(initial_limit=2), clock=clock or FakeClock())


def test_without_redis_each_process_keeps_its_own_gate_per_connection(settings):
    settings.THROTTLE_REDIS_URL = ""
    gate = gate_for(41)
    assert isinstance(gate, ThrottleGate)
    assert gate_for(41) is gate
    assert gate_for(42) is not gate
    assert gate.max_limit == 14


def test_with_redis_the_gate_is_shared_under_the_connection_and_database(settings, throttle_redis_url, redis_client):
    settings.THROTTLE_REDIS_URL = throttle_redis_url
    gate = gate_for(43)
    try:
        assert isinstance(gate, FallbackGate)
        assert gate_for(43) is gate
        assert gate.max_limit == 14
        assert gate.shared.keys[0].startswith("lms:throttle:{") and ":43}" in gate.shared.keys[0]
        gate.acquire()
        assert gate.shared.in_flight == 1
        gate.release(600.0, throttled=False)
        assert gate.shared.in_flight == 0
    finally:
        redis_client.delete(*gate.shared.keys)
        gates._gates.pop((throttle_redis_url, gates.connections["default"].settings_dict["NAME"], 43), None)


def test_unreachable_redis_falls_back_to_the_process_gate_with_one_warning(caplog):
    gate = unreachable_gate()
    with caplog.at_level(logging.WARNING, logger="lms_canvas.gates"):
        for _ in range(3):
            gate.acquire()
            gate.release(700.0, throttled=False)
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "Throttle gate: Redis unreachable (ConnectionError); this process keeps its own Canvas request budget "
        "and tries Redis again in 30 s"
    ]
    assert gate.local.in_flight == 0
    assert gate.local.limit > 2  # the process gate learned from the answers


def test_redis_is_tried_again_after_a_while():
    clock = FakeClock()
    gate = unreachable_gate(clock)
    gate.acquire()
    gate.release(None, throttled=False)
    assert not gate.using_redis
    clock.now += gates.RETRY_REDIS_AFTER_S
    assert gate.using_redis


def test_a_request_is_released_to_the_gate_that_admitted_it_even_if_redis_fails_meanwhile(make_gate, caplog):
    shared = make_gate(initial_limit=2)
    gate = FallbackGate(shared, ThrottleGate(initial_limit=2), clock=FakeClock())
    gate.acquire()
    assert shared.in_flight == 1

    def lost(*args, **kwargs):
        raise redis.ConnectionError("connection lost")

    shared._release = lost
    with caplog.at_level(logging.WARNING, logger="lms_canvas.gates"):
        gate.release(700.0, throttled=False)  # Canvas's answer is not hidden by the gate's failure
    assert "Redis unreachable" in caplog.text
    assert gate.local.in_flight == 0
    assert not gate.using_redis


def test_a_redis_error_that_is_not_an_outage_is_not_swallowed(make_gate):
    shared = make_gate()

    def broken(*args, **kwargs):
        raise redis.ResponseError("ERR bug in the script")

    shared._acquire = broken
    with pytest.raises(redis.ResponseError):
        FallbackGate(shared, ThrottleGate()).acquire()
