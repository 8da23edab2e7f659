"""How many problems are open per reason, for an institution: read by the Open problems page (its
reasons and total, on every request) and the dashboard's status card; counting 38,000 open problems
is a scan of them all, so the counts are cached until the issue writer (sync.runs.issues) changes
them, which it says by calling `changed`.

The cache key carries a version that `changed` replaces, both at once and when the writer's
transaction commits: a reader that counted before the commit stored its figures under the version
it read, which is never read again after the commit. The timeout bounds what a write outside the
issue writer (a migration, a database console) could leave stale.
"""

from __future__ import annotations

import time

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count

from sync.models import SyncIssue

TIMEOUT_S = 600


def _version_key(institution_id: int) -> str:
    return f"open-problems:version:{institution_id}"


def version(institution_id: int) -> int:
    """Replaced whenever the institution's open problems change (cache keys of what shows them carry it)."""
    key = _version_key(institution_id)
    version = cache.get(key)
    if version is None:
        cache.add(key, time.time_ns(), timeout=None)
        version = cache.get(key)
    return int(version or 0)


def open_counts(institution_id: int) -> list[tuple[str, int]]:
    """Each reason code with open problems and how many: the largest first."""
    key = f"open-problems:counts:{institution_id}:{version(institution_id)}"
    counts = cache.get(key)
    if counts is None:
        counts = [
            (c["code"], c["n"])
            for c in SyncIssue.objects.open_for(institution_id)
            .values("code")
            .annotate(n=Count("id"))
            .order_by("-n", "code")
        ]
        cache.set(key, counts, timeout=TIMEOUT_S)
    return [(code, n) for code, n in counts]


def open_total(institution_id: int) -> int:
    return sum(n for _, n in open_counts(institution_id))


def changed(institution_id: int) -> None:
    """The institution's open problems were written (recorded, resolved or removed)."""

    def bump() -> None:
        cache.set(_version_key(institution_id), time.time_ns(), timeout=None)

    bump()
    transaction.on_commit(bump)
