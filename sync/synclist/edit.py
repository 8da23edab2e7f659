"""The sync list: add courses and sections (re-checked against this institution's catalogue), edit
dates and departments in bulk, and validate with messages by field. CSV lives in sync/synclist/csv_io.py."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from lms_canvas.models import CanvasConfig
from portal.models import Department, Institution
from sync.catalog.search import course_id_value, course_reason, section_id_value, section_reason
from sync.models import CatalogCourse, CatalogSection, SyncListEntry

NOT_IN_CATALOGUE = (
    "This course is not in your institution's course list. What to do: choose Refresh Courses, then add it again."
)
SECTION_NOT_IN_CATALOGUE = (
    "This section is not in your institution's course list. What to do: choose Refresh Courses, then add it again."
)
ALREADY_LISTED = "“{name}” is already on the sync list."
COURSE_ALREADY_LISTED = "“{name}” is already on the sync list as a whole course, which includes all its sections."
END_BEFORE_START = "End Date is before Start Date."
DEPARTMENT_OTHER = "Choose one of your institution's departments."
DUPLICATE = "Another entry has the same Course ID, Start Date and End Date: {other}."
COURSE_GONE = (
    "This course is no longer in the course list (the last refresh did not find it in Canvas). "
    "What to do: remove it, or restore it in Canvas and refresh courses."
)
NOT_ON_LIST = "That entry is not on your sync list (it may have been removed meanwhile)."
BAD_DATE = "Enter a date as YYYY-MM-DD."


class SyncListError(Exception):
    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


@dataclass
class RowChange:
    """What an admin asks for one entry; None leaves a field as it is (department: 0 clears it)."""

    start_date: dt.date | None | str = None
    end_date: dt.date | None | str = None
    department_id: int | None = None
    set_start: bool = False
    set_end: bool = False


@dataclass
class SaveResult:
    saved: int = 0
    errors: dict[int, dict[str, str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


# --- adding -------------------------------------------------------------------------------------


def add_course(institution: Institution, config: CanvasConfig, catalog_course_id: int, user=None) -> SyncListEntry:
    """Add a whole course; the id is checked against this institution's catalogue (no forged ids)."""
    course = CatalogCourse.objects.filter(institution=institution, id=catalog_course_id).first()
    if course is None:
        raise SyncListError(NOT_IN_CATALOGUE)
    if reason := course_reason(course, config):
        raise SyncListError(f"“{course.name}” cannot be synced: {reason.text}")
    start, end = default_dates(course, institution)
    return _create(institution, course, None, start, end, user, ALREADY_LISTED.format(name=course.name))


def add_section(institution: Institution, config: CanvasConfig, catalog_section_id: int, user=None) -> SyncListEntry:
    section = (
        CatalogSection.objects.select_related("course").filter(institution=institution, id=catalog_section_id).first()
    )
    if section is None:
        raise SyncListError(SECTION_NOT_IN_CATALOGUE)
    if reason := section_reason(section, config):
        raise SyncListError(f"“{section.name}” cannot be synced: {reason.text}")
    if SyncListEntry.objects.filter(institution=institution, course=section.course, section__isnull=True).exists():
        raise SyncListError(COURSE_ALREADY_LISTED.format(name=section.course.name))
    start, end = default_dates(section.course, institution)
    return _create(institution, section.course, section, start, end, user, ALREADY_LISTED.format(name=section.name))


def _create(institution, course, section, start, end, user, duplicate_message: str) -> SyncListEntry:
    try:
        with transaction.atomic():
            return SyncListEntry.objects.create(
                institution=institution, course=course, section=section, start_date=start, end_date=end, added_by=user
            )
    except IntegrityError:
        raise SyncListError(duplicate_message) from None


def default_dates(course: CatalogCourse, institution: Institution) -> tuple[dt.date | None, dt.date | None]:
    """The Canvas course's own dates, else its term's, as dates in the institution's time zone."""
    start = course.start_at or course.term_start_at
    end = course.end_at or course.term_end_at
    tz = institution.tz
    start_date = timezone.localtime(start, tz).date() if start else None
    end_date = timezone.localtime(end, tz).date() if end else None
    if start_date and end_date and end_date < start_date:
        end_date = None
    return start_date, end_date


