"""Helpers for sync-engine tests: a catalogue straight from the simulator's data, a sync list, a sync."""

from __future__ import annotations

from django.test import TestCase

from lms_canvas.simulator.testing import RunningSimulator
from portal.models import Department, Institution
from sync.engine import start_sync
from sync.models import CatalogCourse, CatalogSection, RunTrigger, SyncListEntry, SyncRun


def catalog_from_sim(institution: Institution, sim: RunningSimulator) -> None:
    """What a Refresh would have stored, written directly (the engine only needs Canvas ids and names)."""
    for c in sim.store.tables["courses"].values():
        course, _ = CatalogCourse.objects.update_or_create(
            institution=institution,
            canvas_id=c["id"],
            defaults={
                "name": c["name"],
                "course_code": c.get("course_code") or "",
                "sis_course_id": c.get("sis_course_id") or "",
                "workflow_state": c.get("workflow_state") or "",
            },
        )
    for s in sim.store.tables["sections"].values():
        CatalogSection.objects.update_or_create(
            institution=institution,
            canvas_id=s["id"],
            defaults={
                "course": CatalogCourse.objects.get(institution=institution, canvas_id=s["course_id"]),
                "name": s["name"],
                "sis_section_id": s.get("sis_section_id") or "",
            },
        )


def add_entry(
    institution: Institution, canvas_course_id: int, section_id: int | None = None, **fields
) -> SyncListEntry:
    fields.setdefault("department", Department.objects.filter(institution=institution).first())
    return SyncListEntry.objects.create(
        institution=institution,
        course=CatalogCourse.objects.get(institution=institution, canvas_id=canvas_course_id),
        section=CatalogSection.objects.get(institution=institution, canvas_id=section_id) if section_id else None,
        **fields,
    )


def sync(institution: Institution, *, preview: bool = False, trigger: RunTrigger = RunTrigger.ADMIN) -> SyncRun:
    """A sync as Sync Now (or beat, with `trigger`) starts it, its batches run by eager Celery tasks
    (sent here rather than on commit, so a test that stops the run's own sending can still sync)."""
    run = start_sync(institution, preview=preview, trigger=trigger, enqueue=False)
    return run_queued(run) if run.is_active else run


def run_queued(run: SyncRun) -> SyncRun:
    """Run the batches of a sync that was started without a broker (its tasks were not sent), as the
    workers would: the first batches, each sending the next (on-commit callbacks run too)."""
    from sync.engine.dispatch import run_here

    with TestCase.captureOnCommitCallbacks(execute=True):
        return run_here(run)


def issue_codes(run: SyncRun) -> dict[str, set]:
    codes: dict[str, set] = {}
    for issue in run.issues.all():
        codes.setdefault(issue.code, set()).add(issue.canvas_id)
    return codes
