"""The names of the (sub-)accounts the catalogue's courses sit in, read at the end of a full refresh
(one request per account, never per course), so Select Courses shows "School of Law" and not the
number Canvas's course list gives (CatalogCourse.account_id).

A name is only a label: an account the token cannot read (403, 404, Canvas down) keeps the name it
had, or none (the page then shows its number), is logged, and never fails the refresh.
"""

from __future__ import annotations

import datetime as dt
import logging

from lms_canvas.client import CanvasClient, fetch_concurrently
from lms_canvas.errors import CanvasError, ScopeMissing, TokenInvalid
from lms_canvas.objects import Account
from sync.catalog.listing import MAX_WORKERS, close_early
from sync.models import CatalogAccount, CatalogCourse

logger = logging.getLogger(__name__)

# An institution has a few dozen sub-accounts; the cap keeps a pathological one (a sub-account per
# department of a huge university) to 500 requests a refresh; the others are read by the next refreshes,
# the unknown and the stalest first.
MAX_ACCOUNTS_PER_REFRESH = 500
# Names change rarely: a name read this recently is not asked for again (a second refresh the same day
# costs no request for them).
FRESH_FOR = dt.timedelta(hours=20)


def refresh_account_names(institution_id: int, client: CanvasClient, now: dt.datetime) -> int:
    """Read the name of each account of the catalogue's courses not known or stale, many at a time
    under the client's throttle gate; returns how many names were saved."""
    saved = 0
    results = fetch_concurrently(client.get_account, accounts_to_read(institution_id, now), max_workers=MAX_WORKERS)
    try:
        for account_id, result in results:
            if isinstance(result, CanvasError):
                logger.warning("account %s: name unreadable, its number is shown: %s", account_id, result.message)
                if isinstance(result, TokenInvalid | ScopeMissing):
                    break  # every other account would be refused alike: stop asking
                continue
            saved += _save(institution_id, account_id, result, now)
    finally:
        close_early(results)
    return saved


def accounts_to_read(institution_id: int, now: dt.datetime) -> list[int]:
    """The distinct accounts of the catalogue's courses whose name is unknown or older than FRESH_FOR,
    the unknown first, then the stalest, at most MAX_ACCOUNTS_PER_REFRESH."""
    in_courses = CatalogCourse.objects.filter(institution_id=institution_id, account_id__isnull=False)
    ids = {i for i in in_courses.values_list("account_id", flat=True).distinct() if i is not None}
    known = dict(
        CatalogAccount.objects.filter(institution_id=institution_id, canvas_id__in=ids).values_list(
            "canvas_id", "refreshed_at"
        )
    )
    fresh_after = now - FRESH_FOR
    stale = [i for i in ids if i not in known or known[i] < fresh_after]
    stale.sort(key=lambda i: (i in known, known.get(i) or now, i))
    return stale[:MAX_ACCOUNTS_PER_REFRESH]


def names(institution_id: int) -> dict[int, str]:
    """Account number -> name, for the accounts whose name a refresh has read."""
    rows = CatalogAccount.objects.filter(institution_id=institution_id).exclude(name="")
    return dict(rows.values_list("canvas_id", "name"))


def _save(institution_id: int, account_id: int, account: Account, now: dt.datetime) -> int:
    if not account.name:
        return 0  # Canvas gave no name: keep the one known (or show the number)
    CatalogAccount.objects.update_or_create(
        institution_id=institution_id,
        canvas_id=account_id,
        defaults={"name": account.name[:255], "refreshed_at": now},
    )
    return 1
