"""Times of day as the pages say them: "2:00 a.m.", "midnight", "noon", "2:30 p.m."."""

from __future__ import annotations


def clock_text(hour: int, minute: int = 0) -> str:
    if minute == 0 and hour in (0, 12):
        return "midnight" if hour == 0 else "noon"
    return f"{(hour - 1) % 12 + 1}:{minute:02d} {'a.m.' if hour < 12 else 'p.m.'}"
