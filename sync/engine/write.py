"""The writes of apply: set-based statements only, never one query per row.

People are shared by every course of an institution, so parallel course tasks may create the same
person at the same moment. New people are therefore written with one upsert on the unique
(institution, lms_id) index: both workers succeed, the second one updates the row to the same values,
and neither mistakes the other's row for a duplicate. Everything per course runs in one transaction.
"""

from __future__ import annotations

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from portal.models import Course, CourseAdminEnrollment, Enrollment, EnrollmentStatus, Section
from sync.engine.plan import Exclusion, PlannedPerson

ACTIVE, INACTIVE = EnrollmentStatus.ACTIVE, EnrollmentStatus.INACTIVE
BATCH = 1000
PG_BATCH = 20_000  # rows per statement when the values travel as arrays
PERSON_FIELDS = ("first_name", "last_name", "email")


def write_people(model, institution, batch: list[tuple]) -> None:
    """Update changed people by pk, then upsert new ones, for every (PeopleChanges, counts, exclusions)
    of a batch of courses; fills each `people.pks` for the enrollments."""
    if not batch:
        return
    id_field = batch[0][0].id_field
    now = timezone.now()
    update = {pk: p for people, _, _ in batch for pk, p in people.update}
    if update:
        rows = [
            model(pk=pk, lms_id=p.lms_id, updated_at=now, **{id_field: p.portal_id}, **_names(p))
            for pk, p in sorted(update.items())
        ]
        with transaction.atomic():
            model.objects.bulk_update(rows, [id_field, "lms_id", "updated_at", *PERSON_FIELDS], batch_size=BATCH)
        for people, counts, _ in batch:
            counts["updated"] += len(people.update)
    create = {p.lms_id: p for people, _, _ in batch for p in people.create}
    if not create:
        return
    ordered = [create[lms] for lms in sorted(create)]  # one lock order for every worker
    lost: set[int] = set()
    try:
        with transaction.atomic():
            made = _upsert(model, institution, id_field, ordered, now)
    except IntegrityError:
        # Another Canvas user holds one of these IDs (made by a parallel task, or in this very batch):
        # find which, one at a time; the others are created as usual.
        made = {}
        for person in ordered:
            try:
                with transaction.atomic():
                    made.update(_upsert(model, institution, id_field, [person], now))
            except IntegrityError:
                lost.add(person.lms_id)
    credited: set[int] = set()  # a person new to several courses of the batch counts as created once
    for people, counts, exclusions in batch:
        for person in people.create:
            if person.lms_id in made:
                people.pks[person.lms_id] = made[person.lms_id]
                counts["created"] += person.lms_id not in credited
                credited.add(person.lms_id)
            elif person.lms_id in lost:
                detail = f"{person.portal_id} already belongs to another person in the portal."
                exclusions.append(Exclusion("duplicate_person_id", "person", person.lms_id, person.label, detail))
                counts["skipped"] += 1


def _upsert(model, institution, id_field: str, people: list[PlannedPerson], now) -> dict[int, int]:
    """INSERT ... ON CONFLICT (institution, lms_id) DO UPDATE, returning {Canvas id: pk}."""
    q = connection.ops.quote_name
    columns = ", ".join(q(c) for c in ["institution_id", "lms_id", id_field, *PERSON_FIELDS, "active", "updated_at"])
    conflict = (
        f"ON CONFLICT ({q('institution_id')}, {q('lms_id')}) WHERE {q('lms_id')} IS NOT NULL "
        f"DO UPDATE SET {', '.join(f'{q(c)} = EXCLUDED.{q(c)}' for c in [id_field, *PERSON_FIELDS, 'updated_at'])} "
        f"RETURNING {q('lms_id')}, {q('id')}"
    )
    insert = f"INSERT INTO {q(model._meta.db_table)} ({columns})"
    made: dict[int, int] = {}
    size = PG_BATCH if connection.vendor == "postgresql" else BATCH
    for start in range(0, len(people), size):
        chunk = people[start : start + size]
        if connection.vendor == "postgresql":
            # Five arrays instead of a parameter per value: the statement stays short however many rows.
            rows = (
                "SELECT %s, u.* , true, %s FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[]) u"
            )
            params = [
                institution.pk,
                now,
                *([getattr(p, f) for p in chunk] for f in ("lms_id", "portal_id", *PERSON_FIELDS)),
            ]
        else:
            rows = "VALUES " + ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(chunk))
            params = [v for p in chunk for v in (institution.pk, p.lms_id, p.portal_id, *_names(p).values(), True, now)]
        with connection.cursor() as cursor:
            # Only quoted model column names are interpolated; every value is a parameter.
            cursor.execute(f"{insert} {rows} {conflict}", params)
            made.update(cursor.fetchall())
    return made


