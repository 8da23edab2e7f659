"""The account's course list, read with many pages in flight (Refresh Courses' first phase).

Canvas numbers this list's pages, so after page 1 the following pages are asked for side by side,
as many as the token's throttle gate lets through; a Canvas that pages by bookmark is read link by
link. The list is never silently partial: a Canvas error, pages that are not what was asked for, or
a list past the safety cap raise RefreshAborted."""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterable, Iterator

from lms_canvas.client import CoursePage, fetch_concurrently
from lms_canvas.errors import CanvasError, UnexpectedResponse
from lms_canvas.objects import Course

PER_PAGE = 100
# More threads than the gate's ceiling (hwm / up-front cost = 14 for Canvas), so the gate decides.
MAX_WORKERS = 20


class RefreshAborted(Exception):
    """Canvas failed in a way that makes going on pointless (token, scope, Canvas down)."""

    def __init__(self, error: CanvasError) -> None:
        self.error = error
        super().__init__(error.message)


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
        close_early(results)
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


def batched(pages: Iterator[list[Course]], size: int, every_s: float) -> Generator[list[Course], None, None]:
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


def close_early(results: Iterator[object]) -> None:
    """Stop fetch_concurrently early: its generator cancels the calls not started and waits for the rest."""
    if isinstance(results, Generator):
        results.close()
