"""Apply: compare plans with the portal and write the difference, in bulk and idempotently.

Everything is matched by Canvas id, so a changed Student/Course/Section ID Type re-labels existing
records instead of duplicating them. People removed in Canvas are deactivated, never deleted. A
course whose roster would shrink drastically is held by the roster guard (guard.py), nothing written,
until an admin approves.
A second apply of the same plan writes nothing.

`apply_plans` takes a batch of courses and costs about a dozen statements whatever its size: one
read per table for the whole batch (changes.py), then set-based writes (write.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from portal.models import CourseAdmin, ExamTaker, Institution
from sync.engine.changes import Changes, PeopleChanges, changes_for, load_state
from sync.engine.guard import would_hold
from sync.engine.plan import CoursePlan, Exclusion
from sync.engine.write import write_courses, write_people
from sync.models import empty_counts

PREVIEW_LIMIT = 500

__all__ = ["ApplyOutcome", "Changes", "PeopleChanges", "apply_plan", "apply_plans", "compute_changes"]


@dataclass
class ApplyOutcome:
    status: str  # "applied", "held" or "blocked"
    counts: dict[str, int]
    changes: Changes
    exclusions: list[Exclusion]


def compute_changes(plan: CoursePlan, institution: Institution) -> Changes:
    """Read the portal and work out what applying `plan` would change. Writes nothing."""
    return changes_for(plan, load_state([plan], institution), institution)


def apply_plan(plan: CoursePlan, institution: Institution, *, hold: bool = True) -> ApplyOutcome:
    """Write what the plan changes; the roster guard holds the course instead when its roster would
    collapse (`hold=False`: an admin approved it)."""
    return apply_plans([plan], institution, hold=hold)[0]


def apply_plans(plans: list[CoursePlan], institution: Institution, *, hold: bool = True) -> list[ApplyOutcome]:
    """`apply_plan` for many courses at once; outcomes in the order of `plans`.

    Plans of one Canvas course (section entries) go in separate rounds, each seeing the previous
    round's writes."""
    outcomes: dict[int, ApplyOutcome] = {}
    for round_ in _rounds(plans):
        for index, outcome in zip(round_, _apply_round([plans[i] for i in round_], institution, hold), strict=True):
            outcomes[index] = outcome
    return [outcomes[i] for i in range(len(plans))]


def _rounds(plans: list[CoursePlan]) -> list[list[int]]:
    """Indexes of `plans`, grouped so that no group holds two plans of one Canvas course."""
    rounds: list[tuple[list[int], set[int]]] = []
    for index, plan in enumerate(plans):
        free = next((r for r in rounds if plan.canvas_course_id not in r[1]), None)
        if free is None:
            free = ([], set())
            rounds.append(free)
        free[0].append(index)
        free[1].add(plan.canvas_course_id)
    return [indexes for indexes, _ in rounds]


def _apply_round(plans: list[CoursePlan], institution: Institution, hold: bool) -> list[ApplyOutcome]:
    state = load_state(plans, institution)
    outcomes, writes = [], []
    for plan in plans:
        changes = changes_for(plan, state, institution)
        exclusions = [*plan.exclusions, *changes.conflicts]
        counts = empty_counts()
        counts["skipped"] = sum(1 for e in exclusions if e.object_type in ("enrollment", "person"))
        if changes.blocked:
            outcomes.append(ApplyOutcome("blocked", counts, changes, [changes.blocked, *exclusions]))
        elif hold and would_hold(changes, institution):
            counts["held"] = changes.active_before - changes.active_after
            outcomes.append(ApplyOutcome("held", counts, changes, exclusions))
        else:
            outcomes.append(ApplyOutcome("applied", counts, changes, exclusions))
            writes.append((plan, changes, counts, exclusions))
    if writes:
        # People first, committed on their own: short transactions in one lock order never deadlock
        # with another worker's course.
        write_people(ExamTaker, institution, [(ch.takers, counts, ex) for _, ch, counts, ex in writes])
        write_people(CourseAdmin, institution, [(ch.admins, counts, ex) for _, ch, counts, ex in writes])
        with transaction.atomic():
            write_courses(institution, [(plan, ch, counts) for plan, ch, counts, _ in writes])
    return outcomes


def preview_details(plan: CoursePlan, changes: Changes) -> dict:
    """The per-course preview: people added, re-labelled, deactivated, and skipped with reasons."""
    skipped = [*plan.exclusions, *changes.conflicts] + ([changes.blocked] if changes.blocked else [])
    return {
        "added": sorted(changes.added_labels)[:PREVIEW_LIMIT],
        "relabelled": (changes.takers.relabelled + changes.admins.relabelled)[:PREVIEW_LIMIT],
        "deactivated": sorted(changes.deactivated_labels)[:PREVIEW_LIMIT],
        "skipped": [{"code": e.code, "label": e.label, "detail": e.detail} for e in skipped][:PREVIEW_LIMIT],
        "totals": {
            "added": len(changes.enroll_add) + len(changes.enroll_reactivate) + len(changes.admin_add),
            "relabelled": len(changes.takers.relabelled) + len(changes.admins.relabelled),
            "deactivated": len(changes.enroll_deactivate) + len(changes.admin_deactivate),
            "skipped": len(skipped),
        },
        "would_hold": False,
    }
