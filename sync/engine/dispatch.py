"""How a sync's courses reach the workers: in batches, a few of each run at a time.

A run's courses are cut into batches (`assign_batches`): every entry of one Canvas course (the course
and its sections) in the same batch, so one task writes that portal course and two tasks never race
to create it. Each batch is one Celery task (`sync.engine.batch.sync_batch`), which reads its courses
from Canvas concurrently under the token's throttle gate and writes them in bulk.

Fair to every institution, by four rules:
- Shortest remaining first: a batch's queue priority comes from how many batches its run has left
  (`priority`). At 2 a.m., when every institution's nightly sync starts together, a small
  institution's batches go ahead of a large one's, which rises as it nears its end. On Redis, kombu
  keeps one list per priority step (0, 3, 6, 9: the transport's default `priority_steps`) and a
  worker's BRPOP names them lowest step first, so a freed worker process takes the lowest step
  waiting, in order of arrival within it; the embedded filesystem broker ignores priorities (it has
  one worker).
- A run alone keeps SYNC_BATCHES_IN_FLIGHT batches queued or reading Canvas (2, below a worker's 8
  processes): two processes keep a token's Canvas budget full. While other runs are active it keeps
  one (`in_flight_cap`). Worker processes are what every institution waits for: at 2 a.m. a large run
  and ten small ones, two batches each, wanted 22 of compose's 8, and the seventh to tenth small
  institution waited for the first ones to finish (bench.sync (c): 7 to 15 s before their first
  course, 8.7x their time alone). One at a time, a small run's batch has its token's whole budget,
  so it takes about half as long and the processes turn over twice as often.
- A long run reads one course at a time while a shorter one is under way (`yields_to_shorter`).
  Worker processes were not all the small ones waited for: on compose's machine the CPU is, and the
  large run's batch, reading at its token's full pace, took about half of it (bench.sync (c): the
  smalls 4.7-6.4x their time alone with the large one reading, a run of 50 courses needing about
  1 CPU-s of workers, simulator and database). So a batch of a run with more than one turn of batches
  left narrows to YIELD_WIDTH courses while another run, in its last turn, is active and alive, and
  widens again within YIELD_CHECK_S of the last one ending (batch.Width). It narrows, never stops:
  a large run behind a stream of small ones, or behind one whose worker died (no heartbeat for
  ALIVE_S), still progresses. With it (c)'s smalls took 2.5-4.9x their time alone over two runs
  (4.7-6.4x before), the whole 1.17-1.27x the large one alone (1.24x): the large one loses a few
  seconds' reading, the smalls get the cores, and what is left is their own CPU (bench.sync prints
  that floor, 2.9x).
- Each batch sends its run's next one itself, to the back of the queue, when only its last quarter
  of courses is still being read (`batch.sync_batch`): the next one starts reading while this one
  writes its last courses and ends, instead of the token's budget idling between them. A batch in
  that tail no longer counts in flight. At its end it sends again if its run is below its cap
  (another run ended meanwhile, or the early send found the run full).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
from collections.abc import Callable, Sequence

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from sync.models import ACTIVE_STATUSES, OPEN_RESULT_STATUSES, SyncCourseResult, SyncRun
from sync.runs import lifecycle
from sync.runs.lifecycle import QUEUE_ERRORS

logger = logging.getLogger(__name__)

SYNC_BATCH_TASK = "sync.tasks.sync_batch_task"
# A long run's batch reads this many courses at a time while a shorter run is under way.
YIELD_WIDTH = 1
# A shorter run counts while it was queued or wrote progress this recently: a batch beats with each
# group of courses it writes, about every second (batch.APPLY_EVERY_S).
ALIVE_S = 10
_eager = threading.local()


def batch_size(courses: int) -> int:
    """Courses per batch: SYNC_BATCH_COURSES, or fewer so that a small run still spreads over its
    in-flight batches (a 40-course sync is 2 batches of 20 read side by side, not one task), and is
    done in one turn of the queue."""
    spread = math.ceil(courses / one_turn())
    return max(1, min(settings.SYNC_BATCH_COURSES, spread))


def priority(batches_left: int) -> int:
    """The queue priority (0 first, 9 last) of a batch whose run has `batches_left` batches to send,
    this one included: a run in its last turn of the queue goes first, a long one waits its turn."""
    turns = math.ceil(batches_left / one_turn())
    return 0 if turns <= 1 else 3 if turns <= 4 else 6 if turns <= 16 else 9


def assign_batches(canvas_course_ids: Sequence[int]) -> list[int]:
    """The batch number (1, 2, ...) of each course of a run, in the order given; entries of one Canvas
    course always share a batch, so a batch may run over its size by a course's sections."""
    size = batch_size(len(canvas_course_ids))
    order = sorted(range(len(canvas_course_ids)), key=lambda i: canvas_course_ids[i])
    numbers = [0] * len(canvas_course_ids)
    batch, in_batch, previous = 1, 0, None
    for i in order:
        course = canvas_course_ids[i]
        if in_batch >= size and course != previous:
            batch, in_batch = batch + 1, 0
        numbers[i] = batch
        in_batch += 1
        previous = course
    return numbers


def send_first(run_id: int, queue: str | None = None) -> None:
    """The run's first batches (its `in_flight_cap`); called once the run is committed."""
    _send_more(run_id, queue, lambda cap, others: cap - others)


