"""Apply: compare a plan with the portal and write the difference, in bulk and idempotently.

Everything is matched by Canvas id, so a changed Student/Course/Section ID Type re-labels existing
records instead of duplicating them. People removed in Canvas are deactivated, never deleted. A
course whose roster would shrink drastically is held (nothing written) until an admin approves.
A second apply of the same plan writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from portal.models import (
    Course,
    CourseAdmin,
    CourseAdminEnrollment,
    Enrollment,
    EnrollmentStatus,
    ExamTaker,
    Institution,
    Section,
)
from sync.engine.plan import CoursePlan, Exclusion, PlannedPerson
from sync.models import SyncListEntry, empty_counts

ACTIVE, INACTIVE = EnrollmentStatus.ACTIVE, EnrollmentStatus.INACTIVE
NEW = object()  # a person or section the apply will create: none of its enrollments exist yet
BATCH = 1000
PREVIEW_LIMIT = 500
PERSON_FIELDS = ("first_name", "last_name", "email")


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
class ApplyOutcome:
    status: str  # "applied", "held" or "blocked"
    counts: dict[str, int]
    changes: Changes
    exclusions: list[Exclusion]


def compute_changes(plan: CoursePlan, institution: Institution) -> Changes:
    """Read the portal and work out what applying `plan` would change. Writes nothing."""
    changes = Changes(blocked=plan.blocked)
    if plan.blocked or plan.course is None:
        return changes
    _course_changes(plan, institution, changes)
    if changes.blocked:
        return changes
    _section_changes(plan, changes)
    _people_changes(ExamTaker, plan.exam_takers, institution, changes.takers, changes.conflicts)
    _people_changes(CourseAdmin, plan.course_admins, institution, changes.admins, changes.conflicts)
    _enrollment_changes(plan, changes)
    _admin_enrollment_changes(plan, institution, changes)
    return changes


def should_hold(changes: Changes, institution: Institution) -> bool:
    """The wipe guard: more than the institution's share of at least its minimum roster, or to empty."""
    before, after = changes.active_before, changes.active_after
    if before == 0 or after >= before:
        return False
    if after == 0:
        return True
    return (
        before >= institution.sync_hold_min_people and (before - after) * 100 > before * institution.sync_hold_percent
    )


def apply_plan(plan: CoursePlan, institution: Institution, *, allow_shrink: bool = False) -> ApplyOutcome:
    """Write what the plan changes; hold the course instead when the roster would collapse."""
    changes = compute_changes(plan, institution)
    exclusions = [*plan.exclusions, *changes.conflicts]
    counts = empty_counts()
    counts["skipped"] = sum(1 for e in exclusions if e.object_type in ("enrollment", "person"))
    if changes.blocked:
        return ApplyOutcome("blocked", counts, changes, [changes.blocked, *exclusions])
    if not allow_shrink and should_hold(changes, institution):
        counts["held"] = changes.active_before - changes.active_after
        return ApplyOutcome("held", counts, changes, exclusions)
    _write_people(ExamTaker, institution, changes.takers, counts, exclusions, plan)
    _write_people(CourseAdmin, institution, changes.admins, counts, exclusions, plan)
    with transaction.atomic():
        _write_course(plan, institution, changes, counts)
    return ApplyOutcome("applied", counts, changes, exclusions)


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


# --- compute ---------------------------------------------------------------------------------------


def _course_changes(plan: CoursePlan, institution: Institution, changes: Changes) -> None:
    planned = plan.course
    courses = Course.objects.filter(institution=institution)
    course = (
        courses.filter(lms_id=planned.lms_id).first()
        or courses.filter(course_id=planned.course_id, lms_id__isnull=True).first()
    )
    holder = courses.filter(course_id=planned.course_id).exclude(lms_id=planned.lms_id).first()
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


def _section_changes(plan: CoursePlan, changes: Changes) -> None:
    existing = {}
    if changes.course is not None:
        for section in changes.course.sections.all():
            existing[section.lms_id] = section
        by_id = {s.section_id: s for s in existing.values() if s.lms_id is None}
    else:
        by_id = {}
    for lms_id, planned in plan.sections.items():
        section = existing.get(lms_id) or by_id.get(planned.section_id)
        if section is None:
            changes.section_create.append(planned)
            continue
        changes.section_pks[lms_id] = section.pk
        if (section.section_id, section.name, section.lms_id) != (planned.section_id, planned.name, lms_id):
            changes.section_update.append((section, planned))


