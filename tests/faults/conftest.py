"""Fixtures for the fault matrix: a generated institution big enough to have a middle, fast retries,
short read timeouts, and a hook that injects a fault after the Nth Canvas request."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest

from lms_canvas import client as canvas_client
from lms_canvas import gates
from lms_canvas.http import RetryPolicy, Transport
from lms_canvas.simulator.testing import RunningSimulator
from tests.conftest import connect_to

COURSES = 30  # generated courses: enough pages for a "middle", small enough for ~90 s on 2 cores
# The production policy's shape with delays cut a hundredfold, so retries are real but quick.
FAST_RETRY = replace(
    RetryPolicy(),
    base_delay=0.005,
    max_delay=0.05,
    throttled_base_delay=0.05,
    throttled_max_delay=0.4,
)
READ_TIMEOUT_S = 0.3


@pytest.fixture(autouse=True)
def _fast_canvas_client(monkeypatch) -> None:
    """Every CanvasClient of the test retries quickly and gives up on a silent server in half a second."""
    monkeypatch.setattr(canvas_client, "RetryPolicy", lambda: FAST_RETRY)
    monkeypatch.setitem(canvas_client.CanvasClient.__init__.__kwdefaults__, "timeout", (2, READ_TIMEOUT_S))
    # One throttle gate per connection id per process; start each test afresh.
    monkeypatch.setattr(gates, "_gates", {})


@pytest.fixture
def big_sim(make_sim) -> RunningSimulator:
    return make_sim(generate=COURSES, seed=7, control=True)


@pytest.fixture
def conn_a(institution_a, big_sim):
    return connect_to(institution_a, big_sim)


class AfterRequests:
    """Run `action` once, in the calling thread, just before the Nth Canvas API request from now."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.triggers: list[tuple[int, int, Callable[[], None]]] = []
        self.fired: list[int] = []

    def at(self, n: int, action: Callable[[], None]) -> AfterRequests:
        """Counted from now, so the requests of fixtures (connecting, loading roles) do not count."""
        with self.lock:
            self.triggers.append((self.count + n, n, action))
        return self

    def tick(self) -> None:
        with self.lock:
            self.count += 1
            due = [(n, a) for target, n, a in self.triggers if target == self.count]
        for n, action in due:
            action()
            self.fired.append(n)


@pytest.fixture
def after_requests(monkeypatch) -> Iterator[AfterRequests]:
    hook = AfterRequests()
    real = Transport.request

    def request(self, method, url, **kwargs):
        if "/api/v1/" in url:
            hook.tick()
        return real(self, method, url, **kwargs)

    monkeypatch.setattr(Transport, "request", request)
    yield hook
