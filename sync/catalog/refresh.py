"""Refresh Courses: stream the account's courses, then every course's sections, into the catalogue.

Course pages are fetched many at a time (Canvas numbers this list's pages) and land in bulk as they
arrive (searchable at once), then sections are fetched many at a time, with the courses' student
counts read between them; the token's throttle gate (lms_canvas.gates, shared by every worker)
decides how many requests are in flight. A full refresh marks gone what Canvas no longer
lists; it never deletes a catalogue row. Every failure ends the run with what happened and what to
do, and what was already saved is kept.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.utils import timezone

from lms_canvas.client import CanvasClient, CoursePage, fetch_concurrently
from lms_canvas.connect import client_for
from lms_canvas.errors import CanvasError, NotFound, ScopeMissing, TokenInvalid, UnexpectedResponse
from lms_canvas.gates import gate_for
from lms_canvas.models import CanvasConnection
from lms_canvas.objects import Course, Section
from portal.models import Institution
from sync.catalog import writes
from sync.catalog.writes import BATCH_SIZE
from sync.models import (
    CatalogCourse,
    CatalogSection,
    RunKind,
    RunStatus,
    RunTrigger,
    SyncRun,
)
from sync.runs import canvas_view, issues, lifecycle

PER_PAGE = 100
# More threads than the gate's ceiling (hwm / up-front cost = 14 for Canvas), so the gate decides.
MAX_WORKERS = 20
BEAT_EVERY_S = 1.0
# For include[]=total_students Canvas counts every listed course's students (the simulator spends 11 of
# the 16 ms of a page of 100 on it): the courses are listed without it, so they are searchable sooner
# (100,000 courses: 28 s -> 16 s here), and the counts are read page by page in the sections phase,
# whose requests mostly wait on Canvas's latency.
LISTING_INCLUDES = ("term",)
COUNT_INCLUDES = ("total_students",)
# Course pages are written BATCH_SIZE rows at a time (a tenth of the statements, a third of the time
# of a write per page at 100,000 courses), or as soon as a page comes in this long after the last write,
# so the first courses are searchable within a second whatever Canvas's pace.
FLUSH_EVERY_S = 1.0
# This many course section fetches failing in a row (after the client's retries) means Canvas is down.
GIVE_UP_AFTER_FAILURES = 25

PHASE_COURSES = "Fetching courses"
PHASE_SECTIONS = "Fetching sections"
PHASE_GONE = "Marking courses no longer in Canvas"


class RefreshCancelled(Exception):
    pass


class RefreshAborted(Exception):
    """Canvas failed in a way that makes going on pointless (token, scope, Canvas down)."""

    def __init__(self, error: CanvasError) -> None:
        self.error = error
        super().__init__(error.message)


@dataclass
class Progress:
    """Counts for the run row, and throttled heartbeats that also notice a cancel request."""

    run_id: int
    courses: int = 0
    sections: int = 0
    created: int = 0
    gone: int = 0
    failed_courses: int = 0
    failed_count_pages: int = 0
    sis_hidden: bool = False  # some course or section came without its SIS fields (canvas_view)
    sis_shown: bool = False
    last_beat: float = field(default_factory=time.monotonic)

    def beat(
        self, *, phase: str | None = None, done: int | None = None, total: int | None = None, force: bool = False
    ) -> None:
        if not force and time.monotonic() - self.last_beat < BEAT_EVERY_S:
            return
        self.last_beat = time.monotonic()
        if not lifecycle.beat(self.run_id, phase=phase, done=done, total=total):
            raise RefreshCancelled

    def saw(self, objects: Iterable[Course | Section]) -> None:
        for o in objects:
            self.sis_hidden = self.sis_hidden or o.sis_hidden
            self.sis_shown = self.sis_shown or not o.sis_hidden

    def counts(self) -> dict[str, int]:
        return {
            "courses": self.courses,
            "sections": self.sections,
            "created": self.created,
            "updated": max(0, self.courses + self.sections - self.created),
            "deactivated": self.gone,
            "skipped": self.failed_courses,
        }


# --- starting and running (what views, tasks, commands and admin actions call) -------------------

NOT_CONNECTED = (
    "Refresh could not start: the Canvas connection is not Verified. "
    "What to do: open LMS Settings and choose Generate Key (or save a working access token), then refresh."
)
INTERNAL_ERROR = (
    "The refresh stopped on an internal error (recorded for support). What was fetched is kept; "
    "nothing was marked gone. What to do: try again; if it happens again, contact support."
)


def start_refresh(institution: Institution, *, user=None, trigger: RunTrigger = RunTrigger.ADMIN) -> SyncRun:
    """Write the queued run and enqueue the task after commit; raises lifecycle.RunAlreadyActive, or
    lifecycle.QueueUnavailable (the run ended, with why) if the task queue refuses the task."""
    task = lifecycle.task_named("sync.tasks.refresh_catalog_task")
    return lifecycle.start(institution, RunKind.REFRESH, task, trigger=trigger, user=user)


def run_refresh(run_id: int) -> SyncRun | None:
    """The task's body: claim the run and refresh; a task delivered twice does nothing the second time."""
    return lifecycle.run_claimed(
        run_id, lambda conn, run: refresh_catalog(conn, run), not_connected=NOT_CONNECTED, internal_error=INTERNAL_ERROR
    )


