"""Refresh never stops early: Canvas decides the page size (older Canvas caps it at 50), not us; the
account's course pages are fetched many at a time, each course once, and a failure keeps what came first."""

from __future__ import annotations

import threading
import time

import pytest

from lms_canvas.client import CoursePage
from lms_canvas.connect import client_for
from lms_canvas.errors import CanvasUnavailable
from lms_canvas.models import CanvasConfig
from lms_canvas.objects import Course
from sync.catalog import listing as course_listing
from sync.catalog import refresh
from sync.models import CatalogCourse, CatalogSection, RunKind, RunStatus, SyncIssue
from sync.runs import lifecycle
from tests.conftest import connect_to


@pytest.mark.parametrize("max_per_page", [50, 7])
def test_a_canvas_with_smaller_pages_still_gives_every_course(institution_a, make_sim, max_per_page):
    big = make_sim(generate=130)
    big.store.settings["max_per_page"] = max_per_page
    connect_to(institution_a, big)
    CanvasConfig.objects.get_or_create(institution=institution_a)

    run = refresh.run_refresh(lifecycle.create_run(institution_a, RunKind.REFRESH).id)

    assert run.status in (RunStatus.SUCCEEDED, RunStatus.WITH_ISSUES), run.message
    assert CatalogCourse.objects.filter(institution=institution_a).count() == len(big.store.tables["courses"])


# --- the account's course pages, many in flight (CourseListing, no HTTP) ---------------------------

CANVAS = "https://canvas.example.edu/api/v1/accounts/1/courses"


class NumberedList:
    """Canvas's account course list paged by number: a `next` link on every page but the last, `[]` past
    the end. Pages take different times (so they finish out of order) and the calls are counted."""

    def __init__(self, total: int, size: int, *, fail_on: int | None = None) -> None:
        self.total, self.size, self.fail_on = total, size, fail_on
        self.asked: list[int] = []
        self.in_flight = self.peak = 0
        self._lock = threading.Lock()

    def __call__(self, number: int) -> CoursePage:
        with self._lock:
            self.asked.append(number)
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            time.sleep((number * 7919 % 5) / 1000)
            if number == self.fail_on:
                raise CanvasUnavailable(f"Canvas did not answer page {number} (timed out).")
            first = (number - 1) * self.size
            ids = range(first + 1, min(first + self.size, self.total) + 1)
            more = first + self.size < self.total
            return CoursePage(
                number, [course(i) for i in ids], f"{CANVAS}?page={number + 1}&per_page=100" if more else None
            )
        finally:
            with self._lock:
                self.in_flight -= 1


def course(canvas_id: int) -> Course:
    return Course.from_json({"id": canvas_id, "name": f"Course {canvas_id}"})


def not_used() -> list[Course]:
    raise AssertionError("a numbered list is not read link by link")