def _people_changes(model, planned: dict[int, PlannedPerson], institution, people: PeopleChanges, conflicts) -> None:
    if not planned:
        return
    id_field = people.id_field
    rows = model.objects.filter(institution=institution)
    found = {p.lms_id: p for p in rows.filter(lms_id__in=list(planned))}
    unmatched = {p.portal_id: p for lms, p in planned.items() if lms not in found}
    for person in rows.filter(lms_id__isnull=True, **{f"{id_field}__in": list(unmatched)}):
        found[unmatched[getattr(person, id_field)].lms_id] = person  # adopt a record made before sync
    wanted_ids = {p.portal_id for p in planned.values()}
    holders = {getattr(p, id_field): p for p in rows.filter(**{f"{id_field}__in": list(wanted_ids)})}
    for lms_id, person in planned.items():
        current = found.get(lms_id)
        holder = holders.get(person.portal_id)
        if holder is not None and (current is None or holder.pk != current.pk):
            detail = f"{person.portal_id} already belongs to another person in the portal ({holder.full_name})."
            conflicts.append(Exclusion("duplicate_person_id", "person", lms_id, person.label, detail))
            continue
        if current is None:
            people.create.append(person)
            continue
        people.pks[lms_id] = current.pk
        old_id = getattr(current, id_field)
        if old_id != person.portal_id:
            people.relabelled.append(f"{person.label}: {old_id} → {person.portal_id}")
        if (old_id, current.lms_id, *(getattr(current, f) for f in PERSON_FIELDS)) != (
            person.portal_id,
            lms_id,
            *(getattr(person, f) for f in PERSON_FIELDS),
        ):
            people.update.append((current.pk, person))


def _conflicted(changes: Changes) -> set[int]:
    return {c.canvas_id for c in changes.conflicts}


def _enrollment_changes(plan: CoursePlan, changes: Changes) -> None:
    people = changes.takers
    in_scope = _enrollment_scope(plan, changes)
    existing = {}
    labels = {}
    if changes.course is not None:
        rows = Enrollment.objects.filter(course=changes.course, **in_scope).values_list(
            "pk", "exam_taker_id", "section_id", "status", "exam_taker__first_name", "exam_taker__last_name"
        )
        for pk, taker, section, status, first, last in rows:
            existing[(taker, section)] = (pk, status)
            labels[pk] = f"{first} {last}".strip()
    skip = _conflicted(changes)
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


def _enrollment_scope(plan: CoursePlan, changes: Changes) -> dict:
    """A course entry owns every enrollment of its course; a section entry only its section's."""
    if not plan.is_section_entry:
        return {}
    if plan.canvas_section_id in plan.sections:
        return {"section__lms_id": plan.canvas_section_id}
    return {"section__isnull": True}


def _admin_enrollment_changes(plan: CoursePlan, institution: Institution, changes: Changes) -> None:
    existing = {}
    labels = {}
    if changes.course is not None:
        rows = CourseAdminEnrollment.objects.filter(course=changes.course).values_list(
            "pk", "course_admin_id", "status", "course_admin__first_name", "course_admin__last_name"
        )
        for pk, admin, status, first, last in rows:
            existing[admin] = (pk, status)
            labels[pk] = f"{first} {last}".strip()
    skip = _conflicted(changes)
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
    shared = (
        plan.is_section_entry
        and SyncListEntry.objects.filter(institution=institution, course__canvas_id=plan.canvas_course_id)
        .exclude(id=plan.entry_id)
        .exists()
    )
    for admin, (pk, status) in existing.items():
        if status == ACTIVE and admin not in wanted and not shared:
            changes.admin_deactivate.append(pk)
            changes.deactivated_labels.append(labels[pk] + " (course admin)")


# --- write -------------------------------------------------------------------------------------------


