"""The sync list: add courses and sections (re-checked against this institution's catalogue), edit
dates and departments in bulk, and validate with messages by field. CSV lives in sync/synclist/csv_io.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import TypedDict

from django.db import IntegrityError, transaction
from django.utils import timezone

from lms_canvas.models import CanvasConfig
from portal.models import Department, Institution
from portal.sorting import Sort
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
COURSE_NOT_ON_LIST = (
    "That course is not on your sync list as a whole course (it may have been removed meanwhile). "
    "What to do: reload the page to see the list as it is."
)
NOT_ON_LIST = "That entry is not on your sync list (it may have been removed meanwhile)."


class SyncListError(Exception):
    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class RowChange(TypedDict, total=False):
    """What an admin asks for one entry: a key present sets its field (None clears it), a key left out
    keeps it (a bulk action sets only what was filled in)."""

    start_date: dt.date | None
    end_date: dt.date | None
    department: Department | None


@dataclass(frozen=True)
class ListedEntry:
    """An entry as the sync list shows it: its IDs under the chosen ID types, and whether Canvas still has it."""

    entry: SyncListEntry
    course_id_value: str
    section_id_value: str
    gone: bool

    @property
    def id(self) -> int:
        return self.entry.id

    @property
    def named(self) -> str:
        """The entry as another entry's error names it: its label and the ID the sync would use."""
        return f"{self.entry.label} ({self.course_id_value or self.entry.course.canvas_id})"


@dataclass
class SaveResult:
    saved: int = 0
    removed: int = 0
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


def entries_for(institution: Institution, config: CanvasConfig) -> list[ListedEntry]:
    entries = (
        SyncListEntry.objects.filter(institution=institution)
        .select_related("course", "section", "section__course", "department")
        .order_by("course__name", "course_id", "section__name")
    )
    return [
        ListedEntry(
            entry=entry,
            course_id_value=course_id_value(entry.course, config),
            section_id_value=section_id_value(entry.section, config) if entry.section is not None else "",
            gone=bool(entry.course.gone_at or (entry.section is not None and entry.section.gone_at)),
        )
        for entry in entries
    ]


# Edit Sync List's sortable headers, each ordering by what its column shows (an empty one last).
LIST_SORTS = ("course_id", "course", "start", "end", "department")
DEFAULT_LIST_SORT = "course"


def sort_listed(listed: list[ListedEntry], sort: Sort) -> list[ListedEntry]:
    def value(item: ListedEntry):
        entry = item.entry
        return {
            "course_id": item.course_id_value.casefold() or None,
            "course": entry.label.casefold(),
            "start": entry.start_date,
            "end": entry.end_date,
            "department": entry.department.name.casefold() if entry.department is not None else None,
        }[sort.key]

    present = sorted((item for item in listed if value(item) is not None), key=value, reverse=sort.descending)
    return present + [item for item in listed if value(item) is None]


# --- editing ------------------------------------------------------------------------------------


def save_rows(
    institution: Institution,
    config: CanvasConfig,
    changes: Mapping[int, RowChange],
    removing: Collection[int] = (),
) -> SaveResult:
    """Apply changes to entries of this institution, all or nothing; errors are keyed by entry id and field
    ("entry" for the entry as a whole). An id that is not on this institution's list is refused. The
    entries being `removing`d count as gone already (removing one of two duplicates is the fix)."""
    listed = {item.id: item for item in entries_for(institution, config) if item.id not in removing}
    result = SaveResult()
    changed: list[int] = []
    for entry_id, change in changes.items():
        item = listed.get(entry_id)
        if item is None:
            result.errors[entry_id] = {"entry": NOT_ON_LIST}
            continue
        before = _stored(item.entry)
        errors = _apply(item.entry, change, institution)
        if errors:
            result.errors[entry_id] = errors
        elif _stored(item.entry) != before:
            changed.append(entry_id)
    _check_listed_and_unique(listed, changed, result)
    if result.errors:
        return result
    with transaction.atomic():
        for entry_id in changed:
            listed[entry_id].entry.save(update_fields=["start_date", "end_date", "department"])
    result.saved = len(changed)
    return result


