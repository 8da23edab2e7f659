"""Keeping many Canvas requests in flight without being throttled into failure.

Canvas throttles each access token with a leaky bucket (CANVAS_API.md §4): every request in flight
holds `up_front_cost` units, finished requests leave their cost, the bucket drains `outflow` units a
second, and a request arriving when the bucket is at its high-water mark is refused. Every answer
reports what is left as `X-Rate-Limit-Remaining`. The gate turns that reading into a concurrency
limit, AIMD style: grow by about one request per round trip while there is room, never above what
the bucket can still hold, and halve on a throttled answer. Canvas admits a request while the bucket
is below its high-water mark, so whatever part of an up-front cost is left beyond a few units of
room still admits one more: at Canvas's settings the gate keeps the full hwm / up_front_cost = 14 in
flight, never 15. The room is there because `remaining` is read when a request ends, and the
requests that end before the next one arrives add their costs meanwhile, so the last unit or two may
be gone when the next request arrives. When the
bucket is nearly full and the requests in flight will not free enough of it, no concurrency limit
helps (even one request at a time can outrun the drain), so the gate also pauses new requests until
the drain has made a little room.
"""

from __future__ import annotations

import contextvars
import math
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol, TypeVar

from lms_canvas.errors import CanvasError

# Canvas production: hwm 700, up_front_cost 50, outflow 10/s (community post "API Rate Limiting").
CANVAS_HWM = 700.0
CANVAS_UP_FRONT_COST = 50.0
CANVAS_OUTFLOW = 10.0


class Gate(Protocol):
    """What the client needs from a gate; a Redis-backed gate can share one budget across processes."""

    def acquire(self) -> None: ...

    def release(self, remaining: float | None, throttled: bool) -> None: ...


class ThrottleGate:
    """A thread-safe concurrency limit for one access token, driven by X-Rate-Limit-Remaining."""

    def __init__(
        self,
        *,
        hwm: float = CANVAS_HWM,
        up_front_cost: float = CANVAS_UP_FRONT_COST,
        outflow: float = CANVAS_OUTFLOW,
        initial_limit: float = 4.0,
        min_limit: float = 1.0,
        room: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.up_front_cost = up_front_cost
        self.outflow = outflow
        # Canvas admits a request while the bucket is below its high-water mark; a few units of room
        # absorb the cost of the requests that finish meanwhile.
        self.room = room
        self.min_limit = min_limit
        self.max_limit = max(min_limit, hwm / up_front_cost)
        self._limit = min(max(initial_limit, min_limit), self.max_limit)
        self._in_flight = 0
        # Slow start, as in TCP: double per round trip until the first sign of a full bucket.
        self._slow_start = True
        self._resume_at = 0.0
        self._clock = clock
        self._changed = threading.Condition()

    @property
    def limit(self) -> float:
        with self._changed:
            return self._limit

    @property
    def in_flight(self) -> int:
        with self._changed:
            return self._in_flight

    @property
    def pause(self) -> float:
        """Seconds until new requests may start again (0 when they may start now)."""
        with self._changed:
            return max(0.0, self._resume_at - self._clock())

    def acquire(self) -> None:
        """Block until one more request may be sent."""
        with self._changed:
            while True:
                wait = self._resume_at - self._clock()
                if wait <= 0 and self._in_flight < max(1, int(self._limit)):
                    break
                self._changed.wait(timeout=wait if wait > 0 else None)
            self._in_flight += 1

    def release(self, remaining: float | None, throttled: bool) -> None:
        """Record the end of a request and what Canvas said about the bucket (None: no answer)."""
        with self._changed:
            self._in_flight -= 1
            if throttled:
                self._slow_start = False
                self._limit = max(self.min_limit, self._limit / 2)
                self._pause_until_room(0.0)
            elif remaining is not None:
                self._grow(remaining)
                # Room comes back as the requests in flight finish; only when even that is not
                # enough must new requests wait for the drain.
                after_in_flight = remaining + self._in_flight * self.up_front_cost
                if after_in_flight < self.room:
                    self._pause_until_room(after_in_flight)
            self._changed.notify_all()

    def _grow(self, remaining: float) -> None:
        grown = self._limit + (1 if self._slow_start else 1 / self._limit)
        ceiling = self._ceiling(remaining)
        if ceiling < grown:
            self._slow_start = False
        self._limit = max(self.min_limit, min(grown, ceiling, self.max_limit))

    def _ceiling(self, remaining: float) -> float:
        # `remaining` already has the up-front cost of the other requests in flight taken out, so
        # the bucket can hold those plus as many new ones as it admits: Canvas admits a request
        # while the bucket is below its high-water mark, so any part of an up-front cost left
        # beyond the room (what finishing requests add before the next arrives) counts.
        return self._in_flight + math.ceil(max(0.0, remaining - self.room) / self.up_front_cost)

    def _pause_until_room(self, remaining: float) -> None:
        room_at = self._clock() + (self.room - max(0.0, remaining)) / self.outflow
        self._resume_at = max(self._resume_at, room_at)


T = TypeVar("T")
R = TypeVar("R")


def fetch_concurrently(
    func: Callable[[T], R], items: Iterable[T], *, max_workers: int = 16
) -> Iterator[tuple[T, R | CanvasError]]:
    """Call `func(item)` on a thread pool and yield `(item, result or CanvasError)` as each finishes.

    Items are read lazily and at most `2 * max_workers` calls are pending, so 100,000 courses never
    sit in memory at once. How many requests actually reach Canvas at a time is the client's gate's
    decision; `max_workers` only has to be above the gate's maximum. A CanvasError is yielded for
    the caller to record against its item; any other exception is a bug and propagates.
    """
    pending: dict[Future[R], T] = {}
    # Each call puts its future here as it finishes: waiting on this queue costs the same whatever is
    # pending, where concurrent.futures.wait() sets up a waiter on every pending future each time
    # (most of this thread's CPU at hundreds of calls a second, in a refresh's profile).
    finished: queue.SimpleQueue[Future[R]] = queue.SimpleQueue()
    source = iter(items)
    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="canvas") as pool:
        try:
            while True:
                for item in source:
                    # Each call runs in a copy of this thread's context, so its log lines keep the run's fields.
                    future = pool.submit(contextvars.copy_context().run, func, item)
                    pending[future] = item
                    future.add_done_callback(finished.put)
                    if len(pending) >= 2 * max_workers:
                        break
                if not pending:
                    return
                future = finished.get()
                item, error = pending.pop(future), future.exception()
                if error is None:
                    yield item, future.result()
                elif isinstance(error, CanvasError):
                    yield item, error
                else:
                    raise error
        finally:
            for future in pending:
                future.cancel()
