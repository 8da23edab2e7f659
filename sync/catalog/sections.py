"""Every live course's sections, with the courses' student counts read between them (Refresh
Courses' second phase: its requests mostly wait on Canvas's latency, so the count pages' cost to
Canvas is spread over it). A course whose sections cannot be read is an issue of the run, and keeps
the sections it had; a token or scope problem, or Canvas failing request after request, ends the
refresh instead."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db.models import QuerySet

from lms_canvas.client import CanvasClient, fetch_concurrently
from lms_canvas.errors import CanvasError, NotFound
from lms_canvas.models import CanvasConnection
from lms_canvas.objects import Course, Section
from sync.catalog import writes
from sync.catalog.listing import MAX_WORKERS, PER_PAGE, RefreshAborted, close_early
from sync.catalog.progress import Progress
from sync.catalog.writes import BATCH_SIZE
from sync.models import CatalogCourse
from sync.runs import issues

# For include[]=total_students Canvas counts every listed course's students (the simulator spends 11 of
# the 16 ms of a page of 100 on it): the courses are listed without it, so they are searchable sooner
# (100,000 courses: 28 s -> 16 s here), and the counts are read page by page in this phase.
COUNT_INCLUDES = ("total_students",)
# This many course section fetches failing in a row (after the client's retries) means Canvas is down.
GIVE_UP_AFTER_FAILURES = 25
PHASE_SECTIONS = "Fetching sections"


@dataclass(frozen=True, slots=True)
class _SectionsOf:
    course_pk: int
    canvas_id: int


@dataclass(frozen=True, slots=True)
class _CountsPage:
    """A numbered page of the account's course list, for its student counts; 0: the whole list by its links."""

    number: int


@dataclass(frozen=True, slots=True)
class _Counts:
    pairs: list[tuple[int, int | None]]  # (Canvas id, total_students)


def fetch_all_sections(
    conn: CanvasConnection, client: CanvasClient, progress: Progress, started: dt.datetime, count_pages: int | None
) -> None:
    """Every live course's sections, and the student counts of the courses' list (`count_pages`
    numbered pages, or None: the whole list by its links) read between them."""
    live = CatalogCourse.objects.filter(institution_id=conn.institution_id, refreshed_at__gte=started).exclude(
        workflow_state="deleted"
    )
    total = live.count()
    progress.beat(phase=PHASE_SECTIONS, done=0, total=total, force=True)
    account = conn.account_ref

    def read(item: _SectionsOf | _CountsPage) -> list[Section] | _Counts:
        if isinstance(item, _SectionsOf):
            return list(client.iter_sections(item.canvas_id))
        if item.number:
            page = client.get_account_courses_page(item.number, account, per_page=PER_PAGE, include=COUNT_INCLUDES)
            return _counted(page.courses)
        return _counted(client.iter_account_courses(account, include=COUNT_INCLUDES))

    counts = [_CountsPage(n) for n in range(1, count_pages + 1)] if count_pages else [_CountsPage(0)]
    sections = (_SectionsOf(pk, canvas_id) for pk, canvas_id in _keyset(live))
    items = _interleaved(sections, counts, max(1, total // len(counts)))
    batch: list[tuple[int, Section]] = []
    counted: list[tuple[int, int | None]] = []
    failed: set[int] = set()
    in_a_row = 0
    done = 0
    results = fetch_concurrently(read, items, max_workers=MAX_WORKERS)
    try:
        for item, result in results:
            if isinstance(result, CanvasError):
                in_a_row = _failed(progress, item, result, in_a_row)
                if isinstance(item, _SectionsOf):
                    failed.add(item.course_pk)
                    done += 1
                continue
            in_a_row = 0
            if isinstance(result, _Counts):
                counted.extend(result.pairs)
                if len(counted) >= BATCH_SIZE:
                    writes.save_course_counts(conn.institution_id, counted)
                    counted = []
                continue
            if isinstance(item, _SectionsOf):
                done += 1
                batch.extend((item.course_pk, s) for s in result)
                progress.saw(result)
            if len(batch) >= BATCH_SIZE:
                progress.sections += writes.save_sections(conn.institution_id, batch, started)
                batch = []
            progress.beat(done=done)
    finally:
        close_early(results)
    progress.sections += writes.save_sections(conn.institution_id, batch, started)
    writes.save_course_counts(conn.institution_id, counted)
    progress.beat(done=done, force=True)
    writes.mark_sections_gone(conn.institution_id, started, exclude_courses=failed)


def _counted(courses: Iterable[Course]) -> _Counts:
    """The courses' student counts; one Canvas left out (include[]=total_students dropped) keeps the
    catalogue's: a missing count is not zero students."""
    return _Counts([(c.id, c.total_students) for c in courses if c.total_students is not None])


def _interleaved(
    sections: Iterator[_SectionsOf], counts: list[_CountsPage], every: int
) -> Iterator[_SectionsOf | _CountsPage]:
    """A count page after every `every` courses' sections (what is left of them at the end), so the
    count pages' cost to Canvas is spread over a phase that mostly waits on its latency."""
    pending = iter(counts)
    for done, item in enumerate(sections, 1):
        yield item
        if done % every == 0:
            page = next(pending, None)
            if page is not None:
                yield page
    yield from pending


def _failed(progress: Progress, item: _SectionsOf | _CountsPage, error: CanvasError, in_a_row: int) -> int:
    """Record what could not be read; a token or scope problem, or Canvas failing on every request in a row,
    ends the refresh instead. Returns the failures in a row."""
    if error.permanent and not isinstance(error, NotFound):
        raise RefreshAborted(error)  # a token or scope problem fails every request alike
    if in_a_row + 1 >= GIVE_UP_AFTER_FAILURES:
        raise RefreshAborted(error)
    if isinstance(item, _SectionsOf):
        _course_failed(progress, item.course_pk, item.canvas_id, error)
    else:
        progress.failed_count_pages += 1
        where = f"page {item.number} of the account's course list" if item.number else "the account's course list"
        issues.record(
            progress.run_id,
            "counts_unreadable",
            message=f"The student counts of the courses on {where} could not be read: {error.message}",
            fix=error.fix,
        )
    return in_a_row + 1


def _course_failed(progress: Progress, course_pk: int, canvas_id: int, error: CanvasError) -> None:
    progress.failed_courses += 1
    issues.record(
        progress.run_id,
        "sections_unreadable",
        object_type="course",
        canvas_id=canvas_id,
        canvas_course_id=canvas_id,
        label=CatalogCourse.objects.filter(pk=course_pk).values_list("name", flat=True).first() or "",
        message=f"The sections of this course could not be read: {error.message}",
        fix=error.fix,
    )


def _keyset(courses: QuerySet[CatalogCourse]) -> Iterator[tuple[int, int]]:
    """(pk, canvas id) of every course, read in chunks so 100,000 courses never sit in memory."""
    last = 0
    while True:
        chunk = list(courses.filter(pk__gt=last).order_by("pk").values_list("pk", "canvas_id")[:BATCH_SIZE])
        if not chunk:
            return
        yield from chunk
        last = chunk[-1][0]
