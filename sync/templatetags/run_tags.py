"""`{{ run.duration|duration_text }}`: "42 s", "3 min 5 s", and "—" for a run without a duration;
`{{ code|reason_title }}`: a reason code in plain words; `{{ message|plain }}`: a stored message
without exception class names; `{{ run.counts|refresh_counts }}`: a refresh's counts in its words."""

from __future__ import annotations

import datetime as dt

from django import template

from sync.catalog import progress
from sync.runs import readable

register = template.Library()


@register.filter
def duration_text(duration: dt.timedelta | None) -> str:
    if duration is None:
        return "—"
    seconds = int(duration.total_seconds())
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"


@register.filter
def reason_title(code: str) -> str:
    return readable.reason_for(code).title


@register.filter
def plain(message: str) -> str:
    return readable.plain(message or "")


@register.filter
def thousands(number: int) -> str:
    """2950 as "2,950", the way the run's message writes its counts."""
    return f"{number:,}"


@register.filter
def refresh_counts(counts: dict | None) -> str:
    return progress.counts_text(counts or {})
