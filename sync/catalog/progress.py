"""A refresh's counts for its run row and in words, and its heartbeats, which also notice a cancel request."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from lms_canvas.objects import Course, Section
from sync.runs import lifecycle

BEAT_EVERY_S = 1.0


class RefreshCancelled(Exception):
    pass


@dataclass
class Progress:
    """Counts for the run row, and throttled heartbeats that also notice a cancel request."""

    run_id: int
    courses: int = 0
    sections: int = 0
    created: int = 0
    gone: int = 0
    failed_courses: int = 0
    failed_count_pages: int = 0
    sis_hidden: bool = False  # some course or section came without its SIS fields (canvas_view)
    sis_shown: bool = False
    last_beat: float = field(default_factory=time.monotonic)

    def beat(
        self, *, phase: str | None = None, done: int | None = None, total: int | None = None, force: bool = False
    ) -> None:
        if not force and time.monotonic() - self.last_beat < BEAT_EVERY_S:
            return
        self.last_beat = time.monotonic()
        if not lifecycle.beat(self.run_id, phase=phase, done=done, total=total):
            raise RefreshCancelled

    def saw(self, objects: Iterable[Course | Section]) -> None:
        for o in objects:
            self.sis_hidden = self.sis_hidden or o.sis_hidden
            self.sis_shown = self.sis_shown or not o.sis_hidden

    def counts(self) -> dict[str, int]:
        return {
            "courses": self.courses,
            "sections": self.sections,
            "created": self.created,
            "deactivated": self.gone,
            "skipped": self.failed_courses,
        }


def counts_text(counts: dict[str, int]) -> str:
    """A refresh's counts in its own words, not a sync's: what it counts is the course list Select
    Courses shows, and a course read again is "already listed", since the refresh does not compare it
    with what the list held: "779 courses and 1,102 sections read: 0 new · 1,881 already listed · 0 no
    longer in Canvas". No "updated" is kept (runs before 2026-12-03 have one): every row is written, changed
    or not, and what was read again is the rest of what was read."""
    n = {name: int(counts.get(name) or 0) for name in ("courses", "sections", "created", "deactivated", "skipped")}
    listed = max(0, n["courses"] + n["sections"] - n["created"])
    text = (
        f"{n['courses']:,} course{'s' if n['courses'] != 1 else ''} and {n['sections']:,} "
        f"section{'s' if n['sections'] != 1 else ''} read: {n['created']:,} new · {listed:,} already listed · "
        f"{n['deactivated']:,} no longer in Canvas"
    )
    skipped = n["skipped"]
    return text + (f" · the sections of {skipped:,} course{'s' if skipped != 1 else ''} not read" if skipped else "")
