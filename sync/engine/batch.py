"""One batch of a sync run, as one Celery task: claim its courses, read them from Canvas many at a
time, write them in bulk, and end the run if this was the last. The run's next batch is sent when
only the last quarter of this one's courses is still being read (dispatch.py says why and how many).

Reading a course is waiting on Canvas (three or more round trips), writing it is a few statements,
so the two are split: threads plan the batch's courses concurrently under the token's throttle gate
(the gate, shared by every worker process through Redis, decides how many requests reach Canvas at
once, not the thread count), and this thread applies finished plans together with `apply_plans`,
about a dozen statements per group of courses instead of a dozen per course. While a shorter run is
under way, a long run's batch reads one course at a time (`Width`; dispatch.py says why).

A course claimed by a task is not claimed again unless its claim is older than the heartbeat timeout
(its worker died), so a batch delivered twice does nothing the second time.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from lms_canvas.client import CanvasClient
from lms_canvas.errors import CanvasError
from lms_canvas.gates import gate_for
from lms_canvas.http import session_for
from lms_canvas.models import CanvasConfig, CanvasConnection
from lms_canvas.oauth import ConnectionTokens
from lms_canvas.throttle import fetch_concurrently
from sync.engine.apply import apply_plans
from sync.engine.dispatch import YIELD_WIDTH, may_yield, send_next_safely, yields_to_shorter
from sync.engine.plan import CoursePlan, SisHidden, plan_entry
from sync.engine.runner import (
    access_lost,
    close,
    finalize_run,
    preview,
    record_failure,
    record_outcome,
    record_outcomes,
)
from sync.models import ACTIVE_STATUSES, CourseResultStatus, SyncCourseResult, SyncRun
from sync.runs import canvas_view, lifecycle

APPLY_EVERY_S = 1.0  # finished plans are written at least this often, so progress moves while Canvas is slow
MAX_THREADS = 64
YIELD_CHECK_S = 0.25  # how often a batch asks whether its run yields to a shorter one (dispatch.py)

Planned = CoursePlan | Exception


def sync_batch(run_id: int, number: int, *, queue: str | None = None) -> None:
    """The body of `sync_batch_task`: every open course of batch `number` of run `run_id`; the run's
    next batch goes to `queue` (the one this came from; None: the default)."""
    lifecycle.claim(run_id)
    results = _claim(run_id, number)
    run = SyncRun.objects.select_related("institution").get(id=run_id)
    if results:
        if run.status not in ACTIVE_STATUSES or run.cancel_requested:
            _close_all(run, results, CourseResultStatus.CANCELLED, "Cancelled before this course was synced.")
        elif lost := access_lost(run.id):
            # Canvas refused the token earlier in this run: every other course would fail the same way.
            # Not attempted, so skipped rather than failed: the run's one access issue says why.
            text = f"Not synced: Canvas access was lost earlier in this run. {lost.message} What to do: {lost.fix}"
            _close_all(run, results, CourseResultStatus.SKIPPED, text)
        else:
            _sync(run, results, lambda: send_next_safely(run_id, queue, done=number))
    send_next_safely(run_id, queue, done=number, tail=False)
    finalize_run(run_id)


def _claim(run_id: int, number: int) -> list[SyncCourseResult]:
    now = timezone.now()
    # A course claimed this long ago and never finished died with its worker: a redelivery takes it over.
    claimable = Q(status=CourseResultStatus.PENDING) | Q(
        status=CourseResultStatus.RUNNING, claimed_at__lt=now - lifecycle.heartbeat_timeout()
    )
    mine = SyncCourseResult.objects.filter(run_id=run_id, batch=number)
    if not mine.filter(claimable).update(status=CourseResultStatus.RUNNING, claimed_at=now):
        return []
    claimed = mine.filter(status=CourseResultStatus.RUNNING, claimed_at=now)
    return list(claimed.select_related("entry__course", "entry__section").order_by("id"))


def _close_all(run: SyncRun, results: list[SyncCourseResult], status: str, message: str) -> None:
    for result in results:
        close(result, status, message)
    lifecycle.add_progress(run.id, len(results))


def _sync(run: SyncRun, results: list[SyncCourseResult], nearly_done: Callable[[], None]) -> None:
    """Read and write the batch's courses; `nearly_done` is called once, when only the last quarter
    of them is still being read from Canvas (the run's next batch goes then: dispatch's docstring)."""
    removed = [r for r in results if r.entry is None]
    _close_all(run, removed, CourseResultStatus.SKIPPED, "Removed from the sync list before it was synced.")
    live = [r for r in results if r.entry is not None]
    conn = CanvasConnection.objects.get(institution=run.institution)
    config = CanvasConfig.objects.get(institution=run.institution)
    gate = gate_for(conn.id)
    tokens = ConnectionTokens(conn.id)
    try:
        # The token is read (and refreshed if it is due) once, here, before the threads start: they
        # share it instead of racing to refresh it.
        tokens.access_token()
    except CanvasError as exc:
        for result in live:
            result.run = run
            record_failure(result, run, exc)
        lifecycle.add_progress(run.id, len(live))
        return
    # The process's session of this connection: the previous batch's keep-alive connections to Canvas.
    client = CanvasClient(conn.server_url, tokens, throttle=gate, session=session_for(conn.server_url, conn.id))

    width = Width((lambda: yields_to_shorter(run.id)) if may_yield(run) else (lambda: False))

    def plan(result: SyncCourseResult) -> Planned:
        entry = result.entry
        if entry is None:  # only listed courses reach here (removed ones were closed above)
            return ValueError(f"{result.label} is no longer on the sync list.")
        try:
            # No heartbeat from here: this thread writes nothing (only a token refresh does), so it never
            # waits on a database lock; the calling thread beats with each course it records.
            with width.turn():
                return plan_entry(client, config, entry, account_id=conn.account_ref, server_url=conn.server_url)
        except Exception as exc:  # noqa: BLE001 - recorded against its course by the calling thread
            return exc
        finally:
            connection.close()  # a token refresh may have used this thread's database connection

    # Enough threads that the gate, not the pool, limits the requests in flight: twice its maximum,
    # since a thread spends part of each course parsing and mapping, not waiting on Canvas.
    threads = min(MAX_THREADS, 2 * int(getattr(gate, "max_limit", 14)))
    pending: list[tuple[SyncCourseResult, CoursePlan]] = []
    seen = {"hidden": False, "shown": False, "logins": False}
    flushed = time.monotonic()
    tail = len(live) // 4
    width.check()
    for done, (result, planned) in enumerate(fetch_concurrently(plan, live, max_workers=threads), 1):
        width.check()
        if done == len(live) - tail:
            nearly_done()
        result.run = run
        if isinstance(planned, BaseException):
            record_failure(result, run, planned)
            lifecycle.add_progress(run.id)
        else:
            pending.append((result, planned))
        if pending and time.monotonic() - flushed > APPLY_EVERY_S:
            _write(run, pending)
            pending, flushed = [], time.monotonic()
        _saw(seen, planned)
    _write(run, pending)
    canvas_view.note_includes(run.id, run.institution_id, client.honoured_includes, client.dropped_includes)
    canvas_view.note_sis(
        run.id, run.institution_id, hidden=bool(seen["hidden"]), shown=seen["shown"], logins=seen["logins"]
    )


class Width:
    """How many of the batch's courses its threads read at once: all of them, or YIELD_WIDTH while
    `narrow()` says the run yields to a shorter one. The batch's own thread asks (`check`, at most
    every YIELD_CHECK_S: it holds the database connection); the reading threads wait their `turn`."""

    def __init__(self, narrow: Callable[[], bool], *, clock: Callable[[], float] = time.monotonic) -> None:
        self._narrow_now = narrow
        self._clock = clock
        self._checked = -math.inf
        self.narrow = False
        self.reading = 0
        self._changed = threading.Condition()

    def check(self) -> None:
        if self._clock() - self._checked < YIELD_CHECK_S:
            return
        self._checked = self._clock()
        narrow = self._narrow_now()
        with self._changed:
            self.narrow = narrow
            self._changed.notify_all()

    @contextmanager
    def turn(self) -> Iterator[None]:
        with self._changed:
            while self.narrow and self.reading >= YIELD_WIDTH:
                self._changed.wait()
            self.reading += 1
        try:
            yield
        finally:
            with self._changed:
                self.reading -= 1
                self._changed.notify_all()


def _saw(seen: dict, planned: Planned) -> None:
    """Whether Canvas showed this course's SIS fields, for the status card (canvas_view.note_sis)."""
    if isinstance(planned, SisHidden) and planned.what == "login":  # the status card says which is hidden
        seen["logins"] = True
        if planned.sis_shown is not None:
            seen["shown" if planned.sis_shown else "hidden"] = True
    elif isinstance(planned, SisHidden):
        seen["hidden"] = True
    elif isinstance(planned, CoursePlan) and planned.sis_shown:
        seen["shown"] = True


def _write(run: SyncRun, batch: list[tuple[SyncCourseResult, CoursePlan]]) -> None:
    if not batch:
        return
    if run.params.get("preview"):
        for result, plan in batch:
            preview(result, run, plan)
    else:
        try:
            outcomes = apply_plans([plan for _, plan in batch], run.institution)
        except Exception:  # noqa: BLE001 - find the course at fault: apply them one by one
            outcomes = None
        if outcomes is None:
            for result, plan in batch:
                try:
                    record_outcome(result, run, plan, apply_plans([plan], run.institution)[0])
                except Exception as exc:  # noqa: BLE001 - recorded against the course
                    record_failure(result, run, exc)
        else:
            # One commit, and a few statements, for the group's problems and results (not a few per course).
            with transaction.atomic():
                record_outcomes(run, [(r, plan, o) for (r, plan), o in zip(batch, outcomes, strict=True)])
    lifecycle.add_progress(run.id, len(batch))
