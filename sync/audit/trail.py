"""What sync writes to the audit trail beyond tracked saves: the runs a person started (Sync Now,
Preview, Refresh, a course refresh, a grade post) and the held courses someone approved."""

from __future__ import annotations

from sync.audit import tracking
from sync.audit.models import Area, AuditEntry
from sync.models import RunKind, SyncCourseResult, SyncRun


def run_started(run: SyncRun) -> None:
    params = run.params or {}
    changes: dict[str, list] = {"Trigger": [None, run.get_trigger_display()]}
    if run.kind == RunKind.GRADE_POST:
        event = "Checked grades against Canvas" if params.get("check_only") else "Posted grades"
        area = Area.GRADES
        changes["Exam"] = [None, params.get("exam", "")]
        if params.get("overwrite_conflicts"):
            changes["Grades changed in Canvas"] = [None, "overwritten"]
    elif run.kind == RunKind.SYNC:
        event, area = ("Preview" if params.get("preview") else "Sync Now"), Area.RUNS
    elif run.kind == RunKind.COURSE_REFRESH:
        event, area = "Course refresh", Area.RUNS
        changes["Course"] = [None, params.get("course", "")]
    else:
        event, area = "Refresh Courses", Area.RUNS
    tracking.record(
        run,
        area=area,
        action=AuditEntry.Action.CREATE,
        changes=changes,
        actor=run.requested_by,
        object_repr=f"{run.get_kind_display()} #{run.id}",
        additional_data={"event": event, "run_id": run.id},
    )


def held_course_approved(result: SyncCourseResult, user, counts: dict) -> None:
    changes: dict[str, list] = {"Status": ["Held", "Approved and applied"]}
    for name in ("created", "updated", "deactivated"):
        if counts.get(name):
            changes[name.capitalize()] = [None, str(counts[name])]
    tracking.record(
        result,
        area=Area.HELD,
        changes=changes,
        actor=user,
        institution_id=result.run.institution_id,
        object_repr=result.label,
        additional_data={"event": "Approved a held course", "run_id": result.run_id},
    )
