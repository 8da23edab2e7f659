"""What applying plans would change: read the portal once for a whole batch of plans, then compare
each plan with that snapshot in plain Python. Nothing here writes.

Reading per batch instead of per course keeps the statement count flat however many courses a batch
holds; reading each kind of row in one statement also gives one snapshot, so a person another task
commits meanwhile is seen by both Canvas id and portal id or by neither (two reads could see them
only by portal id and report them as a duplicate of themselves).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL

from portal.models import Course, CourseAdmin, CourseAdminEnrollment, Enrollment, ExamTaker, Institution, Section
from sync.engine.plan import CoursePlan, Exclusion, PlannedCourse, PlannedPerson
from sync.engine.write import ACTIVE, PERSON_FIELDS
from sync.models import SyncListEntry

NEW = object()  # a person or section the apply will create: none of its enrollments exist yet


@dataclass
class PeopleChanges:
    id_field: str
    pks: dict[int, int] = field(default_factory=dict)  # Canvas user id -> portal pk (existing)
    create: list[PlannedPerson] = field(default_factory=list)
    update: list[tuple[int, PlannedPerson]] = field(default_factory=list)
    relabelled: list[str] = field(default_factory=list)


@dataclass
class Changes:
    """What apply would write for one plan; preview shows it, apply writes it."""

    course: Course | None = None
    course_fields: dict = field(default_factory=dict)
    section_pks: dict[int, int] = field(default_factory=dict)
    section_create: list = field(default_factory=list)
    section_update: list = field(default_factory=list)
    takers: PeopleChanges = field(default_factory=lambda: PeopleChanges("student_id"))
    admins: PeopleChanges = field(default_factory=lambda: PeopleChanges("admin_id"))
    enroll_add: list[tuple[int, int | None]] = field(default_factory=list)
    enroll_reactivate: list[int] = field(default_factory=list)
    enroll_deactivate: list[int] = field(default_factory=list)
    admin_add: list[int] = field(default_factory=list)
    admin_reactivate: list[int] = field(default_factory=list)
    admin_deactivate: list[int] = field(default_factory=list)
    unchanged: int = 0
    active_before: int = 0
    added_labels: list[str] = field(default_factory=list)
    deactivated_labels: list[str] = field(default_factory=list)
    conflicts: list[Exclusion] = field(default_factory=list)
    blocked: Exclusion | None = None

    @property
    def active_after(self) -> int:
        return self.active_before - len(self.enroll_deactivate) + len(self.enroll_add) + len(self.enroll_reactivate)


@dataclass
class PortalState:
    """The portal rows a batch of plans touches, read in one statement per table."""

    courses: list[Course] = field(default_factory=list)
    sections: dict[int, list[Section]] = field(default_factory=dict)  # course pk -> its sections
    people: dict[str, dict] = field(default_factory=dict)  # id field -> {"lms": {...}, "id": {...}}
    # course pk -> (pk, exam-taker pk, section pk, section Canvas id, status, label)
    enrollments: dict[int, list[tuple]] = field(default_factory=dict)
    admin_enrollments: dict[int, list[tuple]] = field(default_factory=dict)  # (pk, admin pk, status, label)
    shared_entries: set[int] = field(default_factory=set)  # section entries whose course has another entry


def load_state(plans: list[CoursePlan], institution: Institution) -> PortalState:
    state = PortalState()
    live = [p for p in plans if not p.blocked and p.course is not None]
    if not live:
        return state
    planned_courses = [p.course for p in live if p.course is not None]
    state.courses = list(
        Course.objects.filter(institution=institution).filter(
            Q(lms_id__in=among([c.lms_id for c in planned_courses], "bigint"))
            | Q(course_id__in=among([c.course_id for c in planned_courses], "text"))
        )
    )
    course_pks = [c.pk for c in state.courses]
    if course_pks:
        for section in Section.objects.filter(course_id__in=among(course_pks, "bigint")):
            state.sections.setdefault(section.course_id, []).append(section)
        rows = Enrollment.objects.filter(course_id__in=among(course_pks, "bigint")).values_list(
            "course_id", "pk", "exam_taker_id", "section_id", "section__lms_id", "status",
            "exam_taker__first_name", "exam_taker__last_name",
        )  # fmt: skip
        for course, pk, taker, section_pk, section_lms, status, first, last in rows:
            label = f"{first} {last}".strip()
            state.enrollments.setdefault(course, []).append((pk, taker, section_pk, section_lms, status, label))
        admin_rows = CourseAdminEnrollment.objects.filter(course_id__in=among(course_pks, "bigint")).values_list(
            "course_id", "pk", "course_admin_id", "status", "course_admin__first_name", "course_admin__last_name"
        )
        for course, pk, admin, status, first, last in admin_rows:
            state.admin_enrollments.setdefault(course, []).append((pk, admin, status, f"{first} {last}".strip()))
    for model, attr, id_field in ((ExamTaker, "exam_takers", "student_id"), (CourseAdmin, "course_admins", "admin_id")):
        planned = {lms: p for plan in live for lms, p in getattr(plan, attr).items()}
        state.people[id_field] = _people(model, id_field, planned, institution)
    sectioned = {p.canvas_course_id for p in live if p.is_section_entry}
    if sectioned:
        entries = SyncListEntry.objects.filter(institution=institution, course__canvas_id__in=sectioned)
        by_course: dict[int, list[int]] = {}
        for entry_id, canvas_id in entries.values_list("id", "course__canvas_id"):
            by_course.setdefault(canvas_id, []).append(entry_id)
        state.shared_entries = {p.entry_id for p in live if len(by_course.get(p.canvas_course_id, [])) > 1}
    return state


def _people(model, id_field: str, planned: dict[int, PlannedPerson], institution) -> dict:
    found: dict = {"lms": {}, "id": {}}
    if not planned:
        return found
    wanted_ids = list({p.portal_id for p in planned.values()})
    rows = model.objects.filter(institution=institution).filter(
        Q(lms_id__in=among(list(planned), "bigint")) | Q(**{f"{id_field}__in": among(wanted_ids, "text")})
    )
    for person in map(Person._make, rows.values_list("pk", "lms_id", id_field, *PERSON_FIELDS)):
        found["id"][person.portal_id] = person
        if person.lms_id is not None:
            found["lms"][person.lms_id] = person
    return found


class Person(NamedTuple):
    """An exam-taker or course admin as the portal holds them (lighter than a model instance)."""

    pk: int
    lms_id: int | None
    portal_id: str
    first_name: str
    last_name: str
    email: str

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


def among(values: list, sql_type: str):
    """The right side of an `__in` filter: on PostgreSQL one array parameter, however many values
    (thousands of placeholders cost more to build and parse than the query costs to run)."""
    if connection.vendor == "postgresql":
        return RawSQL(f"SELECT unnest(%s::{sql_type}[])", [list(values)])  # noqa: S611 - a type name only
    return list(values)


def changes_for(plan: CoursePlan, state: PortalState, institution: Institution) -> Changes:
    changes = Changes(blocked=plan.blocked)
    if plan.blocked or plan.course is None:
        return changes
    _course_changes(plan, plan.course, state, changes)
    if changes.blocked:
        return changes
    _section_changes(plan, state, changes)
    _people_changes(plan.exam_takers, state.people["student_id"], changes.takers, changes.conflicts)
    _people_changes(plan.course_admins, state.people["admin_id"], changes.admins, changes.conflicts)
    _enrollment_changes(plan, state, changes)
    _admin_enrollment_changes(plan, state, changes)
    return changes


def _course_changes(plan: CoursePlan, planned: PlannedCourse, state: PortalState, changes: Changes) -> None:
    rows = state.courses
    course = next((c for c in rows if c.lms_id == planned.lms_id), None) or next(
        (c for c in rows if c.course_id == planned.course_id and c.lms_id is None), None
    )
    holder = next((c for c in rows if c.course_id == planned.course_id and c.lms_id != planned.lms_id), None)
    if holder is not None and holder != course:
        detail = f"Course ID {planned.course_id} already belongs to portal course “{holder.name}”."
        changes.blocked = Exclusion("duplicate_course_id", "course", planned.lms_id, plan.label, detail)
        return
    if course is None and planned.department_id is None:
        changes.blocked = Exclusion("no_department", "course", planned.lms_id, plan.label)
        return
    wanted = {
        "course_id": planned.course_id,
        "name": planned.name,
        "start_date": planned.start_date,
        "end_date": planned.end_date,
        "lms_id": planned.lms_id,
        "lms_url": planned.lms_url,
    }
    if planned.department_id is not None:
        wanted["department_id"] = planned.department_id
    changes.course = course
    changes.course_fields = wanted if course is None else {k: v for k, v in wanted.items() if getattr(course, k) != v}


def _section_changes(plan: CoursePlan, state: PortalState, changes: Changes) -> None:
    sections = state.sections.get(changes.course.pk, []) if changes.course is not None else []
    existing = {s.lms_id: s for s in sections}
    by_id = {s.section_id: s for s in sections if s.lms_id is None}
    for lms_id, planned in plan.sections.items():
        section = existing.get(lms_id) or by_id.get(planned.section_id)
        if section is None:
            changes.section_create.append(planned)
            continue
        changes.section_pks[lms_id] = section.pk
        if (section.section_id, section.name, section.lms_id) != (planned.section_id, planned.name, lms_id):
            changes.section_update.append((section, planned))


def _people_changes(planned: dict[int, PlannedPerson], rows: dict, people: PeopleChanges, conflicts) -> None:
    for lms_id, person in planned.items():
        holder = rows["id"].get(person.portal_id)
        current = rows["lms"].get(lms_id)
        if current is None and holder is not None and holder.lms_id is None:
            current = holder  # adopt a record made before sync
        if holder is not None and (current is None or holder.pk != current.pk):
            detail = f"{person.portal_id} already belongs to another person in the portal ({holder.full_name})."
            conflicts.append(Exclusion("duplicate_person_id", "person", lms_id, person.label, detail))
            continue
        if current is None:
            people.create.append(person)
            continue
        people.pks[lms_id] = current.pk
        old_id = current.portal_id
        if old_id != person.portal_id:
            people.relabelled.append(f"{person.label}: {old_id} → {person.portal_id}")
        if (old_id, current.lms_id, current.first_name, current.last_name, current.email) != (
            person.portal_id,
            lms_id,
            *(getattr(person, f) for f in PERSON_FIELDS),
        ):
            people.update.append((current.pk, person))


def _enrollment_changes(plan: CoursePlan, state: PortalState, changes: Changes) -> None:
    people = changes.takers
    existing, labels = {}, {}
    rows = state.enrollments.get(changes.course.pk, []) if changes.course is not None else []
    for pk, taker, section, section_lms, status, label in rows:
        if _in_scope(plan, section, section_lms):
            existing[(taker, section)] = (pk, status)
            labels[pk] = label
    skip = {c.canvas_id for c in changes.conflicts}
    wanted = set()
    for lms_id, section_lms in sorted(plan.student_enrollments, key=lambda k: (k[0], k[1] or 0)):
        if lms_id in skip:
            continue
        taker = people.pks.get(lms_id, NEW)
        section = None if section_lms is None else changes.section_pks.get(section_lms, NEW)
        label = plan.exam_takers[lms_id].label
        if taker is NEW or section is NEW or (taker, section) not in existing:
            changes.enroll_add.append((lms_id, section_lms))
            changes.added_labels.append(label)
            continue
        wanted.add((taker, section))
        pk, status = existing[(taker, section)]
        if status == ACTIVE:
            changes.unchanged += 1
        else:
            changes.enroll_reactivate.append(pk)
            changes.added_labels.append(label)
    for key, (pk, status) in existing.items():
        if status == ACTIVE:
            changes.active_before += 1
            if key not in wanted:
                changes.enroll_deactivate.append(pk)
                changes.deactivated_labels.append(labels[pk])


def _in_scope(plan: CoursePlan, section: int | None, section_lms: int | None) -> bool:
    """A course entry owns every enrollment of its course; a section entry only its section's."""
    if not plan.is_section_entry:
        return True
    if plan.canvas_section_id in plan.sections:
        return section is not None and section_lms == plan.canvas_section_id
    return section is None