def one_turn() -> int:
    """Batches a run alone may have queued or reading Canvas at once: one "turn" of its batches."""
    return max(1, settings.SYNC_BATCHES_IN_FLIGHT)


def in_flight_cap(run_id: int) -> int:
    """How many of the run's batches may be queued or reading Canvas at once: SYNC_BATCHES_IN_FLIGHT
    while it is the only active run, one while other runs wait for worker processes or hold them."""
    others = SyncRun.objects.filter(status__in=ACTIVE_STATUSES).exclude(id=run_id)
    return 1 if others.exists() else one_turn()


def may_yield(run: SyncRun) -> bool:
    """Whether the run can ever yield to a shorter one: not if all its batches fit in one turn (what it
    has left never exceeds its batch count), so its batches need not ask `yields_to_shorter` at all.
    They asked every YIELD_CHECK_S: 6 of a 50-course run's 98 statements (h14)."""
    return run.batch_count > one_turn()


def yields_to_shorter(run_id: int) -> bool:
    """Whether the run's batches read YIELD_WIDTH courses at a time now: it has more than one turn of
    batches left to send, and another sync, in its last turn (everything it has left fits in one), is
    active and alive."""
    turn = one_turn()
    unsent = F("batch_count") - F("batches_sent")
    left = SyncRun.objects.filter(id=run_id).values_list(unsent, flat=True).first()
    if left is None or left <= turn:
        return False
    alive = timezone.now() - dt.timedelta(seconds=ALIVE_S)
    shorter = (
        SyncRun.objects.filter(status__in=ACTIVE_STATUSES, batch_count__gt=0)
        .exclude(id=run_id)
        .alias(unsent=unsent)
        .filter(unsent__lte=turn)
        .filter(Q(heartbeat_at__gte=alive) | Q(heartbeat_at=None, created_at__gte=alive))
    )
    return shorter.exists()


def run_here(run: SyncRun) -> SyncRun:
    """Every batch of a started run in this process, through the very tasks a worker runs (Celery's
    eager mode): support's `canvas_sync` command, where no worker may be running."""
    from portal.celery import app

    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    try:
        send_first(run.id)
    finally:
        app.conf.task_always_eager, app.conf.task_eager_propagates = saved
    run.refresh_from_db()
    return run


def send_next(run_id: int, queue: str | None = None, *, done: int | None = None, tail: bool = True) -> int:
    """The batches batch `done` sends for its run (how many it sent): in its `tail` (its last quarter
    of courses being read), its successor and, while the run is alone, more up to the cap; the
    successor not while other runs are active and another batch of this run is under way (the run
    drops to one batch in flight). At its end (not `tail`), one if no other batch of the run is under
    way: nothing else would send the run's next (the early send found the run full, or failed)."""
    if tail:
        return _send_more(run_id, queue, lambda cap, others: max(int(cap > 1), cap - others), done=done)
    return _send_more(run_id, queue, lambda cap, others: int(others == 0), done=done)


def send_next_safely(run_id: int, queue: str | None = None, *, done: int | None = None, tail: bool = True) -> None:
    """`send_next`, from a batch: if the queue refuses, this run's other batches still go on, and a
    batch that could not be sent is ended by the reaper with what happened."""
    try:
        send_next(run_id, queue, done=done, tail=tail)
    except QUEUE_ERRORS as exc:
        logger.error("Run %s: the task queue refused its next batch (%s)", run_id, type(exc).__name__)


def _send_more(run_id: int, queue: str | None, how_many: Callable[[int, int], int], done: int | None = None) -> int:
    """Send `how_many(cap, others)` more of the run's unsent batches, `others` being how many of its sent
    batches besides `done` are not finished (queued, reading, or writing their last courses)."""
    cap = in_flight_cap(run_id)
    with transaction.atomic():
        # The row lock: two batches of one run sending at once each see what the other sent.
        run = SyncRun.objects.select_for_update().only("batches_sent", "batch_count").get(id=run_id)
        unfinished = SyncCourseResult.objects.filter(
            run_id=run_id, batch__lte=run.batches_sent, status__in=OPEN_RESULT_STATUSES
        )
        if done is not None:
            unfinished = unfinished.exclude(batch=done)
        others = unfinished.values("batch").distinct().count() if run.batches_sent else 0
        count = max(0, min(how_many(cap, others), run.batch_count - run.batches_sent))
        if not count:
            return 0
        first = run.batches_sent + 1
        run.batches_sent += count
        run.save(update_fields=["batches_sent"])
    for number in range(first, first + count):
        _send(run_id, number, queue, priority(run.batch_count - number + 1))
    return count


def _send(run_id: int, number: int, queue: str | None, priority: int = 0) -> None:
    from portal.celery import app

    sync_batch_task = lifecycle.task_named(SYNC_BATCH_TASK)
    if not app.conf.task_always_eager:
        if queue:
            sync_batch_task.apply_async((run_id, number), queue=queue, priority=priority)
        else:
            sync_batch_task.apply_async((run_id, number), priority=priority)
        return
    # Eager (tests, `canvas_sync`): each batch would run inside the one that sent it, nesting as deep as
    # the run has batches; a queue on this thread runs them one after another instead, in send order.
    queue = getattr(_eager, "queue", None)
    if queue is not None:
        queue.append((run_id, number))
        return
    _eager.queue = [(run_id, number)]
    try:
        while _eager.queue:
            sync_batch_task.apply(args=_eager.queue.pop(0), throw=True)
    finally:
        _eager.queue = None
