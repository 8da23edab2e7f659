"""Canvas's leaky-bucket request throttle, one bucket per access token.

A request adds `up_front_cost` while it is in flight (so only parallel requests feel it), and when it
finishes that is credited back and its own cost is added; the bucket drains `outflow` units a
second; a request arriving at or over `hwm` is refused.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field


@dataclass
class Bucket:
    level: float = 0.0
    updated: float = field(default_factory=time.monotonic)


class Throttle:
    def __init__(self, settings: dict) -> None:
        self.settings = settings
        self._buckets: dict[str, Bucket] = {}
        self._lock = threading.Lock()

    def _leak(self, key: str, now: float) -> Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = Bucket(updated=now)
        bucket.level = max(0.0, bucket.level - (now - bucket.updated) * float(self.settings["outflow"]))
        bucket.updated = now
        return bucket

    def begin(self, key: str) -> float | None:
        """Admit a request: the remaining allowance, or None when it is throttled."""
        with self._lock:
            bucket = self._leak(key, time.monotonic())
            hwm = float(self.settings["hwm"])
            if bucket.level >= hwm:
                return None
            bucket.level += float(self.settings["up_front_cost"])
            return hwm - bucket.level

    def end(self, key: str, items: int, extra_cost: float = 0.0) -> tuple[float, float]:
        """Finish a request: its cost and the remaining allowance."""
        cost = float(self.settings["base_cost"]) + float(self.settings["per_item_cost"]) * items + extra_cost
        with self._lock:
            bucket = self._leak(key, time.monotonic())
            bucket.level = max(0.0, bucket.level - float(self.settings["up_front_cost"])) + cost
            return cost, max(0.0, float(self.settings["hwm"]) - bucket.level)

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
