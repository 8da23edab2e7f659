"""The sync engine: plan (read Canvas for one sync-list entry), apply (write the difference), and the
run that fans both out over every current entry of the sync list."""

from __future__ import annotations

from sync.engine.apply import ApplyOutcome, Changes, apply_plan, apply_plans, compute_changes, preview_details
from sync.engine.pipeline import run_sync
from sync.engine.plan import CoursePlan, Exclusion, plan_entry
from sync.engine.runner import approve_held, finalize_run, start_sync, sync_course_result

__all__ = [
    "ApplyOutcome",
    "Changes",
    "CoursePlan",
    "Exclusion",
    "apply_plan",
    "apply_plans",
    "approve_held",
    "compute_changes",
    "finalize_run",
    "plan_entry",
    "preview_details",
    "run_sync",
    "start_sync",
    "sync_course_result",
]