def start_course_refresh(
    institution: Institution, canvas_id_or_sis: str, *, user=None, trigger: RunTrigger = RunTrigger.ADMIN
) -> SyncRun:
    """The FAQ's specific course refresh, in a worker like every run: write it, enqueue it on commit."""
    task = lifecycle.task_named("sync.tasks.refresh_course_task")
    params = {"course": canvas_id_or_sis}
    return lifecycle.start(institution, RunKind.COURSE_REFRESH, task, trigger=trigger, user=user, params=params)


def run_course_refresh(run_id: int) -> SyncRun | None:
    """The task's body: claim the run and refresh the one course."""
    return lifecycle.run_claimed(
        run_id,
        lambda conn, run: refresh_one_course(conn, run, run.params.get("course", "")),
        not_connected=NOT_CONNECTED,
        internal_error=INTERNAL_ERROR,
    )


# --- the full refresh -------------------------------------------------------------------------


def refresh_catalog(conn: CanvasConnection, run: SyncRun, client: CanvasClient | None = None) -> SyncRun:
    """Refresh the institution's whole catalogue as `run` (already claimed, status running)."""
    client = client or client_for(conn, throttle=gate_for(conn.id))
    progress = Progress(run.id)
    started = timezone.now()
    before = _catalog_size(conn.institution_id)
    try:
        progress.beat(phase=PHASE_COURSES, done=0, total=None, force=True)
        listing = _fetch_courses(conn, client, progress, started)
        writes.prepare_for_search()
        _set_params(run.id, sections_started_at=timezone.now().isoformat(), courses_fetched=progress.courses)
        _fetch_all_sections(conn, client, progress, started, listing.pages)
        progress.beat(phase=PHASE_GONE, force=True)
        progress.gone = writes.mark_gone(conn.institution_id, started)
        progress.created = _catalog_size(conn.institution_id) - before
    except RefreshCancelled:
        message = (
            f"Cancelled by an admin after {progress.courses} courses and {progress.sections} sections. "
            "What was fetched is kept; nothing was marked gone. What to do: choose Refresh Courses to finish it."
        )
        lifecycle.finish(run.id, RunStatus.CANCELLED, message, progress.counts())
        return _reloaded(run)
    except RefreshAborted as exc:
        lifecycle.finish(run.id, RunStatus.FAILED, failure_message(exc.error, progress), progress.counts())
        return _reloaded(run)
    issues = writes.report_gone_sync_entries(conn.institution_id, run.id, started)
    gaps = _note_gaps(conn, run, client, progress)
    failed = progress.failed_courses or progress.failed_count_pages
    status = RunStatus.WITH_ISSUES if issues or failed or gaps else RunStatus.SUCCEEDED
    lifecycle.finish(run.id, status, summary(progress, issues) + gaps, progress.counts())
    return _reloaded(run)


def _note_gaps(conn: CanvasConnection, run: SyncRun, client: CanvasClient, progress: Progress) -> str:
    """What Canvas left out in silence (includes off, SIS ids hidden), as run-level issues and on
    LMS Settings; returns the words for the run's message ("" when nothing was left out)."""
    canvas_view.note_includes(run.id, conn.institution_id, client.honoured_includes, client.dropped_includes)
    canvas_view.note_sis(run.id, conn.institution_id, hidden=progress.sis_hidden, shown=progress.sis_shown)
    found = canvas_view.found(run.id)
    if not found:
        return ""
    kept = {
        "includes_off": "The courses keep the terms and student counts they had.",
        "sis_hidden": "The courses and sections keep the SIS IDs they had.",
    }
    return "".join(f" {kept[code]}" for code in found) + canvas_view.summary(run.id)


def failure_message(error: CanvasError, progress: Progress) -> str:
    """What happened, what was kept, and what to do, for the admin; never a bare 'failed'."""
    if isinstance(error, TokenInvalid):
        cause = "Canvas refused the portal's access token"
    elif isinstance(error, ScopeMissing):
        cause = f"The developer key does not allow {error.scope or 'a request the refresh needs'}"
    else:
        cause = "Canvas could not be read"
    kept = (
        f"{progress.courses} courses and {progress.sections} sections fetched before it stopped are kept"
        if progress.courses
        else "No courses were fetched"
    )
    return f"Refresh failed: {cause}. {error.message} {kept}; nothing was marked gone. What to do: {error.fix}"


