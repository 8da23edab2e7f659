"""The sync engine: plan (read Canvas for one sync-list entry), apply (write the difference), and the
run that sends both, in batches of courses, to the workers (dispatch.py, batch.py)."""

from __future__ import annotations

from sync.engine.apply import ApplyOutcome, Changes, apply_plan, apply_plans, compute_changes, preview_details
from sync.engine.batch import sync_batch
from sync.engine.plan import CoursePlan, Exclusion, plan_entry
from sync.engine.runner import approve_held, finalize_run, start_sync

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
    "start_sync",
    "sync_batch",
]