def _names(p: PlannedPerson) -> dict:
    return {f: getattr(p, f) for f in PERSON_FIELDS}


def write_courses(institution, batch: list[tuple]) -> None:
    """Courses, sections and enrollments of a batch of (plan, changes, counts), in a few statements.

    The caller holds a transaction; no two plans of one batch are for the same portal course."""
    now = timezone.now()
    new = [(ch, Course(institution=institution, **ch.course_fields)) for _, ch, _ in batch if ch.course is None]
    Course.objects.bulk_create([c for _, c in new])
    for ch, course in new:
        ch.course = course
    created = {id(ch) for ch, _ in new}
    for _, ch, counts in batch:
        if id(ch) in created:
            counts["created"] += 1
        elif ch.course_fields:
            Course.objects.filter(pk=ch.course.pk).update(**ch.course_fields, updated_at=now)
            counts["updated"] += 1
        for section, planned in ch.section_update:
            Section.objects.filter(pk=section.pk).update(
                section_id=planned.section_id, name=planned.name, lms_id=planned.lms_id
            )
            counts["updated"] += 1
    sections = [
        (ch, counts, Section(course=ch.course, section_id=p.section_id, name=p.name, lms_id=p.lms_id))
        for _, ch, counts in batch
        for p in ch.section_create
    ]
    Section.objects.bulk_create([s for _, _, s in sections], batch_size=BATCH)
    for ch, counts, section in sections:
        ch.section_pks[section.lms_id] = section.pk
        counts["created"] += 1
    enrollments, admins = [], []
    for _, ch, counts in batch:
        made = _enrollments(ch)
        course, pks = ch.course.pk, ch.admins.pks
        made_admins = [(course, pks[lms]) for lms in ch.admin_add if lms in pks]
        enrollments += made
        admins += made_admins
        counts["created"] += len(made) + len(made_admins)
        counts["updated"] += len(ch.enroll_reactivate) + len(ch.admin_reactivate)
        counts["deactivated"] += len(ch.enroll_deactivate) + len(ch.admin_deactivate)
        counts["unchanged"] += ch.unchanged
    _insert_new(Enrollment, ["course_id", "section_id", "exam_taker_id"], enrollments, now)
    _insert_new(CourseAdminEnrollment, ["course_id", "course_admin_id"], admins, now)
    for model, attr, status in (
        (Enrollment, "enroll_reactivate", ACTIVE),
        (CourseAdminEnrollment, "admin_reactivate", ACTIVE),
        (Enrollment, "enroll_deactivate", INACTIVE),
        (CourseAdminEnrollment, "admin_deactivate", INACTIVE),
    ):
        set_status(model, [pk for _, ch, _ in batch for pk in getattr(ch, attr)], status, now)


def _enrollments(ch) -> list[tuple]:
    takers, sections, course = ch.takers.pks, ch.section_pks, ch.course.pk
    return [
        (course, None if section is None else sections[section], takers[lms])
        for lms, section in ch.enroll_add
        if lms in takers
    ]


def _insert_new(model, columns: list[str], rows: list[tuple], now) -> None:
    """Insert active enrollment rows, skipping any that exist (ON CONFLICT DO NOTHING)."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        objs = [model(**dict(zip(columns, row, strict=True))) for row in rows]
        model.objects.bulk_create(objs, batch_size=BATCH, ignore_conflicts=True)
        return
    q = connection.ops.quote_name
    arrays = ", ".join(["%s::bigint[]"] * len(columns))
    sql = (
        f"INSERT INTO {q(model._meta.db_table)} ({', '.join(q(c) for c in columns)}, {q('status')}, "  # noqa: S608
        f"{q('updated_at')}) SELECT u.*, %s, %s FROM unnest({arrays}) u ON CONFLICT DO NOTHING"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(rows), PG_BATCH):
            chunk = rows[start : start + PG_BATCH]
            cursor.execute(sql, [ACTIVE, now, *(list(col) for col in zip(*chunk, strict=True))])


def set_status(model, pks: list[int], status: str, now) -> int:
    done = 0
    for start in range(0, len(pks), BATCH):
        chunk = pks[start : start + BATCH]
        done += model.objects.filter(pk__in=chunk).exclude(status=status).update(status=status, updated_at=now)
    return done