def summary(progress: Progress, issues: int) -> str:
    parts = [f"Fetched {progress.courses} courses and {progress.sections} sections."]
    if progress.gone:
        parts.append(f"{progress.gone} no longer in Canvas were marked gone.")
    if progress.failed_courses:
        parts.append(
            f"The sections of {progress.failed_courses} courses could not be read (see the issues); "
            "refresh again or refresh those courses one by one."
        )
    if progress.failed_count_pages:
        parts.append(
            f"The student counts of {progress.failed_count_pages} pages of courses could not be read (see the "
            "issues); those courses keep the counts of the last refresh."
        )
    if issues:
        parts.append(f"{issues} sync list entries point to courses or sections no longer in Canvas (see the issues).")
    return " ".join(parts)


def _fetch_courses(
    conn: CanvasConnection, client: CanvasClient, progress: Progress, started: dt.datetime
) -> CourseListing:
    account = conn.account_ref
    listing = CourseListing(
        lambda number: client.get_account_courses_page(number, account, per_page=PER_PAGE, include=LISTING_INCLUDES),
        lambda: client.iter_account_courses(account, include=LISTING_INCLUDES),
        max_pages=client.max_pages,
    )
    pages = iter(listing)
    with closing(pages), closing(_batches(pages, BATCH_SIZE, FLUSH_EVERY_S)) as batches:
        for batch in batches:
            terms = "term" not in client.dropped_includes  # dropped: keep the terms the catalogue has
            progress.courses += writes.save_courses(conn.institution_id, batch, started, counts=False, terms=terms)
            progress.saw(batch)
            progress.beat(done=progress.courses)
    progress.beat(done=progress.courses, force=True)
    return listing


class CourseListing:
    """Every course of the account once, page by page, with many pages in flight.

    Page 1 first. When its `next` link is page 2, pages 2, 3, ... are fetched concurrently until the
    first page without a `next` link (pages asked for past it are dropped); Canvas's page size does not
    matter (older Canvas caps it at 50). A Canvas that pages the list by bookmark instead is read link
    by link (`list_all`). Iterating raises RefreshAborted on a Canvas error, or when a page's `next`
    link is not the following number (the pages are not what was asked for), or past `max_pages`
    pages: never a silently partial list. Once read, `pages` is how many numbered pages the list has
    (None when it was read by its links)."""

    def __init__(
        self, get_page: Callable[[int], CoursePage], list_all: Callable[[], Iterable[Course]], *, max_pages: int
    ) -> None:
        self.get_page, self.list_all, self.max_pages = get_page, list_all, max_pages
        self.pages: int | None = None

    def __iter__(self) -> Generator[list[Course], None, None]:
        first = _or_abort(self.get_page, 1)
        yield first.courses
        if first.next_url is None or not first.courses:
            self.pages = 1
            return
        if first.next_number != 2:
            yield from _pages_in_link_order(first, self.list_all)
            return
        self.pages = yield from _numbered_pages(self.get_page, self.max_pages)


def _numbered_pages(get_page: Callable[[int], CoursePage], max_pages: int) -> Generator[list[Course], None, int]:
    """Pages 2, 3, ... concurrently, in the order they come back; returns the number of the last page."""
    last: int | None = None  # the first page without a next link: the end
    received: set[int] = set()

    def numbers() -> Iterator[int]:
        # Read lazily: once the end is known no page past it is asked for (pages past the end come back
        # at once, so asking on would keep every thread busy with them).
        for number in range(2, max_pages + 1):
            if last is not None and number > last:
                return
            yield number

    results = fetch_concurrently(get_page, numbers(), max_workers=MAX_WORKERS)
    try:
        for number, result in results:
            if last is not None and number > last:
                continue  # asked for before the end was known
            if isinstance(result, CanvasError):
                raise RefreshAborted(result)
            if result.next_url is None or not result.courses:
                last = number if last is None else min(last, number)
                received = {n for n in received if n <= last}
            elif result.next_number != number + 1:
                raise RefreshAborted(
                    UnexpectedResponse(
                        f"Canvas's page {number} of the course list links to {result.next_url!r} as the next "
                        "page, not to the next number; stopped rather than risk a partial list."
                    )
                )
            received.add(number)
            yield result.courses
            if last is not None and len(received) == last - 1:
                return last
    finally:
        _close(results)
    raise RefreshAborted(
        UnexpectedResponse(
            f"The account's course list has more than {max_pages} pages (the safety cap max_pages); "
            "stopped rather than keep a partial list."
        )
    )


