"""The Redis-backed throttle gate against a real Redis: ThrottleGate's rules, with one budget for every gate
object of the same name (each with its own Redis client, as in another process)."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time

import pytest
import redis

from tests.worker import ROOT


def acquire_in_thread(gate) -> threading.Event:
    admitted = threading.Event()

    def run():
        gate.acquire()
        admitted.set()

    threading.Thread(target=run, daemon=True).start()
    return admitted


def test_physical_maximum_is_hwm_over_up_front_cost(make_gate):
    assert make_gate().max_limit == 14
    assert make_gate(hwm=600, up_front_cost=50).max_limit == 12


def test_limit_doubles_per_round_trip_until_the_first_sign_of_a_full_bucket(make_gate):
    gate = make_gate(initial_limit=4)
    for _ in range(4):
        gate.acquire()
        gate.release(700.0, throttled=False)
    assert gate.limit == 8


def test_limit_grows_while_the_bucket_has_room_up_to_the_maximum(make_gate):
    gate = make_gate(initial_limit=2)
    for _ in range(40):
        gate.acquire()
        gate.release(700.0, throttled=False)
    assert gate.limit == gate.max_limit


def test_a_throttled_answer_halves_the_limit_then_it_grows_about_one_request_per_round_trip(make_gate):
    gate = make_gate(initial_limit=8, outflow=1e6)
    gate.acquire()
    gate.release(0.0, throttled=True)
    assert gate.limit == 4
    for _ in range(4):
        gate.acquire()
        gate.release(700.0, throttled=False)
    assert 4.8 < gate.limit < 5.2


def test_remaining_sets_the_ceiling_counting_requests_still_in_flight_as_paid(make_gate):
    gate = make_gate(initial_limit=14)
    for _ in range(10):
        gate.acquire()
    # 9 others still hold their up-front cost, which Canvas already took out of `remaining`.
    gate.release(100.0, throttled=False)
    assert gate.limit == pytest.approx(11)


def test_the_last_few_units_of_a_bucket_admit_no_more_requests(make_gate):
    gate = make_gate(initial_limit=14, room=10)
    for _ in range(14):
        gate.acquire()
    gate.release(4.0, throttled=False)  # 13 in flight hold 650; 4 left do not outlast their costs
    assert gate.limit == 13


def test_limit_never_goes_below_one_and_one_request_may_always_go(make_gate):
    gate = make_gate(initial_limit=2, outflow=1e6)
    for _ in range(10):
        gate.acquire()
        gate.release(0.0, throttled=True)
    assert gate.limit == 1
    gate.acquire()
    assert gate.in_flight == 1


def test_a_throttled_answer_pauses_new_requests_until_the_bucket_drains(make_gate):
    gate = make_gate(outflow=10, room=10)
    gate.acquire()
    gate.release(0.0, throttled=True)
    assert 0.9 < gate.pause <= 1.0


def test_a_nearly_full_bucket_pauses_for_the_missing_room_and_acquire_waits_it_out(make_gate):
    gate = make_gate(outflow=20, room=10)
    gate.acquire()
    gate.release(4.0, throttled=False)
    assert 0.2 < gate.pause <= 0.3
    started = time.monotonic()
    gate.acquire()
    assert time.monotonic() - started >= 0.2


def test_an_answer_without_remaining_only_frees_the_slot(make_gate):
    gate = make_gate(initial_limit=3)
    gate.acquire()
    gate.release(None, throttled=False)
    assert gate.limit == 3
    assert gate.in_flight == 0
    assert gate.pause == 0


def test_gates_of_the_same_name_share_one_budget_and_a_release_wakes_another_processs_waiter(make_gate):
    # A long poll: the waiter can only be admitted this soon if the release woke it.
    first, second = make_gate(initial_limit=2, poll=5), make_gate(initial_limit=2, poll=5)
    first.acquire()
    first.acquire()
    waiting = acquire_in_thread(second)
    assert not waiting.wait(0.3)
    assert second.in_flight == 2

    first.release(None, throttled=False)
    assert waiting.wait(1.0)
    assert first.in_flight == 2


def test_gates_of_other_names_do_not_share(make_gate):
    one = make_gate(name="gate-test-one", initial_limit=1)
    other = make_gate(name="gate-test-other", initial_limit=1)
    one.acquire()
    assert acquire_in_thread(other).wait(1.0)


HOLDER = """
import sys, time, redis
from lms_canvas.redis_gate import RedisGate
gate = RedisGate(redis.Redis.from_url(sys.argv[1]), sys.argv[2], initial_limit=1, lease_ttl=1.0)
gate.acquire()
print("holding", flush=True)
time.sleep(60)
"""


def test_a_live_holders_lease_is_renewed_and_a_killed_ones_expires(make_gate, throttle_redis_url):
    waiter = make_gate(initial_limit=1, poll=0.05)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, throttle_redis_url, waiter.name],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        admitted = acquire_in_thread(waiter)
        assert not admitted.wait(2.0)  # twice the lease's life: the holder renews it
        holder.send_signal(signal.SIGKILL)  # mid-request, without a release
        killed_at = time.monotonic()
        assert admitted.wait(3.0)
        assert time.monotonic() - killed_at < 1.5
    finally:
        holder.kill()
        holder.wait(5)


def test_a_waiter_sleeps_rather_than_spinning(make_gate):
    holder, waiter = make_gate(initial_limit=1, poll=0.2), make_gate(initial_limit=1, poll=0.2)
    holder.acquire()
    tries = []
    script = waiter._acquire
    waiter._acquire = lambda **kwargs: tries.append(1) or script(**kwargs)
    cpu_before = time.process_time()
    waiting = threading.Thread(target=waiter.acquire, daemon=True)
    waiting.start()
    time.sleep(1.0)
    # One try per poll while the gate stays full: about five in a second.
    assert 3 <= len(tries) <= 8
    assert time.process_time() - cpu_before < 0.2
    holder.release(None, throttled=False)
    waiting.join(2.0)
    assert not waiting.is_alive()


def test_threads_waiting_when_redis_fails_fail_together_rather_than_one_timeout_each(make_gate):
    gate = make_gate()

    def timing_out(**kwargs):
        time.sleep(0.3)
        raise redis.TimeoutError("Timeout connecting to server")

    gate._acquire = timing_out
    failures = []

    def run():
        try:
            gate.acquire()
        except (redis.ConnectionError, redis.TimeoutError):
            failures.append(time.monotonic())

    started = time.monotonic()
    threads = [threading.Thread(target=run) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert len(failures) == 5
    assert max(failures) - started < 0.6


def test_threads_of_one_process_are_admitted_side_by_side_not_one_round_trip_after_another(make_gate):
    # A slow Redis: each try of the acquire script takes 0.2 s. Ten threads of one gate object, a
    # process's batch threads, are admitted together; one at a time would take two seconds.
    gate = make_gate(initial_limit=10)
    script = gate._acquire

    def slow(**kwargs):
        time.sleep(0.2)
        return script(**kwargs)

    gate._acquire = slow
    started = time.monotonic()
    admitted = [acquire_in_thread(gate) for _ in range(10)]
    assert all(event.wait(2.0) for event in admitted)
    assert time.monotonic() - started < 1.0
    assert gate.in_flight == 10


def test_a_release_hands_its_slot_to_a_waiting_thread_of_its_process_in_its_own_script(make_gate):
    # A long poll: nothing is admitted by trying again after a timeout.
    gate = make_gate(initial_limit=1, poll=5)
    gate.acquire()
    tries = []
    script = gate._acquire
    gate._acquire = lambda **kwargs: tries.append(1) or script(**kwargs)
    waiting = [acquire_in_thread(gate) for _ in range(2)]  # one listens on Redis, one waits for a hand-over
    time.sleep(0.3)
    assert len(tries) == 2 and not any(event.is_set() for event in waiting)

    gate.release(None, throttled=False)

    assert any(event.wait(1.0) for event in waiting)
    # Admitted by the release's script: no wake-up through Redis and no second try of its own.
    assert len(tries) == 2
    assert gate.in_flight == 1 and sum(event.is_set() for event in waiting) == 1
    assert gate.redis.llen(gate.keys[2]) == 0
    gate.redis.delete(gate.keys[0])  # the admitted thread has ended: let the listener in too
    gate.redis.rpush(gate.keys[2], "1")
    assert all(event.wait(2.0) for event in waiting)
