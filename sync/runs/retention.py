"""Retention: the sync history grows with time unless something removes it. A beat task, once an hour,
removes runs (with their course results and their own issues) older than SYNC_RUN_RETENTION_DAYS and
problems resolved longer ago than SYNC_RESOLVED_PROBLEM_RETENTION_DAYS, in batches (short
transactions: a year's backlog never holds a lock for long). A removed run's numbers are added to
its month's SyncMonthTotal first. An open problem is never removed: its first-seen run becomes null.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone

from sync.models import ACTIVE_STATUSES, RunKind, SyncIssue, SyncMonthTotal, SyncRun

BATCH = 500


@dataclass(frozen=True)
class Removed:
    runs: int
    problems: int


def remove_old_history(now: dt.datetime | None = None, *, batch: int = BATCH) -> Removed:
    now = now or timezone.now()
    run_cutoff = now - dt.timedelta(days=settings.SYNC_RUN_RETENTION_DAYS)
    problem_cutoff = now - dt.timedelta(days=settings.SYNC_RESOLVED_PROBLEM_RETENTION_DAYS)
    runs = problems = 0
    while ids := list(
        SyncIssue.objects.filter(tracked=True, resolved_at__lt=problem_cutoff).values_list("id", flat=True)[:batch]
    ):
        problems += SyncIssue.objects.filter(id__in=ids).delete()[0]
    old = SyncRun.objects.filter(created_at__lt=run_cutoff).exclude(status__in=ACTIVE_STATUSES)
    while ids := list(old.order_by("id").values_list("id", flat=True)[:batch]):
        with transaction.atomic():
            _add_to_months(SyncRun.objects.filter(id__in=ids))
            # The runs' own issues go with them; a problem still open (or resolved recently) stays.
            SyncIssue.objects.filter(run_id__in=ids, tracked=False).delete()
            SyncRun.objects.filter(id__in=ids).delete()
        runs += len(ids)
    return Removed(runs, problems)


def _add_to_months(runs) -> None:
    totals: dict[tuple[int, dt.date], dict[str, float]] = {}
    fields = ("institution_id", "created_at", "started_at", "finished_at", "counts", "kind")
    for run in runs.only(*fields).annotate(n_issues=Count("issues")):
        month = run.created_at.date().replace(day=1)
        row = totals.setdefault(
            (run.institution_id, month), {"runs": 0, "minutes": 0.0, "created": 0, "deactivated": 0, "issues": 0}
        )
        row["runs"] += 1
        row["minutes"] += run.duration.total_seconds() / 60 if run.duration and run.finished_at else 0
        if run.kind == RunKind.SYNC:  # a refresh's or grade post's counts are not people
            row["created"] += (run.counts or {}).get("created", 0)
            row["deactivated"] += (run.counts or {}).get("deactivated", 0)
        row["issues"] += run.n_issues
    for (institution_id, month), row in totals.items():
        SyncMonthTotal.objects.get_or_create(institution_id=institution_id, month=month)
        SyncMonthTotal.objects.filter(institution_id=institution_id, month=month).update(
            **{name: F(name) + value for name, value in row.items()}
        )
