"""What a running sync's progress fragment says beyond "12 of 50 courses done": about how long is left,
from the pace so far, and which courses are being synced now (the ones a batch has claimed and not
finished, read from the run's SyncCourseResult rows: the engine records nothing more)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django.utils import timezone

from sync.models import CourseResultStatus, RunStatus, SyncCourseResult, SyncRun

NAMED = 3  # courses named in "Syncing now: a, b, c and 47 more"


@dataclass(frozen=True)
class Progress:
    left: str  # "about 4 min left", "less than a minute left", or "" while it cannot be told
    current: list[str]  # the courses being synced now, the first NAMED of them
    more: int  # how many others are being synced now


def time_left(run: SyncRun, now: dt.datetime) -> str:
    """The time left at the pace so far: elapsed per course done, times the courses still to do."""
    if run.status != RunStatus.RUNNING or not run.started_at or not run.total or not 0 < run.done < run.total:
        return ""
    elapsed = max((now - run.started_at).total_seconds(), 0.0)
    seconds = elapsed / run.done * (run.total - run.done)
    if seconds < 60:
        return "less than a minute left"
    return f"about {math.ceil(seconds / 60)} min left"


def progress_of(run: SyncRun, now: dt.datetime | None = None) -> Progress:
    running = SyncCourseResult.objects.filter(run=run, status=CourseResultStatus.RUNNING)
    labels = list(running.order_by("id").values_list("label", flat=True)[: NAMED + 1])
    more = running.count() - NAMED if len(labels) > NAMED else 0
    return Progress(time_left(run, now or timezone.now()), labels[:NAMED], more)