def _admin_enrollment_changes(plan: CoursePlan, state: PortalState, changes: Changes) -> None:
    existing, labels = {}, {}
    rows = state.admin_enrollments.get(changes.course.pk, []) if changes.course is not None else []
    for pk, admin, status, label in rows:
        existing[admin] = (pk, status)
        labels[pk] = label
    skip = {c.canvas_id for c in changes.conflicts}
    wanted = set()
    for lms_id in sorted(plan.admin_enrollments):
        admin = changes.admins.pks.get(lms_id, NEW)
        if lms_id in skip:
            continue
        if admin is NEW or admin not in existing:
            changes.admin_add.append(lms_id)
            changes.added_labels.append(plan.course_admins[lms_id].label + " (course admin)")
            continue
        wanted.add(admin)
        pk, status = existing[admin]
        if status == ACTIVE:
            changes.unchanged += 1
        else:
            changes.admin_reactivate.append(pk)
    # Two section entries of one course each see only their admins: only a lone entry may remove one.
    shared = plan.is_section_entry and plan.entry_id in state.shared_entries
    for admin, (pk, status) in existing.items():
        if status == ACTIVE and admin not in wanted and not shared:
            changes.admin_deactivate.append(pk)
            changes.deactivated_labels.append(labels[pk] + " (course admin)")
