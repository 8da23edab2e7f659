"""`{{ moment|ago }}`: how long ago, as a person says it ("just now", "5 minutes ago").

Django's `timesince` says "0 minutes" for the first minute, which read "read 0 minutes ago" on Configure."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

register = template.Library()


@register.filter
def ago(value: dt.datetime | None, now: dt.datetime | None = None) -> str:
    if value is None:
        return ""
    now = now or timezone.now()
    if (now - value).total_seconds() < 60:
        return "just now"
    return f"{timesince(value, now)} ago"