def _pages_in_link_order(first: CoursePage, list_all: Callable[[], Iterable[Course]]) -> Iterator[list[Course]]:
    """The rest of the list after page 1, read from the start by following Canvas's links."""
    seen = {c.id for c in first.courses}
    page: list[Course] = []
    try:
        for course in list_all():
            if course.id in seen:
                continue
            page.append(course)
            if len(page) >= PER_PAGE:
                yield page
                page = []
    except CanvasError as exc:
        if page:
            yield page
        raise RefreshAborted(exc) from exc
    if page:
        yield page


def _batches(pages: Iterator[list[Course]], size: int, every_s: float) -> Generator[list[Course], None, None]:
    """Pages joined into batches of at least `size` courses, or of what came in `every_s`. What came
    before a RefreshAborted is yielded before it propagates, so it is saved."""
    batch: list[Course] = []
    since = time.monotonic()
    try:
        for page in pages:
            batch.extend(page)
            if len(batch) >= size or time.monotonic() - since >= every_s:
                yield batch
                batch, since = [], time.monotonic()
    except RefreshAborted:
        if batch:
            yield batch
        raise
    if batch:
        yield batch


def _or_abort(func: Callable[[int], CoursePage], arg: int) -> CoursePage:
    try:
        return func(arg)
    except CanvasError as exc:
        raise RefreshAborted(exc) from exc


def _close(results: Iterator[object]) -> None:
    """Stop fetch_concurrently early: its generator cancels the calls not started and waits for the rest."""
    if isinstance(results, Generator):
        results.close()


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


def _fetch_all_sections(
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
        _close(results)
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


# --- one course -------------------------------------------------------------------------------


def refresh_one_course(
    conn: CanvasConnection, run: SyncRun, canvas_id_or_sis: str, client: CanvasClient | None = None
) -> SyncRun:
    """The FAQ's specific course refresh: one course (Canvas id or SIS id) and its sections, now."""
    client = client or client_for(conn, throttle=gate_for(conn.id))
    progress = Progress(run.id)
    started = timezone.now()
    key = course_key(canvas_id_or_sis)
    try:
        lifecycle.beat(run.id, phase="Fetching the course", done=0, total=1)
        course = client.get_course(key, account_id=conn.account_ref)
        dropped = client.dropped_includes
        writes.save_courses(
            conn.institution_id,
            [course],
            started,
            counts="total_students" not in dropped,
            terms="term" not in dropped,
        )
        progress.saw([course])
        progress.courses = 1
        saved = CatalogCourse.objects.get(institution_id=conn.institution_id, canvas_id=course.id)
        if course.workflow_state != "deleted":
            sections = list(client.iter_sections(course.id))
            progress.sections = writes.save_sections(conn.institution_id, [(saved.pk, s) for s in sections], started)
            progress.saw(sections)
        CatalogSection.objects.filter(course=saved, gone_at__isnull=True, refreshed_at__lt=started).update(
            gone_at=started
        )
    except NotFound:
        message = (
            f"Canvas has no course “{canvas_id_or_sis}” in this account (looked up as {key}). "
            "What to do: check the Canvas course id, or the SIS ID exactly as Canvas shows it, and try again."
        )
        lifecycle.finish(run.id, RunStatus.FAILED, message, progress.counts())
        return _reloaded(run)
    except CanvasError as exc:
        lifecycle.finish(run.id, RunStatus.FAILED, failure_message(exc, progress), progress.counts())
        return _reloaded(run)
    message = f"Refreshed “{saved.name}” (Canvas id {saved.canvas_id}) and its {progress.sections} sections."
    gaps = _note_gaps(conn, run, client, progress)
    status = RunStatus.WITH_ISSUES if gaps else RunStatus.SUCCEEDED
    lifecycle.finish(run.id, status, message + gaps, progress.counts())
    run = _reloaded(run)
    run.params = {**run.params, "catalog_course_id": saved.pk}
    SyncRun.objects.filter(id=run.id).update(params=run.params)
    return run


def course_key(value: str) -> str:
    """A bare number is a Canvas id; anything else is an SIS id (already prefixed ones pass through)."""
    value = value.strip()
    if value.isdigit() or value.startswith("sis_course_id:"):
        return value
    return f"sis_course_id:{value}"


# --- helpers ------------------------------------------------------------------------------------


def _catalog_size(institution_id: int) -> int:
    return (
        CatalogCourse.objects.filter(institution_id=institution_id).count()
        + CatalogSection.objects.filter(institution_id=institution_id).count()
    )


def _set_params(run_id: int, **values) -> None:
    run = SyncRun.objects.get(id=run_id)
    SyncRun.objects.filter(id=run_id).update(params={**run.params, **values})


def _reloaded(run: SyncRun) -> SyncRun:
    run.refresh_from_db()
    return run
