from __future__ import annotations

import threading
import time

import pytest

from lms_canvas.errors import NotFound
from lms_canvas.throttle import ThrottleGate, fetch_concurrently


def test_physical_maximum_is_hwm_over_up_front_cost():
    assert ThrottleGate().max_limit == 14
    assert ThrottleGate(hwm=600, up_front_cost=50).max_limit == 12


def test_a_bucket_with_part_of_an_up_front_cost_left_keeps_the_full_fourteen_in_flight():
    gate = ThrottleGate(initial_limit=14)
    for _ in range(14):
        gate.acquire()
    # 13 still in flight hold 650; finished requests' costs left 0.3 more: Canvas admits one more.
    gate.release(49.7, throttled=False)
    assert gate.limit == 14


def test_the_last_few_units_of_a_bucket_admit_no_more_requests():
    gate = ThrottleGate(initial_limit=14, room=10)
    for _ in range(14):
        gate.acquire()
    # 13 still in flight hold 650 and 46 more are taken: the 4 left are gone once a few of those 13
    # finish and add their costs, before a 14th would arrive.
    gate.release(4.0, throttled=False)
    assert gate.limit == 13


def test_limit_grows_while_the_bucket_has_room_up_to_the_maximum():
    gate = ThrottleGate(initial_limit=2)
    for _ in range(200):
        gate.acquire()
        gate.release(700.0, throttled=False)
    assert gate.limit == gate.max_limit


def test_limit_doubles_per_round_trip_until_the_first_sign_of_a_full_bucket():
    gate = ThrottleGate(initial_limit=4)
    for _ in range(4):
        gate.acquire()
        gate.release(700.0, throttled=False)
    assert gate.limit == 8


def test_after_a_throttled_answer_limit_grows_about_one_request_per_round_trip():
    gate = ThrottleGate(initial_limit=8, outflow=1e6)
    gate.acquire()
    gate.release(0.0, throttled=True)
    for _ in range(4):
        gate.acquire()
        gate.release(700.0, throttled=False)
    assert 4.8 < gate.limit < 5.2


def test_a_throttled_answer_halves_the_limit():
    gate = ThrottleGate(initial_limit=12)
    gate.acquire()
    gate.release(0.0, throttled=True)
    assert gate.limit == 6


def test_a_nearly_full_bucket_does_not_pause_while_requests_in_flight_will_free_room():
    gate = ThrottleGate(initial_limit=14)
    for _ in range(5):
        gate.acquire()
    gate.release(0.0, throttled=False)
    assert gate.pause == 0
    assert gate.limit == 4


def test_limit_never_goes_below_one():
    gate = ThrottleGate(initial_limit=2, outflow=1e6)
    for _ in range(10):
        gate.acquire()
        gate.release(0.0, throttled=True)
    assert gate.limit == 1
    gate.acquire()  # one request may always go, or a drained bucket would never be probed again
    assert gate.in_flight == 1


def test_limit_shrinks_as_remaining_approaches_zero():
    gate = ThrottleGate(initial_limit=14)
    gate.acquire()
    # Canvas admits a request while the bucket is below its high-water mark: 120 units admit three.
    gate.release(120.0, throttled=False)
    assert gate.limit == 3


def test_remaining_counts_the_requests_still_in_flight_as_already_paid():
    gate = ThrottleGate(initial_limit=14)
    for _ in range(10):
        gate.acquire()
    # 9 others still hold their up-front cost, which Canvas already took out of `remaining`.
    gate.release(100.0, throttled=False)
    assert gate.limit == pytest.approx(11)


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_a_throttled_answer_pauses_new_requests_until_the_bucket_drains():
    clock = FakeClock()
    gate = ThrottleGate(outflow=10, room=10, clock=clock)
    gate.acquire()
    gate.release(0.0, throttled=True)
    assert gate.pause == pytest.approx(1.0)
    clock.now += 0.6
    assert gate.pause == pytest.approx(0.4)


def test_a_nearly_full_bucket_pauses_new_requests_for_the_missing_room():
    clock = FakeClock()
    gate = ThrottleGate(outflow=10, room=10, clock=clock)
    gate.acquire()
    gate.release(4.0, throttled=False)
    assert gate.pause == pytest.approx(0.6)


def test_a_bucket_with_room_does_not_pause():
    gate = ThrottleGate(room=10)
    gate.acquire()
    gate.release(10.0, throttled=False)
    assert gate.pause == 0


def test_acquire_waits_out_the_pause():
    gate = ThrottleGate(outflow=100, room=10)
    gate.acquire()
    gate.release(0.0, throttled=True)
    started = time.monotonic()
    gate.acquire()
    assert time.monotonic() - started >= 0.09


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


class LeakyBucket:
    """Canvas's throttle in miniature (CANVAS_API.md §4), fast enough for a unit test."""

    def __init__(self, *, hwm=700.0, up_front_cost=50.0, outflow=3000.0, cost=30.0):
        self.hwm, self.up_front_cost, self.outflow, self.cost = hwm, up_front_cost, outflow, cost
        self.level = 0.0
        self.updated = time.monotonic()
        self.lock = threading.Lock()
        self.refused = 0

    def _leak(self):
        now = time.monotonic()
        self.level = max(0.0, self.level - (now - self.updated) * self.outflow)
        self.updated = now

    def begin(self) -> bool:
        with self.lock:
            self._leak()
            if self.level >= self.hwm:
                self.refused += 1
                return False
            self.level += self.up_front_cost
            return True

    def end(self) -> float:
        with self.lock:
            self._leak()
            self.level = max(0.0, self.level - self.up_front_cost) + self.cost
            return self.hwm - self.level


def test_a_gated_concurrent_run_against_a_leaky_bucket_is_almost_never_refused():
    bucket = LeakyBucket()
    gate = ThrottleGate(outflow=bucket.outflow)

    def request(_):
        while True:
            gate.acquire()
            if not bucket.begin():
                gate.release(0.0, throttled=True)
                continue
            time.sleep(0.01)
            gate.release(bucket.end(), throttled=False)
            return True

    results = list(fetch_concurrently(request, range(200), max_workers=16))

    assert len(results) == 200
    assert bucket.refused <= 10  # drain-bound all along: without the gate, hundreds are refused
