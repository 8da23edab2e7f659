"""Writing what Refresh saw into the catalogue: bulk upserts, marking gone, and reporting sync list
entries whose course or section Canvas no longer has."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable

from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from lms_canvas.objects import Course, Section
from sync.models import CatalogCourse, CatalogSection, SyncListEntry
from sync.runs import issues
from sync.runs.reasons import ReasonCode

BATCH_SIZE = 1000
# Rows per INSERT statement: 500 rows of 16 columns stay under SQLite's 32,766 bound parameters.
ROWS_PER_STATEMENT = 500

COURSE_COLUMNS = [
    "institution_id",
    "canvas_id",
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
SECTION_COLUMNS = [
    "institution_id",
    "canvas_id",
    "course_id",
    "name",
    "sis_section_id",
    "integration_id",
    "nonxlist_course_id",
    "refreshed_at",
    "gone_at",
]
TERM_COLUMNS = {"term_name", "term_start_at", "term_end_at"}
SIS_COLUMNS = {"sis_course_id", "integration_id", "sis_section_id"}
# A row to upsert: the values of COURSE_COLUMNS or SECTION_COLUMNS, in order, ready for the database.
Row = tuple


def save_courses(
    institution_id: int, courses: Iterable[Course], now: dt.datetime, *, counts: bool = True, terms: bool = True
) -> int:
    """Upsert the courses; `counts=False` (they were listed without their student counts) keeps the
    counts the catalogue has (None for a new course) for save_course_counts to set; `terms=False`
    (Canvas dropped include[]=term) keeps the terms it has. A course whose SIS fields Canvas hid
    (the authorizing user's role may not read them) keeps the SIS and Reference IDs it has: hidden
    is not blank."""
    vendor = connection.vendor  # read once: django.db.connection is a proxy, costly per value
    when, refreshed = functools.partial(_parsed_for_db, vendor), _adapted_for_db(vendor, now)
    kept = set() if counts else {"total_students"}
    if not terms:
        kept |= TERM_COLUMNS
    shown: list[Row] = []
    hidden: list[Row] = []
    for c in courses:
        (hidden if c.sis_hidden else shown).append(_course_row(institution_id, c, refreshed, when))
    _upsert(CatalogCourse, COURSE_COLUMNS, shown, keep=kept)
    _upsert(CatalogCourse, COURSE_COLUMNS, hidden, keep=kept | SIS_COLUMNS)
    return len(shown) + len(hidden)


def save_course_counts(institution_id: int, counts: Iterable[tuple[int, int | None]]) -> int:
    """Set the student count of the catalogue's courses from (Canvas id, total_students) pairs; a course
    not in the catalogue is left out (the next refresh lists it). Returns the pairs given."""
    pairs = list(counts)
    qn = connection.ops.quote_name
    table = qn(CatalogCourse._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {table} AS c SET total_students = v.n FROM unnest(%s::bigint[], %s::integer[]) AS v(id, n) "  # noqa: S608
                "WHERE c.institution_id = %s AND c.canvas_id = v.id",
                [[p[0] for p in pairs], [p[1] for p in pairs], institution_id],
            )
            return len(pairs)
        for start in range(0, len(pairs), ROWS_PER_STATEMENT):
            chunk = pairs[start : start + ROWS_PER_STATEMENT]
            values = ", ".join(["(%s, %s)"] * len(chunk))
            cursor.execute(
                f"UPDATE {table} SET total_students = v.column2 FROM (VALUES {values}) AS v "  # noqa: S608
                "WHERE institution_id = %s AND canvas_id = v.column1",
                [*(v for pair in chunk for v in pair), institution_id],
            )
    return len(pairs)


def save_sections(institution_id: int, sections: Iterable[tuple[int, Section]], now: dt.datetime) -> int:
    """`sections` are (catalogue course pk, Canvas section) pairs."""
    refreshed = _adapted_for_db(connection.vendor, now)
    shown: list[Row] = []
    hidden: list[Row] = []
    for course_pk, s in sections:
        (hidden if s.sis_hidden else shown).append(_section_row(institution_id, course_pk, s, refreshed))
    _upsert(CatalogSection, SECTION_COLUMNS, shown)
    _upsert(CatalogSection, SECTION_COLUMNS, hidden, keep=SIS_COLUMNS)
    return len(shown) + len(hidden)


def _course_row(institution_id: int, c: Course, refreshed: object, when: Callable[[str | None], object]) -> Row:
    term = c.term
    return (
        institution_id,
        c.id,
        c.name[:255],
        c.course_code[:255],
        c.sis_course_id[:255],
        c.integration_id[:255],
        c.workflow_state[:20],
        c.account_id,
        term.name[:255] if term else "",
        when(c.start_at),
        when(c.end_at),
        when(term.start_at) if term else None,
        when(term.end_at) if term else None,
        c.total_students,
        refreshed,
        None,
    )


def _section_row(institution_id: int, course_pk: int, s: Section, refreshed: object) -> Row:
    return (
        institution_id,
        s.id,
        course_pk,
        s.name[:255],
        s.sis_section_id[:255],
        s.integration_id[:255],
        s.nonxlist_course_id,
        refreshed,
        None,
    )


def _upsert(model: type[models.Model], columns: list[str], rows: list[Row], *, keep: set[str] | None = None) -> None:
    """INSERT ... ON CONFLICT (institution, canvas id) DO UPDATE, in one transaction.

    On PostgreSQL the rows are COPYed into a temporary table and upserted from it in one statement;
    elsewhere (SQLite) they go as many-row INSERTs. Either way no model instance is built and no value
    compiled per row: at 100,000 courses that work held the GIL the HTTP threads need, and a
    many-row INSERT on PostgreSQL spent as long again parsing its 8,000 placeholders. A key given
    twice keeps its last row (one statement may not change a row twice). `keep`: columns a row already
    there keeps (only a new row takes them from `rows`)."""
    if not rows:
        return
    key = (columns.index("institution_id"), columns.index("canvas_id"))
    rows = list({(row[key[0]], row[key[1]]): row for row in rows}.values())
    qn = connection.ops.quote_name
    table, names = qn(model._meta.db_table), ", ".join(qn(c) for c in columns)
    # Only quoted table and column names go into the text; every value is a bound parameter or COPY data.
    conflict = [qn(columns[i]) for i in key]
    upsert = f" ON CONFLICT ({', '.join(conflict)}) DO UPDATE SET " + ", ".join(
        f"{qn(c)} = EXCLUDED.{qn(c)}" for c in columns if qn(c) not in conflict and c not in (keep or ())
    )
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Created once per database session, emptied after each use (this may run inside a caller's
            # transaction, so a commit cannot be relied on to empty it).
            incoming = qn(f"{model._meta.db_table}_incoming")
            # No wait for the WAL flush at each batch's commit: the run's own rows, committed after these,
            # flush them too, so a refresh that says it finished is durable (one cut short is run again).
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
            like = f"SELECT {names} FROM {table} WITH NO DATA"  # noqa: S608
            cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {incoming} AS {like}")
            with cursor.cursor.copy(f"COPY {incoming} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {incoming}" + upsert)  # noqa: S608
            cursor.execute(f"DELETE FROM {incoming}")  # noqa: S608
            return
        head = f"INSERT INTO {table} ({names}) VALUES "  # noqa: S608
        placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
        for start in range(0, len(rows), ROWS_PER_STATEMENT):
            chunk = rows[start : start + ROWS_PER_STATEMENT]
            cursor.execute(head + ", ".join([placeholders] * len(chunk)) + upsert, [v for row in chunk for v in row])


def prepare_for_search() -> None:
    """After a bulk load on PostgreSQL: fresh planner statistics (else a catalogue that was empty
    at the last ANALYZE is searched by scanning every row) and the trigram indexes' pending entries
    merged (else every search reads them one by one). Autovacuum gets there too, minutes later."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {connection.ops.quote_name(CatalogCourse._meta.db_table)}")
        cursor.execute(
            "SELECT gin_clean_pending_list(indexrelid) FROM pg_index JOIN pg_class ON pg_class.oid = indexrelid "
            "WHERE indrelid = %s::regclass AND relname LIKE %s",
            [CatalogCourse._meta.db_table, "%_trgm"],
        )


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
        code: ReasonCode = "section_gone" if entry.section_id else "course_gone"
        obj = entry.section or entry.course
        issues.record(
            run_id,
            code,
            object_type=what,
            canvas_id=obj.canvas_id,
            canvas_course_id=entry.course.canvas_id,
            label=str(obj.name),
            message=f"This {what} is on the sync list but is "
            f"{'deleted in' if deleted and not gone else 'no longer in'} Canvas.",
            fix="Remove it from the sync list on Edit Sync List, or restore it in Canvas and refresh courses.",
        )
        count += 1
    return count


# A catalogue has a few dozen distinct dates (terms) and one refresh time over 100,000s of rows.
@functools.lru_cache(maxsize=4096)
def _parsed_for_db(vendor: str, value: str | None):
    return _adapted_for_db(vendor, parse_datetime(value)) if value else None


@functools.lru_cache(maxsize=64)
def _adapted_for_db(vendor: str, value: dt.datetime | None):
    """A datetime as the database backend stores it (naive UTC text on SQLite)."""
    return connection.ops.adapt_datetimefield_value(value)
