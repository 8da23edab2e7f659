"""Sync list as CSV: export, and import in Add, Remove or Replace mode, always planned (previewed)
before it is applied. The plan is computed again from the same CSV text when applied."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from lms_canvas.models import CanvasConfig, CourseIdType
from portal import csvfile
from portal.models import Department, Institution
from sync.catalog.search import catalog_field, course_reason, section_reason
from sync.models import CatalogCourse, CatalogSection, SyncListEntry
from sync.synclist.edit import END_BEFORE_START, default_dates, entries_for

HEADER = [
    "Canvas Course Id",
    "Canvas Section Id",
    "Course ID",
    "Course",
    "Section",
    "Start Date",
    "End Date",
    "Department",
]
MODES = {"add": "Add", "remove": "Remove", "replace": "Replace"}
MAX_ROWS = 20_000

NO_KEY_COLUMN = (
    "The file has neither a “Canvas Course Id” nor a “Course ID” column. Export the sync list to see the format."
)
NO_COURSE = "No course in your course list has {what}."
AMBIGUOUS = "Several courses in your course list have Course ID “{value}”; give the Canvas Course Id instead."
NO_SECTION = "Course “{course}” has no section with Canvas Section Id {value}."
UNKNOWN_DEPARTMENT = "No department named “{name}” in your institution."
TOO_MANY = f"The file has more than {MAX_ROWS} rows; split it."
TWICE = "This course or section is already on an earlier line of the file."
NOT_CSV = "The file could not be read as CSV text (UTF-8)."


def export_csv(institution: Institution, config: CanvasConfig) -> str:
    out = io.StringIO()
    writer = csvfile.writer(out)
    writer.writerow(HEADER)
    for item in entries_for(institution, config):
        e = item.entry
        writer.writerow(
            [
                e.course.canvas_id,
                e.section.canvas_id if e.section else "",
                item.course_id_value,
                e.course.name,
                e.section.name if e.section else "",
                e.start_date.isoformat() if e.start_date else "",
                e.end_date.isoformat() if e.end_date else "",
                e.department.name if e.department else "",
            ]
        )
    return out.getvalue()


@dataclass
class Change:
    line: int
    action: str  # "add", "update", "remove", "unchanged", "not listed"
    label: str
    detail: str = ""


@dataclass
class ImportPlan:
    mode: str
    changes: list[Change] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)
    _apply: list = field(default_factory=list, repr=False)

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    @property
    def counts(self) -> dict[str, int]:
        return {a: self.count(a) for a in ("add", "update", "remove", "unchanged", "not listed")}

    @property
    def has_changes(self) -> bool:
        return any(c.action in ("add", "update", "remove") for c in self.changes)


def plan_import(institution: Institution, config: CanvasConfig, text: str, mode: str) -> ImportPlan:
    plan = ImportPlan(mode=mode)
    rows = _read(text, plan)
    if rows is None:
        return plan
    existing = {(e.course_id, e.section_id): e for e in SyncListEntry.objects.filter(institution=institution)}
    departments = {d.name.casefold(): d for d in Department.objects.filter(institution=institution)}
    listed: set[tuple[int, int | None]] = set()
    for line, row in rows:
        target = _resolve(institution, config, row, line, plan)
        if target is None:
            continue
        course, section = target
        key = (course.id, section.id if section else None)
        if key in listed:
            plan.errors.append((line, TWICE))
            continue
        listed.add(key)
        label = SyncListEntry.label_for(course, section)
        if mode == "remove":
            entry = existing.get(key)
            plan.changes.append(Change(line, "remove" if entry else "not listed", label))
            if entry:
                plan._apply.append(("remove", entry))
            continue
        values = _values(institution, row, line, plan, departments, course)
        if values is None:
            continue
        _plan_upsert(plan, line, label, existing.get(key), course, section, values, config)
    if mode == "replace" and not plan.errors:
        for key, entry in existing.items():
            if key not in listed:
                plan.changes.append(Change(0, "remove", str(entry)))
                plan._apply.append(("remove", entry))
    return plan


def _read(text: str, plan: ImportPlan) -> list[tuple[int, dict]] | None:
    if (nul := csvfile.first_nul_line(text)) is not None:
        plan.errors.append((nul, csvfile.NUL_IN_FILE.format(line=nul)))
        return None
    try:
        reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
        fields = [f.strip() for f in reader.fieldnames or []]
        if "Canvas Course Id" not in fields and "Course ID" not in fields:
            plan.errors.append((1, NO_KEY_COLUMN))
            return None
        rows = []
        for number, row in enumerate(reader, start=2):
            if number > MAX_ROWS + 1:
                plan.errors.append((number, TOO_MANY))
                return None
            # Undo the exporter's formula mark, so the portal's own export imports back unchanged.
            clean = {
                (k or "").strip(): csvfile.restore((v or "").strip()) for k, v in row.items() if isinstance(v, str)
            }
            if any(clean.values()):
                rows.append((number, clean))
        return rows
    except (csv.Error, UnicodeError):
        plan.errors.append((1, NOT_CSV))
        return None


def _resolve(
    institution: Institution, config: CanvasConfig, row: dict[str, str], line: int, plan: ImportPlan
) -> tuple[CatalogCourse, CatalogSection | None] | None:
    courses = CatalogCourse.objects.filter(institution=institution)
    raw_id = row.get("Canvas Course Id", "")
    if raw_id:
        course = courses.filter(canvas_id=int(raw_id)).first() if _is_id(raw_id) else None
        if course is None:
            plan.errors.append((line, NO_COURSE.format(what=f"Canvas Course Id {raw_id}")))
            return None
    else:
        value = row.get("Course ID", "")
        field_name = catalog_field(CourseIdType(config.course_id_type))
        if field_name is None:
            found = list(courses.filter(canvas_id=int(value))[:2]) if _is_id(value) else []
        else:
            found = list(courses.filter(**{field_name: value})[:2]) if value else []
        if len(found) > 1:
            plan.errors.append((line, AMBIGUOUS.format(value=value)))
            return None
        if not found:
            plan.errors.append((line, NO_COURSE.format(what=f"Course ID “{value}”")))
            return None
        course = found[0]
    section = None
    raw_section = row.get("Canvas Section Id", "")
    if raw_section:
        section = (
            CatalogSection.objects.filter(course=course, canvas_id=int(raw_section)).select_related("course").first()
            if _is_id(raw_section)
            else None
        )
        if section is None:
            plan.errors.append((line, NO_SECTION.format(course=course.name, value=raw_section)))
            return None
    return course, section


def _is_id(value: str) -> bool:
    """ASCII digits that fit a database id ("²".isdigit() is true, and int("²") fails)."""
    return value.isascii() and value.isdigit() and len(value) <= 18


def _values(
    institution: Institution,
    row: dict[str, str],
    line: int,
    plan: ImportPlan,
    departments: dict[str, Department],
    course: CatalogCourse,
) -> dict[str, Any] | None:
    default_start, default_end = default_dates(course, institution)
    problems: list[str] = []
    start = _date(row, "Start Date", default_start, problems)
    end = _date(row, "End Date", default_end, problems)
    if not problems and start and end and end < start:
        problems.append(END_BEFORE_START)
    department = None
    name = row.get("Department", "")
    if name:
        department = departments.get(name.casefold())
        if department is None:
            problems.append(UNKNOWN_DEPARTMENT.format(name=name))
    if problems:
        plan.errors.extend((line, p) for p in problems)
        return None
    return {"start_date": start, "end_date": end, "department": department}


def _date(row: dict[str, str], column: str, default: dt.date | None, problems: list[str]) -> dt.date | None:
    """The column's date (an empty cell is none), `default` when the file has no such column; text that is
    not a date is added to `problems`."""
    if column not in row:
        return default
    raw = row[column]
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        problems.append(f"“{raw}” is not a date (use YYYY-MM-DD).")
        return None


def _plan_upsert(
    plan: ImportPlan,
    line: int,
    label: str,
    entry: SyncListEntry | None,
    course: CatalogCourse,
    section: CatalogSection | None,
    values: dict[str, Any],
    config: CanvasConfig,
) -> None:
    if entry is None:
        reason = section_reason(section, config) if section else course_reason(course, config)
        if reason:
            plan.errors.append((line, f"“{label}” cannot be synced: {reason.text}"))
            return
        plan.changes.append(Change(line, "add", label, _describe(values)))
        plan._apply.append(("add", course, section, values))
        return
    current = {"start_date": entry.start_date, "end_date": entry.end_date, "department": entry.department}
    if current == values:
        plan.changes.append(Change(line, "unchanged", label))
        return
    plan.changes.append(Change(line, "update", label, _describe(values)))
    plan._apply.append(("update", entry, values))


def _describe(values: dict[str, Any]) -> str:
    start, end, dept = values["start_date"], values["end_date"], values["department"]
    return f"{start or '—'} to {end or '—'}, {dept.name if dept else 'no department'}"


def apply_import(institution: Institution, plan: ImportPlan, user=None) -> int:
    """Apply a plan without errors; returns how many entries changed."""
    if plan.errors:
        raise ValueError("A plan with errors cannot be applied.")
    with transaction.atomic():
        for step in plan._apply:
            if step[0] == "remove":
                SyncListEntry.objects.filter(institution=institution, id=step[1].id).delete()
            elif step[0] == "update":
                entry, values = step[1], step[2]
                for name, value in values.items():
                    setattr(entry, name, value)
                entry.save(update_fields=["start_date", "end_date", "department"])
            else:
                _, course, section, values = step
                SyncListEntry.objects.create(
                    institution=institution, course=course, section=section, added_by=user, **values
                )
    return len(plan._apply)
