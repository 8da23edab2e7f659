"""`{{ run.duration|duration_text }}`: "42 s", "3 min 5 s", and "—" for a run without a duration."""

from __future__ import annotations

import datetime as dt

from django import template

register = template.Library()


@register.filter
def duration_text(duration: dt.timedelta | None) -> str:
    if duration is None:
        return "—"
    seconds = int(duration.total_seconds())
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"
