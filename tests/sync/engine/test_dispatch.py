"""How a sync's courses reach the workers: batches that keep a Canvas course together, and a queue that
serves every institution's run in turn."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from portal.models import Institution
from sync.engine import batch, dispatch
from sync.models import (
    OPEN_RESULT_STATUSES,
    CatalogCourse,
    CourseResultStatus,
    RunKind,
    RunStatus,
    RunTrigger,
    SyncCourseResult,
    SyncListEntry,
    SyncRun,
)
from sync.runs import lifecycle
from tests.conftest import connect_to
from tests.sync.engine_helpers import add_entry, catalog_from_sim, sync


@given(st.lists(st.integers(min_value=1, max_value=40), max_size=300))
def test_entries_of_one_canvas_course_always_share_a_batch(course_ids):
    numbers = dispatch.assign_batches(course_ids)
    batch_of: dict[int, int] = {}
    for course, number in zip(course_ids, numbers, strict=True):
        assert batch_of.setdefault(course, number) == number
    if course_ids:
        assert sorted(set(numbers)) == list(range(1, max(numbers) + 1))  # no gaps: each number is sent once


def test_a_batch_is_the_configured_size_and_a_small_run_still_spreads(settings):
    settings.SYNC_BATCH_COURSES, settings.SYNC_BATCHES_IN_FLIGHT = 50, 2
    assert dispatch.batch_size(3000) == 50
    assert dispatch.batch_size(40) == 20  # 2 batches read side by side: done in one turn of the queue
    assert dispatch.batch_size(3) == 2
    numbers = dispatch.assign_batches(list(range(1, 3001)))
    assert max(numbers) == 60 and max(numbers.count(n) for n in set(numbers)) == 50


def test_a_run_with_few_batches_left_goes_first(settings):
    settings.SYNC_BATCHES_IN_FLIGHT = 2
    assert [dispatch.priority(left) for left in (1, 2, 3, 8, 9, 32, 33, 60)] == [0, 0, 3, 3, 6, 6, 9, 9]


class Nightly:
    """Batches on worker processes, step by step: `slots` processes take the queue's lowest priority
    first, in order of arrival within it (Redis); a batch's courses are read at the pace of its token,
    whose budget the run's batches reading at the same time share (a run's one batch reads as fast as
    its two would together); each batch sends through `dispatch` as `batch.sync_batch` does, in its
    last quarter and at its end. Times are in units of one 50-course batch read with a whole budget."""

    STEP = 0.02

    def __init__(self, monkeypatch, slots: int = 8) -> None:
        self.slots, self.now = slots, 0.0
        self.queue: list[tuple[int, int, int, int]] = []  # (priority, arrival, run, batch)
        self.reading: dict[tuple[int, int], list[float]] = {}  # (run, batch) -> [work left, work]
        self.tailed: set[tuple[int, int]] = set()
        self.ended: dict[int, float] = {}
        self.most_in_flight: dict[int, int] = {}
        arrivals = iter(range(100_000))
        monkeypatch.setattr(
            dispatch,
            "_send",
            lambda run_id, number, q, priority: self.queue.append((priority, next(arrivals), run_id, number)),
        )

    def start(self, slug: str, courses: int) -> int:
        institution = Institution.objects.create(name=slug, slug=slug)
        run = lifecycle.create_run(institution, RunKind.SYNC, trigger=RunTrigger.NIGHTLY)
        numbers = dispatch.assign_batches(list(range(courses)))
        SyncCourseResult.objects.bulk_create(
            SyncCourseResult(run=run, canvas_course_id=n, label=f"{slug} {n}", batch=b) for n, b in enumerate(numbers)
        )
        SyncRun.objects.filter(id=run.id).update(batch_count=max(numbers))
        dispatch.send_first(run.id)
        return run.id

    def run(self) -> dict[int, float]:
        while self.queue or self.reading:
            self._take()
            self._read()
        return self.ended

    def _take(self) -> None:
        while self.queue and len(self.reading) < self.slots:
            self.queue.sort()
            _, _, run_id, number = self.queue.pop(0)
            results = SyncCourseResult.objects.filter(run_id=run_id, batch=number)
            results.update(status=CourseResultStatus.RUNNING)
            work = results.count() / 50
            self.reading[(run_id, number)] = [work, work]
            # In flight: queued or reading, not writing its last courses (dispatch's count).
            mine = sum(1 for k in self.reading if k[0] == run_id and k not in self.tailed)
            mine += sum(1 for q in self.queue if q[2] == run_id)
            self.most_in_flight[run_id] = max(self.most_in_flight.get(run_id, 0), mine)

    def _read(self) -> None:
        self.now += self.STEP
        sharing: dict[int, int] = {}
        for run_id, _ in self.reading:
            sharing[run_id] = sharing.get(run_id, 0) + 1
        for key, left in list(self.reading.items()):
            run_id, number = key
            left[0] -= self.STEP / sharing[run_id]
            if key not in self.tailed and left[0] <= left[1] / 4:
                self.tailed.add(key)
                dispatch.send_next(run_id, done=number)
            if left[0] <= 0:
                del self.reading[key]
                SyncCourseResult.objects.filter(run_id=run_id, batch=number).update(status=CourseResultStatus.APPLIED)
                dispatch.send_next(run_id, done=number, tail=False)
                if not SyncCourseResult.objects.filter(run_id=run_id, status__in=OPEN_RESULT_STATUSES).exists():
                    SyncRun.objects.filter(id=run_id).update(status=RunStatus.SUCCEEDED)
                    self.ended[run_id] = self.now


@pytest.mark.django_db
def test_a_run_alone_keeps_two_batches_reading_and_sends_the_next_before_a_batch_ends(settings, monkeypatch):
    settings.SYNC_BATCH_COURSES, settings.SYNC_BATCHES_IN_FLIGHT = 50, 2
    night = Nightly(monkeypatch)
    large = night.start("large", 2000)
    ended = night.run()

    assert SyncRun.objects.get(id=large).batches_sent == 40
    assert night.most_in_flight[large] == 2
    assert ended[large] == pytest.approx(40, rel=0.01)  # the token busy throughout: 40 batches' worth


@pytest.mark.django_db
def test_at_2am_every_small_institution_is_done_within_twice_its_time_alone(settings, monkeypatch):
    """A 2,000-course institution and ten of 50 start together, the large one first, on compose's 8
    worker processes. Each small one is done within twice its time alone, and the whole within 1.3x
    the large one's time alone; the large one reads one batch at a time while the others are active."""
    settings.SYNC_BATCH_COURSES, settings.SYNC_BATCHES_IN_FLIGHT = 50, 2
    times_alone = []
    for slug, courses in (("small-alone", 50), ("large-alone", 2000)):
        alone = Nightly(monkeypatch)
        run_id = alone.start(slug, courses)
        times_alone.append(alone.run()[run_id])
    small_alone, large_alone = times_alone

    night = Nightly(monkeypatch)
    large = night.start("large", 2000)
    small = [night.start(f"small-{n}", 50) for n in range(10)]
    ended = night.run()

    assert small_alone == pytest.approx(1.0, abs=0.05)  # two batches of 25, side by side
    worst = max(ended[run] for run in small) / small_alone
    assert worst <= 2, worst
    assert ended[large] / large_alone <= 1.3
    assert all(night.most_in_flight[run] == 1 for run in small)  # their second batch after the first
    assert SyncRun.objects.get(id=large).batches_sent == 40