@pytest.mark.parametrize(("total", "size"), [(1234, 10), (1000, 100), (7, 100), (0, 100)])
def test_numbered_pages_fetched_in_parallel_give_every_course_exactly_once(total, size):
    canvas = NumberedList(total, size)

    listing = course_listing.CourseListing(canvas, not_used, max_pages=10_000)
    ids = [c.id for page in listing for c in page]

    assert sorted(ids) == list(range(1, total + 1))  # each once
    pages = -(-total // size)
    assert listing.pages == max(pages, 1)
    if pages > 2:
        assert canvas.peak > 1
    # Once the end is known no page past it is asked for: at most what was already in flight.
    assert len(canvas.asked) <= max(pages, 1) + 2 * course_listing.MAX_WORKERS


def test_a_list_paged_by_bookmark_is_read_by_following_its_links():
    first = CoursePage(1, [course(1), course(2)], f"{CANVAS}?page=bookmark:WzJd&per_page=2")
    asked = []

    def get_page(number: int) -> CoursePage:
        asked.append(number)
        return first

    listing = course_listing.CourseListing(get_page, lambda: [course(i) for i in range(1, 251)], max_pages=10_000)
    pages = list(listing)

    assert asked == [1]
    assert sorted(c.id for page in pages for c in page) == list(range(1, 251))
    assert listing.pages is None  # not numbered


def test_pages_that_are_not_the_ones_asked_for_stop_the_refresh():
    # A Canvas that ignores `page` answers page 1 (next: page 2) whatever was asked.
    page_one = CoursePage(1, [course(1)], f"{CANVAS}?page=2&per_page=100")

    with pytest.raises(course_listing.RefreshAborted, match="not to the next number"):
        list(course_listing.CourseListing(lambda number: page_one, not_used, max_pages=10_000))


def test_a_list_longer_than_the_page_cap_stops_the_refresh_rather_than_keep_part_of_it():
    endless = NumberedList(10**9, 100)

    with pytest.raises(course_listing.RefreshAborted, match="more than 30 pages"):
        list(course_listing.CourseListing(endless, not_used, max_pages=30))
    assert max(endless.asked) == 30


def test_a_page_failing_mid_way_stops_the_listing_after_what_came_before_it():
    canvas = NumberedList(3000, 100, fail_on=12)
    got: list[int] = []

    with pytest.raises(course_listing.RefreshAborted) as failed:
        for page in course_listing.CourseListing(canvas, not_used, max_pages=10_000):
            got.extend(c.id for c in page)

    assert "page 12" in failed.value.error.message
    assert set(range(1, 101)) <= set(got)  # page 1 at least
    assert len(got) == len(set(got)) and not set(range(1101, 1201)) & set(got)


def test_a_course_page_failing_mid_way_keeps_the_courses_saved_and_marks_nothing_gone(institution_a, make_sim):
    big = make_sim(generate=1100)  # eleven pages: page 9 fails with pages on either side of it
    conn = connect_to(institution_a, big)
    CanvasConfig.objects.get_or_create(institution=institution_a)
    earlier = CatalogCourse.objects.create(institution=institution_a, canvas_id=99_999_999, name="Not in Canvas")
    client = client_for(conn)
    real_page = client.get_account_courses_page

    def page_or_timeout(number, *args, **kwargs):
        if number == 9:
            raise CanvasUnavailable("Canvas did not answer GET /api/v1/accounts/1/courses (timed out).")
        return real_page(number, *args, **kwargs)

    client.get_account_courses_page = page_or_timeout  # type: ignore[method-assign]
    run = lifecycle.create_run(institution_a, RunKind.REFRESH)
    lifecycle.claim(run.id)

    run = refresh.refresh_catalog(conn, run, client)

    assert run.status == RunStatus.FAILED
    saved = CatalogCourse.objects.filter(institution=institution_a).exclude(pk=earlier.pk)
    assert 100 <= saved.count() < 1100
    assert run.counts["courses"] == saved.count()
    assert f"{saved.count()} courses and 0 sections fetched before it stopped are kept" in run.message
    assert "nothing was marked gone" in run.message
    earlier.refresh_from_db()
    assert earlier.gone_at is None
    assert not CatalogSection.objects.filter(institution=institution_a).exists()


def test_a_refresh_asks_for_few_course_pages_past_the_end(institution_a, make_sim):
    big = make_sim(generate=1000)
    connect_to(institution_a, big)
    CanvasConfig.objects.get_or_create(institution=institution_a)

    run = refresh.run_refresh(lifecycle.create_run(institution_a, RunKind.REFRESH).id)

    assert run.status in (RunStatus.SUCCEEDED, RunStatus.WITH_ISSUES), run.message
    asked = big.control("stats")["requests"]["GET /api/v1/accounts/:account_id/courses"]["200"]
    listing, counts = 10, 10  # 1,000 courses: 10 pages listed, then the same 10 for their student counts
    assert listing + counts <= asked <= listing + 2 * course_listing.MAX_WORKERS + counts
    assert CatalogCourse.objects.filter(institution=institution_a).count() == 1000


# --- student counts: not in the listing, read in the sections phase -------------------------------


def _recording(client, *, fail=None, bookmark=False):
    """`client` noting each course-list call's (page or "links", includes); `fail(page, includes)` may
    raise; `bookmark` makes page 1 link to a bookmark, as a Canvas paging the list that way would."""
    calls = []
    page_of, list_all = client.get_account_courses_page, client.iter_account_courses

    def get_page(number, *args, include=(), **kwargs):
        calls.append((number, tuple(include)))
        if fail:
            fail(number, tuple(include))
        page = page_of(number, *args, include=include, **kwargs)
        if bookmark and number == 1:
            return CoursePage(1, page.courses, f"{CANVAS}?page=bookmark:WzFd&per_page=100")
        return page

    def by_links(*args, include=(), **kwargs):
        calls.append(("links", tuple(include)))
        return list_all(*args, include=include, **kwargs)

    client.get_account_courses_page, client.iter_account_courses = get_page, by_links
    return client, calls


def _refresh_with(conn, client):
    run = lifecycle.create_run(conn.institution, RunKind.REFRESH)
    lifecycle.claim(run.id)
    return refresh.refresh_catalog(conn, run, client)


def test_courses_are_listed_without_student_counts_and_the_sections_phase_reads_them(institution_a, make_sim):
    big = make_sim(generate=450)
    conn = connect_to(institution_a, big)
    client, calls = _recording(client_for(conn))

    run = _refresh_with(conn, client)

    assert run.status in (RunStatus.SUCCEEDED, RunStatus.WITH_ISSUES), run.message
    assert {pages for pages, includes in calls if includes == ("term",)} >= {1, 2, 3, 4, 5}
    assert sorted(page for page, includes in calls if includes == ("total_students",)) == [1, 2, 3, 4, 5]
    assert {includes for _, includes in calls} == {("term",), ("total_students",)}
    counted = CatalogCourse.objects.filter(institution=institution_a, total_students__isnull=False)
    assert counted.count() == 450


def test_a_count_page_failing_keeps_those_courses_counts_and_says_so(institution_a, make_sim):
    big = make_sim(generate=450)
    conn = connect_to(institution_a, big)
    _refresh_with(conn, client_for(conn))
    before = dict(CatalogCourse.objects.filter(institution=institution_a).values_list("canvas_id", "total_students"))

    def page_two_of_counts(number, includes):
        if number == 2 and includes == ("total_students",):
            raise CanvasUnavailable("Canvas did not answer GET /api/v1/accounts/1/courses (timed out).")

    client, _ = _recording(client_for(conn), fail=page_two_of_counts)
    run = _refresh_with(conn, client)

    assert run.status == RunStatus.WITH_ISSUES, run.message
    issue = SyncIssue.objects.get(run=run, code="counts_unreadable")
    assert "page 2 of the account's course list" in issue.message and "timed out" in issue.message
    assert "student counts of 1 pages of courses could not be read" in run.message
    after = dict(CatalogCourse.objects.filter(institution=institution_a).values_list("canvas_id", "total_students"))
    assert after == before  # page 2's kept, the others read again (the same)
    assert None not in after.values()
    assert CatalogSection.objects.filter(institution=institution_a, refreshed_at__gte=run.started_at).exists()


def test_a_canvas_paging_by_bookmark_gets_the_counts_by_following_links(institution_a, make_sim):
    big = make_sim(generate=250)
    conn = connect_to(institution_a, big)
    client, calls = _recording(client_for(conn), bookmark=True)

    run = _refresh_with(conn, client)

    assert run.status in (RunStatus.SUCCEEDED, RunStatus.WITH_ISSUES), run.message
    assert calls == [(1, ("term",)), ("links", ("term",)), ("links", ("total_students",))]
    courses = CatalogCourse.objects.filter(institution=institution_a)
    assert courses.count() == 250
    assert not courses.filter(total_students__isnull=True).exists()
