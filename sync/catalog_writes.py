"""Writing what Refresh saw into the catalogue: bulk upserts, marking gone, and reporting sync list
entries whose course or section Canvas no longer has."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from lms_canvas.client import CanvasObject
from sync import runs
from sync.models import CatalogCourse, CatalogSection, IssueSeverity, SyncListEntry

BATCH_SIZE = 1000

COURSE_FIELDS = [
    "name",
    "course_code",
    "sis_course_id",
    "integration_id",
    "workflow_state",
    "account_id",
    "term_name",
    "start_at",
    "end_at",
    "term_start_at",
    "term_end_at",
    "total_students",
    "refreshed_at",
    "gone_at",
]
SECTION_FIELDS = ["course", "name", "sis_section_id", "integration_id", "nonxlist_course_id", "refreshed_at", "gone_at"]


def save_courses(institution_id: int, page: Iterable[CanvasObject], now: dt.datetime) -> int:
    rows = [course_row(institution_id, c, now) for c in page]
    CatalogCourse.objects.bulk_create(
        rows,
        batch_size=BATCH_SIZE,
        update_conflicts=True,
        unique_fields=["institution", "canvas_id"],
        update_fields=COURSE_FIELDS,
    )
    return len(rows)


def course_row(institution_id: int, c: CanvasObject, now: dt.datetime) -> CatalogCourse:
    term = c.get("term") or {}
    return CatalogCourse(
        institution_id=institution_id,
        canvas_id=c["id"],
        name=(c.get("name") or "")[:255],
        course_code=(c.get("course_code") or "")[:255],
        sis_course_id=(c.get("sis_course_id") or "")[:255],
        integration_id=(c.get("integration_id") or "")[:255],
        workflow_state=c.get("workflow_state") or "",
        account_id=c.get("account_id"),
        term_name=(term.get("name") or "")[:255],
        start_at=_when(c.get("start_at")),
        end_at=_when(c.get("end_at")),
        term_start_at=_when(term.get("start_at")),
        term_end_at=_when(term.get("end_at")),
        total_students=c.get("total_students"),
        refreshed_at=now,
        gone_at=None,
    )


def section_row(institution_id: int, course_pk: int, s: CanvasObject, now: dt.datetime) -> CatalogSection:
    return CatalogSection(
        institution_id=institution_id,
        course_id=course_pk,
        canvas_id=s["id"],
        name=(s.get("name") or "")[:255],
        sis_section_id=(s.get("sis_section_id") or "")[:255],
        integration_id=(s.get("integration_id") or "")[:255],
        nonxlist_course_id=s.get("nonxlist_course_id"),
        refreshed_at=now,
        gone_at=None,
    )


def save_sections(rows: list[CatalogSection]) -> int:
    if not rows:
        return 0
    CatalogSection.objects.bulk_create(
        rows,
        batch_size=BATCH_SIZE,
        update_conflicts=True,
        unique_fields=["institution", "canvas_id"],
        update_fields=SECTION_FIELDS,
    )
    return len(rows)


def mark_gone(institution_id: int, started: dt.datetime) -> int:
    """Courses the full listing did not return: gone, kept (a sync list may still point to them)."""
    with transaction.atomic():
        gone = CatalogCourse.objects.filter(
            institution_id=institution_id, gone_at__isnull=True, refreshed_at__lt=started
        )
        count = gone.update(gone_at=timezone.now())
        CatalogSection.objects.filter(
            institution_id=institution_id, gone_at__isnull=True, course__gone_at__isnull=False
        ).update(gone_at=timezone.now())
    return count


def mark_sections_gone(institution_id: int, started: dt.datetime, *, exclude_courses: set[int]) -> None:
    stale = CatalogSection.objects.filter(institution_id=institution_id, gone_at__isnull=True, refreshed_at__lt=started)
    # Deleted courses have no readable sections; those whose read failed keep theirs until next time.
    stale.exclude(course_id__in=exclude_courses).update(gone_at=timezone.now())


def report_gone_sync_entries(institution_id: int, run_id: int, started: dt.datetime) -> int:
    """A course or section on the sync list that Canvas no longer has is the admin's to decide."""
    entries = SyncListEntry.objects.filter(institution_id=institution_id).select_related("course", "section")
    count = 0
    for entry in entries.iterator():
        gone = entry.course.gone_at or (entry.section and entry.section.gone_at)
        deleted = entry.course.workflow_state == "deleted"
        if not (gone or deleted):
            continue
        what = "section" if entry.section_id else "course"
        obj = entry.section if entry.section_id else entry.course
        runs.record_issue(
            run_id,
            f"{what}_gone",
            f"This {what} is on the sync list but is {'deleted in' if deleted and not gone else 'no longer in'} Canvas.",
            "Remove it from the sync list on Edit Sync List, or restore it in Canvas and refresh courses.",
            object_type=what,
            canvas_id=obj.canvas_id,
            canvas_course_id=entry.course.canvas_id,
            label=str(obj.name),
            severity=IssueSeverity.WARNING,
        )
        count += 1
    return count


def _when(value: str | None) -> dt.datetime | None:
    return parse_datetime(value) if value else None
