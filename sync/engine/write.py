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
    of a batch of courses; fills each `people.pks` for the enrollments.

    Counts are of rows this statement really changed: a person updated or created here is counted
    once, in the first course of the batch that has them, and a person another worker created or
    updated a moment earlier (planned as new or changed from an older read) is not counted again."""
    if not batch:
        return
    id_field = batch[0][0].id_field
    now = timezone.now()
    update = {pk: p for people, _, _ in batch for pk, p in people.update}
    if update:
        with transaction.atomic():
            changed = _update_changed(model, id_field, sorted(update.items()), now)
        _credit(batch, "updated", changed, lambda people: (pk for pk, _ in people.update))
    create = {p.lms_id: p for people, _, _ in batch for p in people.create}
    if not create:
        return
    ordered = [create[lms] for lms in sorted(create)]  # one lock order for every worker
    lost: set[int] = set()
    try:
        with transaction.atomic():
            made, inserted = _upsert(model, institution, id_field, ordered, now)
    except IntegrityError:
        # Another Canvas user holds one of these IDs (made by a parallel task, or in this very batch):
        # find which, one at a time; the others are created as usual.
        made, inserted = {}, set()
        for person in ordered:
            try:
                with transaction.atomic():
                    one, new = _upsert(model, institution, id_field, [person], now)
                made.update(one)
                inserted |= new
            except IntegrityError:
                lost.add(person.lms_id)
    _credit(batch, "created", inserted, lambda people: (p.lms_id for p in people.create))
    for people, counts, exclusions in batch:
        for person in people.create:
            if person.lms_id in made:
                people.pks[person.lms_id] = made[person.lms_id]
            elif person.lms_id in lost:
                detail = f"{person.portal_id} already belongs to another person in the portal."
                exclusions.append(Exclusion("duplicate_person_id", "person", person.lms_id, person.label, detail))
                counts["skipped"] += 1


def _credit(batch: list[tuple], name: str, keys: set[int], keys_of) -> None:
    """Add each key (a person) to `name` of the first course of the batch that lists it, once."""
    credited: set[int] = set()
    for people, counts, _ in batch:
        mine = {k for k in keys_of(people) if k in keys} - credited
        counts[name] += len(mine)
        credited |= mine


def _update_changed(model, id_field: str, rows: list[tuple[int, PlannedPerson]], now) -> set[int]:
    """Write each person's planned ID and names where they differ from the row; the pks changed."""
    columns = [id_field, "lms_id", *PERSON_FIELDS]
    if connection.vendor != "postgresql":
        changed: set[int] = set()
        for pk, p in rows:
            values = {id_field: p.portal_id, "lms_id": p.lms_id, **_names(p)}
            if model.objects.filter(pk=pk).exclude(**values).update(**values, updated_at=now):
                changed.add(pk)
        return changed
    q = connection.ops.quote_name
    table = q(model._meta.db_table)
    sets = ", ".join(f"{q(c)} = u.{q(c)}" for c in columns)
    differs = " OR ".join(f"t.{q(c)} IS DISTINCT FROM u.{q(c)}" for c in columns)
    names = ", ".join(["pk", *(q(c) for c in columns)])
    # Only quoted model column names are interpolated; every value is a parameter.
    sql = (
        f"UPDATE {table} t SET {sets}, {q('updated_at')} = %s "  # noqa: S608
        f"FROM unnest(%s::bigint[], %s::text[], %s::bigint[], %s::text[], %s::text[], %s::text[]) AS u({names}) "
        f"WHERE t.{q('id')} = u.pk AND ({differs}) RETURNING t.{q('id')}"
    )
    changed = set()
    with connection.cursor() as cursor:
        for start in range(0, len(rows), PG_BATCH):
            chunk = rows[start : start + PG_BATCH]
            arrays = [
                [pk for pk, _ in chunk],
                *([getattr(p, f) for _, p in chunk] for f in ("portal_id", "lms_id", *PERSON_FIELDS)),
            ]
            cursor.execute(sql, [now, *arrays])
            changed.update(pk for (pk,) in cursor.fetchall())
    return changed


def _upsert(model, institution, id_field: str, people: list[PlannedPerson], now) -> tuple[dict[int, int], set[int]]:
    """INSERT ... ON CONFLICT (institution, lms_id) DO UPDATE: {Canvas id: pk}, and the Canvas ids
    of the rows this statement inserted (not those a parallel task had just inserted)."""
    q = connection.ops.quote_name
    columns = ", ".join(q(c) for c in ["institution_id", "lms_id", id_field, *PERSON_FIELDS, "active", "updated_at"])
    # PostgreSQL: a row this statement inserted has xmax 0; one it updated on conflict does not.
    inserted_flag = ", (xmax = 0)" if connection.vendor == "postgresql" else ""
    conflict = (
        f"ON CONFLICT ({q('institution_id')}, {q('lms_id')}) WHERE {q('lms_id')} IS NOT NULL "
        f"DO UPDATE SET {', '.join(f'{q(c)} = EXCLUDED.{q(c)}' for c in [id_field, *PERSON_FIELDS, 'updated_at'])} "
        f"RETURNING {q('lms_id')}, {q('id')}{inserted_flag}"
    )
    insert = f"INSERT INTO {q(model._meta.db_table)} ({columns})"
    made: dict[int, int] = {}
    inserted: set[int] = set()
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
            # SQLite writes one transaction at a time: the rows already there now are the ones not inserted.
            existing = set(
                model.objects.filter(institution=institution, lms_id__in=[p.lms_id for p in chunk]).values_list(
                    "lms_id", flat=True
                )
            )
            inserted |= {p.lms_id for p in chunk} - existing
            rows = "VALUES " + ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(chunk))
            params = [v for p in chunk for v in (institution.pk, p.lms_id, p.portal_id, *_names(p).values(), True, now)]
        with connection.cursor() as cursor:
            # Only quoted model column names are interpolated; every value is a parameter.
            cursor.execute(f"{insert} {rows} {conflict}", params)
            for lms_id, pk, *new in cursor.fetchall():
                made[lms_id] = pk
                if new and new[0]:
                    inserted.add(lms_id)
    return made, inserted


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
