"""How the smoke reports: a line per step with the time since the start, and waiting with a deadline."""

from __future__ import annotations

import time

started_at = time.monotonic()


class SmokeError(AssertionError):
    """A step that did not do what the product promises."""


def say(message: str) -> None:
    print(f"[{time.monotonic() - started_at:6.1f}s] {message}", flush=True)


class Step:
    def __init__(self, title: str) -> None:
        self.title = title

    def __enter__(self) -> Step:
        self.t0 = time.monotonic()
        say(f"{self.title} ...")
        return self

    def __exit__(self, kind, exc, tb) -> None:
        took = time.monotonic() - self.t0
        if kind is None:
            say(f"    ok ({took:.1f}s)")
        else:
            say(f"    FAILED after {took:.1f}s")


def poll(what: str, check, timeout: float, every: float = 1.0):
    """Call `check` until it returns something truthy; SmokeError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise SmokeError(f"{what}: still not after {timeout:.0f}s")
        time.sleep(every)
