"""The one issue writer: every SyncIssue a run records (refresh, sync, grade post) is written here.

The reason's registry entry (sync.runs.reasons) gives the severity and, unless the caller passes
Canvas's own words, the sentence and the fix. A code without an entry is a bug: `reason()` raises.

What a sync leaves out of a course is tracked across runs (`track_course`): a problem already open
is not written again, one no longer found is resolved, so a night where nothing changed writes no row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from django.db import transaction
from django.utils import timezone

from sync.models import SyncIssue, SyncRun
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
    issue.save()  # its institution is the run's (SyncIssue.save)
    return issue


@dataclass(frozen=True)
class Found:
    """A course-level problem a sync found that is not an exclusion of its plan (a held roster)."""

    code: ReasonCode
    object_type: str
    canvas_id: int | None
    label: str
    detail: str = ""


@dataclass(frozen=True)
class Tracked:
    new: int
    resolved: int
    still_open: int


def track_course(
    run: SyncRun, canvas_course_id: int, section_id: int | None, found: Iterable[Excluded | Found]
) -> Tracked:
    """Reconcile one synced course (or sync-list section) with its open problems: what `found` has and
    no open item has is recorded, first seen in `run`; an open item `found` no longer has is resolved
    by `run`; one still there is left as it is (a changed label or detail is updated in place).

    Only for a course this run synced: a course it could not read keeps its open items as they were."""
    rows: dict[tuple, SyncIssue] = {}
    for e in found:
        issue = _issue(run.id, e.code, e.object_type, e.canvas_id, canvas_course_id, e.label, e.detail, "", "")
        issue.institution_id, issue.tracked, issue.scope_section_id = run.institution_id, True, section_id
        rows.setdefault(_key(issue), issue)  # one item per object and reason, however often the plan names it
    open_items = SyncIssue.objects.filter(
        institution_id=run.institution_id,
        tracked=True,
        resolved_at__isnull=True,
        canvas_course_id=canvas_course_id,
        scope_section_id=section_id,
    ).only("id", "code", "object_type", "canvas_id", "label", "message")
    gone, changed = [], []
    for item in open_items:
        now = rows.pop(_key(item), None)
        if now is None:
            gone.append(item.id)
        elif (now.label, now.message) != (item.label, item.message):
            item.label, item.message = now.label, now.message
            changed.append(item)
    SyncIssue.objects.bulk_create(rows.values(), batch_size=BATCH)
    if gone:
        SyncIssue.objects.filter(id__in=gone).update(resolved_run=run, resolved_at=timezone.now())
    if changed:
        SyncIssue.objects.bulk_update(changed, ["label", "message"], batch_size=BATCH)
    return Tracked(len(rows), len(gone), len(open_items) - len(gone))


def resolve(run: SyncRun, canvas_course_id: int, section_id: int | None, code: ReasonCode) -> int:
    """Resolve the course's open item of one reason (an approved held roster), by `run`."""
    return SyncIssue.objects.filter(
        institution_id=run.institution_id,
        tracked=True,
        resolved_at__isnull=True,
        canvas_course_id=canvas_course_id,
        scope_section_id=section_id,
        code=code,
    ).update(resolved_run=run, resolved_at=timezone.now())


def _key(issue: SyncIssue) -> tuple:
    # A person or section without a Canvas id (rare) is told apart by its label.
    return (issue.code, issue.object_type, issue.canvas_id, "" if issue.canvas_id is not None else issue.label)


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
