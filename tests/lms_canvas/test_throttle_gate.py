from __future__ import annotations

import threading
import time

import pytest

from lms_canvas.errors import NotFound
from lms_canvas.throttle import ThrottleGate, fetch_concurrently


def test_physical_maximum_is_hwm_over_up_front_cost():
    assert ThrottleGate().max_limit == 14
    assert ThrottleGate(hwm=600, up_front_cost=50).max_limit == 12


def test_limit_grows_while_the_bucket_has_room_up_to_the_maximum():
    gate = ThrottleGate(initial_limit=2)
    for _ in range(200):
        gate.acquire()
        gate.release(700.0, throttled=False)
    assert gate.limit == gate.max_limit


def test_limit_grows_about_one_request_per_round_trip():
    gate = ThrottleGate(initial_limit=4)
    for _ in range(4):
        gate.acquire()
        gate.release(700.0, throttled=False)
    assert 4.8 < gate.limit < 5.2


def test_a_throttled_answer_halves_the_limit():
    gate = ThrottleGate(initial_limit=12)
    gate.acquire()
    gate.release(0.0, throttled=True)
    assert gate.limit == 6


def test_limit_never_goes_below_one():
    gate = ThrottleGate(initial_limit=2)
    for _ in range(10):
        gate.acquire()
        gate.release(0.0, throttled=True)
    assert gate.limit == 1
    gate.acquire()  # one request may always go, or a drained bucket would never be probed again
    assert gate.in_flight == 1


def test_limit_shrinks_as_remaining_approaches_zero():
    gate = ThrottleGate(initial_limit=14)
    gate.acquire()
    gate.release(120.0, throttled=False)
    assert gate.limit == pytest.approx(2.4)


def test_remaining_counts_the_requests_still_in_flight_as_already_paid():
    gate = ThrottleGate(initial_limit=14)
    for _ in range(10):
        gate.acquire()
    # 9 others still hold their up-front cost, which Canvas already took out of `remaining`.
    gate.release(100.0, throttled=False)
    assert gate.limit == pytest.approx(11)


def test_a_missing_reading_leaves_the_limit_alone():
    gate = ThrottleGate(initial_limit=5)
    gate.acquire()
    gate.release(None, throttled=False)
    assert gate.limit == 5
    assert gate.in_flight == 0


def test_acquire_blocks_at_the_limit_until_a_release():
    gate = ThrottleGate(initial_limit=2)
    gate.acquire()
    gate.acquire()
    third = threading.Event()

    def wait_for_slot():
        gate.acquire()
        third.set()

    threading.Thread(target=wait_for_slot, daemon=True).start()
    assert not third.wait(0.1)
    gate.release(700.0, throttled=False)
    assert third.wait(2)


def test_concurrent_users_never_exceed_the_limit():
    gate = ThrottleGate(initial_limit=3)
    peak = 0
    lock = threading.Lock()

    def work(_):
        nonlocal peak
        gate.acquire()
        with lock:
            peak = max(peak, gate.in_flight)
        time.sleep(0.002)
        gate.release(None, throttled=False)

    list(fetch_concurrently(work, range(100), max_workers=16))
    assert peak <= 3


def test_fetch_concurrently_yields_every_item_with_its_result():
    results = dict(fetch_concurrently(lambda n: n * n, range(50), max_workers=4))
    assert results == {n: n * n for n in range(50)}


def test_fetch_concurrently_yields_canvas_errors_with_their_item():
    def fetch(n):
        if n == 3:
            raise NotFound("gone")
        return n

    results = dict(fetch_concurrently(fetch, range(6), max_workers=2))
    assert isinstance(results.pop(3), NotFound)
    assert results == {0: 0, 1: 1, 2: 2, 4: 4, 5: 5}


def test_fetch_concurrently_lets_bugs_propagate():
    def fetch(n):
        raise TypeError("a bug, not a Canvas answer")

    with pytest.raises(TypeError):
        list(fetch_concurrently(fetch, range(3), max_workers=2))


def test_fetch_concurrently_reads_items_lazily():
    read = 0

    def items():
        nonlocal read
        for n in range(100_000):
            read += 1
            yield n

    results = fetch_concurrently(lambda n: n, items(), max_workers=4)
    next(results)
    results.close()
    assert read <= 2 * 4 + 1
