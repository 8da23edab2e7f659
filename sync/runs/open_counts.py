"""How many problems are open per reason, for an institution: read by the Open problems page (its
reasons and total, on every request) and the dashboard's status card; counting 38,000 open problems
is a scan of them all, so the counts are cached until the issue writer (sync.runs.issues) changes
them, which it says by calling `changed`.

The cache key carries the institution's open-problems version (sync.runs.versions), which `changed`
replaces. The timeout bounds what a write outside the issue writer (a migration, a database console)
could leave stale.
"""

from __future__ import annotations

from django.core.cache import cache
from django.db.models import Count

from sync.models import SyncIssue
from sync.runs import versions

TIMEOUT_S = 600


def version_key(institution_id: int) -> str:
    return f"open-problems:version:{institution_id}"


def version(institution_id: int) -> int:
    """Replaced whenever the institution's open problems change (cache keys of what shows them carry it)."""
    return versions.current(version_key(institution_id))


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
    versions.bump([version_key(institution_id)])
