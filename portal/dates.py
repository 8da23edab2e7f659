"""Dates and times that Python writes into a sentence, in the one format the templates use
(portal/formats/en/formats.py through django.utils.formats): "Dec 1, 2026", "Dec 1, 2026, 2:05 p.m."."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.utils import formats, timezone


def date_text(value: dt.date | None) -> str:
    """ "" for no date (the caller says what that means)."""
    return formats.date_format(value, "DATE_FORMAT") if value else ""


def datetime_text(value: dt.datetime, tz: zoneinfo.ZoneInfo | None = None) -> str:
    """`value` in `tz` (an institution's zone; the active one when None), as pages write it."""
    return formats.date_format(timezone.localtime(value, tz), "DATETIME_FORMAT")