@pytest.mark.django_db
def test_a_course_and_one_of_its_sections_both_listed_sync_together(connected, sim, institution_a, settings):
    """Both entries write the same portal course: in one batch, one task writes it once (two tasks
    racing to create it failed the section with an IntegrityError)."""
    settings.SYNC_BATCHES_IN_FLIGHT = 1
    catalog_from_sim(institution_a, sim)
    whole = add_entry(institution_a, 501)
    one_section = add_entry(institution_a, 501, section_id=801)

    run = sync(institution_a)

    results = {r.entry_id: r for r in run.course_results.all()}
    assert results[whole.id].batch == results[one_section.id].batch
    assert {r.status for r in results.values()} == {"applied"}, [r.message for r in results.values()]
    assert not run.issues.filter(code="internal_error").exists()


def _sync_run(slug: str, *, batches: int, sent: int, status: RunStatus = RunStatus.RUNNING, beat_ago: float = 0):
    institution = Institution.objects.create(name=slug, slug=slug)
    run = lifecycle.create_run(institution, RunKind.SYNC, trigger=RunTrigger.NIGHTLY)
    beat = timezone.now() - dt.timedelta(seconds=beat_ago) if status == RunStatus.RUNNING else None
    SyncRun.objects.filter(id=run.id).update(batch_count=batches, batches_sent=sent, status=status, heartbeat_at=beat)
    return run.id


