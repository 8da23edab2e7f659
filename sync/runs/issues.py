"""The one issue writer: every SyncIssue a run records (refresh, sync, grade post) is written here.

The reason's registry entry (sync.runs.reasons) gives the severity and, unless the caller passes
Canvas's own words, the sentence and the fix. A code without an entry is a bug: `reason()` raises.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from django.db import transaction

from sync.models import SyncIssue
from sync.runs.reasons import ReasonCode, reason

BATCH = 1000


class Excluded(Protocol):
    """What a sync left out (sync.engine.plan.Exclusion): a reason code and the object it concerns."""

    # Read-only properties, so a frozen dataclass satisfies it.
    @property
    def code(self) -> str: ...
    @property
    def object_type(self) -> str: ...
    @property
    def canvas_id(self) -> int | None: ...
    @property
    def label(self) -> str: ...
    @property
    def detail(self) -> str: ...


def record(
    run_id: int,
    code: ReasonCode,
    *,
    object_type: str = "run",
    canvas_id: int | None = None,
    canvas_course_id: int | None = None,
    label: str = "",
    detail: str = "",
    message: str = "",
    fix: str = "",
) -> SyncIssue:
    """One issue; a run-level issue (the default) is labelled with the reason's title."""
    issue = _issue(run_id, code, object_type, canvas_id, canvas_course_id, label, detail, message, fix)
    issue.save()
    return issue


def record_exclusions(
    run_id: int, canvas_course_id: int, exclusions: Iterable[Excluded], *, message: str = "", fix: str = ""
) -> int:
    """One issue per exclusion of one course, in bulk; `message`/`fix` replace the reason's (Canvas errors)."""
    rows = [
        _issue(run_id, e.code, e.object_type, e.canvas_id, canvas_course_id, e.label, e.detail, message, fix)
        for e in exclusions
    ]
    SyncIssue.objects.bulk_create(rows, batch_size=BATCH)
    return len(rows)


def _issue(run_id, code, object_type, canvas_id, canvas_course_id, label, detail, message, fix) -> SyncIssue:
    why = reason(code)
    return SyncIssue(
        run_id=run_id,
        code=code,
        severity=why.severity,
        object_type=object_type,
        canvas_id=canvas_id,
        canvas_course_id=canvas_course_id,
        label=(label or (why.title if object_type == "run" else ""))[:255],
        message=message or why.sentence + (f" {detail}" if detail else ""),
        fix=fix or why.fix,
    )


def record_once(run_id: int, code: ReasonCode, *, detail: str = "") -> SyncIssue | None:
    """A run-level issue recorded once however many courses (or batches, at once) find it; None if
    the run has it already. The run's row lock makes two batches finding it together write one."""
    from sync.models import SyncRun

    with transaction.atomic():
        list(SyncRun.objects.select_for_update().filter(id=run_id).values_list("id", flat=True))
        if SyncIssue.objects.filter(run_id=run_id, code=code, object_type="run").exists():
            return None
        return record(run_id, code, detail=detail)
