"""The roster guard: a course whose roster would shrink drastically in one sync is held, nothing
written, until an admin approves (an empty or truncated answer from Canvas must not wipe a roster).

One name in code: a course the guard *holds* (`would_hold`, `apply_plans(..., hold=False)` to apply
past it once approved, the HELD result, the `roster_shrink_held` issue). The thresholds are the
institution's `sync_hold_percent` and `sync_hold_min_people`.
"""

from __future__ import annotations

from portal.models import Institution
from sync.engine.changes import Changes


def would_hold(changes: Changes, institution: Institution) -> bool:
    """More than the institution's share of at least its minimum roster deactivated, or all of it."""
    before, after = changes.active_before, changes.active_after
    if before == 0 or after >= before:
        return False
    if after == 0:
        return True
    return (
        before >= institution.sync_hold_min_people and (before - after) * 100 > before * institution.sync_hold_percent
    )
