"""Recording exclusions and failures as SyncIssues, in bulk, with the reason's sentence and fix."""

from __future__ import annotations

from collections.abc import Iterable

from sync.engine.plan import Exclusion
from sync.engine.reasons import reason
from sync.models import SyncCourseResult, SyncIssue, SyncRun

BATCH = 1000


def record(
    run: SyncRun,
    result: SyncCourseResult,
    exclusions: Iterable[Exclusion],
    *,
    message: str | None = None,
    fix: str | None = None,
) -> int:
    """One issue per exclusion of one course; `message`/`fix` override the reason's (Canvas errors)."""
    rows = []
    for e in exclusions:
        why = reason(e.code)
        text = message or (why.sentence + (f" {e.detail}" if e.detail else ""))
        rows.append(
            SyncIssue(
                run=run,
                code=e.code,
                severity=why.severity,
                object_type=e.object_type,
                canvas_id=e.canvas_id,
                canvas_course_id=result.canvas_course_id,
                label=e.label[:255],
                message=text,
                fix=fix or why.fix,
            )
        )
    SyncIssue.objects.bulk_create(rows, batch_size=BATCH)
    return len(rows)


def record_run_issue(run: SyncRun, code: str, detail: str = "") -> SyncIssue:
    why = reason(code)
    return SyncIssue.objects.create(
        run=run,
        code=code,
        severity=why.severity,
        object_type="run",
        label=why.title,
        message=why.sentence + (f" {detail}" if detail else ""),
        fix=why.fix,
    )