def bulk_change(
    institution: Institution,
    config: CanvasConfig,
    entry_ids: list[int],
    change: RowChange,
    typed: Mapping[int, RowChange] | None = None,
) -> SaveResult:
    """A bulk `change` to the checked entries, saved with the rows as `typed` on the page in one go (all or
    nothing), so a bulk button loses no edit typed but not saved: on a checked entry the bulk action's
    fields win and its other typed fields are kept."""
    changes = {entry_id: RowChange(**row) for entry_id, row in (typed or {}).items()}
    for entry_id in entry_ids:
        changes.setdefault(entry_id, RowChange()).update(change)
    return save_rows(institution, config, changes)


def remove(institution: Institution, entry_ids: list[int]) -> int:
    deleted, _ = SyncListEntry.objects.filter(institution=institution, id__in=entry_ids).delete()
    return deleted


def remove_and_save(
    institution: Institution, config: CanvasConfig, entry_ids: list[int], typed: Mapping[int, RowChange]
) -> SaveResult:
    """Remove the checked entries and save the rows `typed` (edited on the page, not saved) with it, all or
    nothing, so a Remove loses no edit typed in a row it keeps."""
    if not typed:
        return SaveResult(removed=remove(institution, entry_ids))
    removing = set(entry_ids)
    with transaction.atomic():
        kept = {entry_id: change for entry_id, change in typed.items() if entry_id not in removing}
        result = save_rows(institution, config, kept, removing=removing)
        if result.ok:
            result.removed = remove(institution, entry_ids)
    return result


def remove_course(institution: Institution, catalog_course_id: int) -> CatalogCourse:
    """Take a whole course off the list (Select Courses' Remove): only this institution's entry for it."""
    entry = (
        SyncListEntry.objects.select_related("course")
        .filter(institution=institution, course_id=catalog_course_id, section__isnull=True)
        .first()
    )
    if entry is None:
        raise SyncListError(COURSE_NOT_ON_LIST)
    entry.delete()
    return entry.course


@dataclass(frozen=True)
class OnTheList:
    courses: set[int]  # catalogue courses listed whole
    sections: dict[int, int]  # catalogue course -> how many of its sections are listed alone


def listed_in(institution: Institution, catalog_course_ids: list[int]) -> OnTheList:
    """Which of these catalogue courses the sync list has, whole or by some of their sections."""
    rows = SyncListEntry.objects.filter(institution=institution, course_id__in=catalog_course_ids)
    courses: set[int] = set()
    sections: dict[int, int] = {}
    for course_id, section_id in rows.values_list("course_id", "section_id"):
        if section_id is None:
            courses.add(course_id)
        else:
            sections[course_id] = sections.get(course_id, 0) + 1
    return OnTheList(courses, sections)


def _stored(entry: SyncListEntry) -> tuple[dt.date | None, dt.date | None, int | None]:
    return entry.start_date, entry.end_date, entry.department_id


def _apply(entry: SyncListEntry, change: RowChange, institution: Institution) -> dict[str, str]:
    errors: dict[str, str] = {}
    if "start_date" in change:
        entry.start_date = change["start_date"]
    if "end_date" in change:
        entry.end_date = change["end_date"]
    if "department" in change:
        department = change["department"]
        # The forms offer only this institution's departments; the workflow holds the line for any caller.
        if department is not None and department.institution_id != institution.id:
            errors["department"] = DEPARTMENT_OTHER
        else:
            entry.department = department
    if entry.start_date and entry.end_date and entry.end_date < entry.start_date:
        errors["end_date"] = END_BEFORE_START
    return errors


def _check_listed_and_unique(listed: dict[int, ListedEntry], changed: list[int], result: SaveResult) -> None:
    seen: dict[tuple[str, str, dt.date | None, dt.date | None], ListedEntry] = {}
    for item in listed.values():
        key = (item.course_id_value, item.section_id_value, item.entry.start_date, item.entry.end_date)
        other = seen.get(key)
        if other is not None:  # reported even when neither was edited now: the sync would merge them
            target, twin = (other, item) if other.id in changed and item.id not in changed else (item, other)
            result.errors.setdefault(target.id, {}).setdefault("entry", DUPLICATE.format(other=twin.named))
        seen.setdefault(key, item)
    for entry_id in changed:
        if listed[entry_id].gone:
            result.errors.setdefault(entry_id, {}).setdefault("entry", COURSE_GONE)
