"""The last delivery the webhook refused, and why in the admin's words. A subscription saved with Sign
Payload off, in the Caliper format, or in another Canvas is refused on every delivery, and Canvas
emails only the person who created it when it gives up: LMS Settings is where the admin can see it.
Kept in the cache for two days (only the status reads it)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.cache import cache
from django.utils import timezone
from django.utils.dateparse import parse_datetime

KEEP_S = 2 * 24 * 3600
TEXTS = {
    "unsigned": (
        "it was not signed. What to do: in Canvas's Data Services, edit the portal's subscription and turn "
        "Sign Payload on."
    ),
    "format": (
        "it was not in the Canvas format. What to do: in Canvas's Data Services, edit the portal's "
        "subscription and choose the Canvas format, not Caliper."
    ),
    "signature": (
        "it was not signed by Canvas's Live Events keys, or it had expired. What to do: nothing if it happened "
        "once; if it keeps happening, make a new webhook address below, as someone else may be posting to it."
    ),
    "other_canvas": (
        "it came from a Canvas account other than the one connected. What to do: add the subscription in the "
        "Data Services of the Canvas this portal is connected to."
    ),
}  # "keys" (Canvas's key set could not be read) is not the admin's to fix: Canvas retries it


@dataclass(frozen=True)
class Refusal:
    at: dt.datetime
    text: str


def _key(institution_id: int) -> str:
    return f"live-refused:{institution_id}"


def note(institution_id: int, code: str) -> None:
    if code in TEXTS:
        cache.set(_key(institution_id), {"at": timezone.now().isoformat(), "code": code}, KEEP_S)


def last(institution_id: int) -> Refusal | None:
    noted = cache.get(_key(institution_id))
    if not isinstance(noted, dict) or noted.get("code") not in TEXTS:
        return None
    at = parse_datetime(str(noted.get("at")))
    return Refusal(at, TEXTS[noted["code"]]) if at is not None else None