# --- reading ------------------------------------------------------------------------------------


def entries_for(institution: Institution, config: CanvasConfig) -> list[SyncListEntry]:
    entries = list(
        SyncListEntry.objects.filter(institution=institution)
        .select_related("course", "section", "section__course", "department")
        .order_by("course__name", "course_id", "section__name")
    )
    for entry in entries:
        entry.course_id_value = course_id_value(entry.course, config)
        entry.section_id_value = section_id_value(entry.section, config) if entry.section_id else ""
        entry.gone = bool(entry.course.gone_at or (entry.section_id and entry.section.gone_at))
    return entries


# --- editing ------------------------------------------------------------------------------------


def save_rows(institution: Institution, config: CanvasConfig, changes: dict[int, RowChange]) -> SaveResult:
    """Apply changes to entries of this institution, all or nothing; errors are keyed by entry id and field."""
    entries = {e.id: e for e in entries_for(institution, config)}
    result = SaveResult()
    departments = set(Department.objects.filter(institution=institution).values_list("id", flat=True))
    changed: list[int] = []
    for entry_id, change in changes.items():
        entry = entries.get(entry_id)
        if entry is None:
            result.errors[entry_id] = {"entry": NOT_ON_LIST}
            continue
        before = (entry.start_date, entry.end_date, entry.department_id)
        errors = _apply(entry, change, departments)
        if errors:
            result.errors[entry_id] = errors
        elif (entry.start_date, entry.end_date, entry.department_id) != before:
            changed.append(entry_id)
    _check_listed_and_unique(entries, changed, result)
    if result.errors:
        return result
    with transaction.atomic():
        for entry_id in changed:
            entries[entry_id].save(update_fields=["start_date", "end_date", "department"])
    result.saved = len(changed)
    return result


def bulk_change(institution: Institution, config: CanvasConfig, entry_ids: list[int], change: RowChange) -> SaveResult:
    return save_rows(institution, config, dict.fromkeys(entry_ids, change))


def remove(institution: Institution, entry_ids: list[int]) -> int:
    deleted, _ = SyncListEntry.objects.filter(institution=institution, id__in=entry_ids).delete()
    return deleted


def _apply(entry: SyncListEntry, change: RowChange, departments: set[int]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for name, flag in (("start_date", change.set_start), ("end_date", change.set_end)):
        if not flag:
            continue
        value = getattr(change, name)
        if isinstance(value, str):
            errors[name] = BAD_DATE
        else:
            setattr(entry, name, value)
    if change.department_id is not None:
        if change.department_id == 0:
            entry.department = None
        elif change.department_id in departments:
            entry.department_id = change.department_id
        else:
            errors["department"] = DEPARTMENT_OTHER
    if "end_date" not in errors and entry.start_date and entry.end_date and entry.end_date < entry.start_date:
        errors["end_date"] = END_BEFORE_START
    return errors


def _check_listed_and_unique(entries: dict[int, SyncListEntry], changed: list[int], result: SaveResult) -> None:
    seen: dict[tuple, SyncListEntry] = {}
    for entry in entries.values():
        key = (entry.course_id_value, entry.section_id_value, entry.start_date, entry.end_date)
        other = seen.get(key)
        if other is not None:  # reported even when neither was edited now: the sync would merge them
            target, twin = (other, entry) if other.id in changed and entry.id not in changed else (entry, other)
            result.errors.setdefault(target.id, {}).setdefault("entry", DUPLICATE.format(other=_label(twin)))
        seen.setdefault(key, entry)
    for entry_id in changed:
        if entries[entry_id].gone:
            result.errors.setdefault(entry_id, {}).setdefault("entry", COURSE_GONE)


def _label(entry: SyncListEntry) -> str:
    return f"{entry.label} ({entry.course_id_value or entry.course.canvas_id})"


def parse_date(raw: str) -> dt.date | None | str:
    """A date, None for empty, or the raw text back when it is not a date (reported as BAD_DATE)."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        return raw