def _write_people(model, institution, people: PeopleChanges, counts, exclusions, plan: CoursePlan) -> None:
    """Committed on their own, sorted, so concurrent course tasks sharing people never deadlock."""
    id_field = people.id_field
    now = timezone.now()
    with transaction.atomic():
        if people.update:
            rows = []
            for pk, p in sorted(people.update, key=lambda u: u[0]):
                fields = {id_field: p.portal_id, "lms_id": p.lms_id, "updated_at": now}
                rows.append(model(pk=pk, **fields, **{f: getattr(p, f) for f in PERSON_FIELDS}))
            model.objects.bulk_update(rows, [id_field, "lms_id", "updated_at", *PERSON_FIELDS], batch_size=BATCH)
            counts["updated"] += len(rows)
        if people.create:
            new = [
                model(institution=institution, lms_id=p.lms_id, **{id_field: p.portal_id}, **_names(p))
                for p in sorted(people.create, key=lambda p: p.lms_id)
            ]
            model.objects.bulk_create(new, batch_size=BATCH, ignore_conflicts=True)
    if people.create:
        wanted = [p.lms_id for p in people.create]
        made = dict(model.objects.filter(institution=institution, lms_id__in=wanted).values_list("lms_id", "pk"))
        people.pks.update(made)
        counts["created"] += len(made)
        for p in people.create:
            if p.lms_id not in made:  # another course task took this ID for someone else meanwhile
                detail = f"{p.portal_id} already belongs to another person in the portal."
                exclusions.append(Exclusion("duplicate_person_id", "person", p.lms_id, p.label, detail))
                counts["skipped"] += 1


def _names(p: PlannedPerson) -> dict:
    return {f: getattr(p, f) for f in PERSON_FIELDS}


def _write_course(plan: CoursePlan, institution: Institution, changes: Changes, counts: dict) -> None:
    now = timezone.now()
    course = changes.course
    if course is None:
        course = Course.objects.create(institution=institution, **changes.course_fields)
        counts["created"] += 1
    elif changes.course_fields:
        Course.objects.filter(pk=course.pk).update(**changes.course_fields, updated_at=now)
        counts["updated"] += 1
    for section, planned in changes.section_update:
        Section.objects.filter(pk=section.pk).update(
            section_id=planned.section_id, name=planned.name, lms_id=planned.lms_id
        )
        counts["updated"] += 1
    for planned in changes.section_create:
        section = Section.objects.create(
            course=course, section_id=planned.section_id, name=planned.name, lms_id=planned.lms_id
        )
        changes.section_pks[planned.lms_id] = section.pk
        counts["created"] += 1
    takers, admins = changes.takers.pks, changes.admins.pks
    new_enrollments = [
        Enrollment(
            course=course,
            exam_taker_id=takers[lms],
            section_id=None if section is None else changes.section_pks[section],
        )
        for lms, section in changes.enroll_add
        if lms in takers
    ]
    Enrollment.objects.bulk_create(new_enrollments, batch_size=BATCH, ignore_conflicts=True)
    new_admins = [
        CourseAdminEnrollment(course=course, course_admin_id=admins[lms]) for lms in changes.admin_add if lms in admins
    ]
    CourseAdminEnrollment.objects.bulk_create(new_admins, batch_size=BATCH, ignore_conflicts=True)
    counts["created"] += len(new_enrollments) + len(new_admins)
    counts["updated"] += _set_status(Enrollment, changes.enroll_reactivate, ACTIVE, now)
    counts["updated"] += _set_status(CourseAdminEnrollment, changes.admin_reactivate, ACTIVE, now)
    counts["deactivated"] += _set_status(Enrollment, changes.enroll_deactivate, INACTIVE, now)
    counts["deactivated"] += _set_status(CourseAdminEnrollment, changes.admin_deactivate, INACTIVE, now)
    counts["unchanged"] += changes.unchanged


def _set_status(model, pks: list[int], status: str, now) -> int:
    done = 0
    for start in range(0, len(pks), BATCH):
        chunk = pks[start : start + BATCH]
        done += model.objects.filter(pk__in=chunk).exclude(status=status).update(status=status, updated_at=now)
    return done