@pytest.mark.django_db
def test_a_long_run_yields_while_a_shorter_one_is_active_and_alive(settings):
    settings.SYNC_BATCHES_IN_FLIGHT = 2
    large = _sync_run("large", batches=40, sent=2)
    assert not dispatch.yields_to_shorter(large)  # alone: it reads at its token's full pace

    small = _sync_run("small", batches=2, sent=0, status=RunStatus.QUEUED)  # waiting for a worker process
    assert dispatch.yields_to_shorter(large)
    assert not dispatch.yields_to_shorter(small)  # the short one never yields
    other_large = _sync_run("other-large", batches=30, sent=1)
    assert not dispatch.yields_to_shorter(small) and dispatch.yields_to_shorter(other_large)

    SyncRun.objects.filter(id=small).update(status=RunStatus.RUNNING, heartbeat_at=timezone.now())
    assert dispatch.yields_to_shorter(large)
    # Its worker died (no heartbeat): the large one stops waiting for it well before the reaper ends it.
    SyncRun.objects.filter(id=small).update(heartbeat_at=timezone.now() - dt.timedelta(seconds=dispatch.ALIVE_S + 1))
    assert not dispatch.yields_to_shorter(large)
    SyncRun.objects.filter(id=small).update(heartbeat_at=timezone.now(), status=RunStatus.SUCCEEDED)
    assert not dispatch.yields_to_shorter(large)  # ended: full pace again

    # In its own last turn a long run is the shorter one: the other large one yields to it, not it to anyone.
    SyncRun.objects.filter(id=large).update(batches_sent=38)
    assert not dispatch.yields_to_shorter(large) and dispatch.yields_to_shorter(other_large)


def test_a_narrow_width_lets_one_course_read_at_a_time_and_a_wide_one_all():
    narrow = {"now": True}
    width = batch.Width(lambda: narrow["now"], clock=iter(range(0, 10_000, 10)).__next__)
    reading, most = [0], [0]
    lock = threading.Lock()

    def read(together: threading.Barrier | None = None) -> None:
        with width.turn():
            with lock:
                reading[0] += 1
                most[0] = max(most[0], reading[0])
            if together:
                together.wait(timeout=5)  # all four inside at once, or BrokenBarrierError
            time.sleep(0.02)
            with lock:
                reading[0] -= 1

    def four(together: threading.Barrier | None = None) -> None:
        threads = [threading.Thread(target=read, args=(together,)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=10)

    width.check()
    four()
    assert most[0] == 1

    narrow["now"], most[0] = False, 0
    width.check()
    four(threading.Barrier(4))
    assert most[0] == 4


def test_a_narrow_batch_widens_as_soon_as_it_checks_again():
    narrow = {"now": True}
    width = batch.Width(lambda: narrow["now"], clock=iter(range(0, 10_000, 10)).__next__)
    width.check()
    entered = threading.Event()

    def next_course() -> None:
        with width.turn():
            entered.set()

    with width.turn():
        waiting = threading.Thread(target=next_course)
        waiting.start()
        assert not entered.wait(0.1)  # one course reading: the next waits its turn
        narrow["now"] = False
        width.check()
        assert entered.wait(5)  # widened: it reads beside the first
    waiting.join(timeout=5)


@pytest.mark.django_db
def test_a_batch_of_a_yielding_run_reads_its_courses_one_at_a_time(institution_a, make_sim, monkeypatch, settings):
    """The batch task itself: while its run yields to a shorter one, Canvas sees one request at a time
    (a course's requests are sequential); otherwise many."""
    # More than one turn of batches (a run that fits in one never yields); eager: one batch at a time.
    settings.SYNC_BATCHES_IN_FLIGHT, settings.SYNC_BATCH_COURSES = 1, 12
    peaks = {}
    for yields in (False, True):
        canvas = make_sim(generate=24, latency_ms=10)
        connect_to(institution_a, canvas)
        catalog_from_sim(institution_a, canvas)
        SyncListEntry.objects.filter(institution=institution_a).delete()
        for course in CatalogCourse.objects.filter(institution=institution_a, workflow_state="available"):
            add_entry(institution_a, course.canvas_id)
        monkeypatch.setattr(batch, "yields_to_shorter", lambda run_id, yields=yields: yields)

        run = sync(institution_a)

        assert run.status in (RunStatus.SUCCEEDED, RunStatus.WITH_ISSUES), run.message
        assert not run.course_results.filter(status=CourseResultStatus.FAILED).exists()
        peaks[yields] = canvas.control("stats")["peak_concurrent"]
    assert peaks[True] == 1 and peaks[False] > 2, peaks


@pytest.mark.django_db
def test_a_run_that_fits_in_one_turn_never_asks_whether_to_yield(connected, sim, institution_a, settings):
    """Its batches would only ever hear no (what it has left never exceeds one turn): no statement for it."""
    settings.SYNC_BATCHES_IN_FLIGHT = 2
    catalog_from_sim(institution_a, sim)
    for course in CatalogCourse.objects.filter(institution=institution_a, workflow_state="available"):
        add_entry(institution_a, course.canvas_id)
    with CaptureQueriesContext(connection) as queries:
        run = sync(institution_a)

    assert run.batch_count <= settings.SYNC_BATCHES_IN_FLIGHT and run.total > 1
    assert not [q for q in queries if '"batch_count" - "sync_syncrun"."batches_sent"' in q["sql"]]
