"""How a sync's courses reach the workers: in batches, a few of each run at a time.

A run's courses are cut into batches (`assign_batches`): every entry of one Canvas course (the course
and its sections) in the same batch, so one task writes that portal course and two tasks never race
to create it. Each batch is one Celery task (`sync.engine.batch.sync_batch`), which reads its courses
from Canvas concurrently under the token's throttle gate and writes them in bulk.

Fair to every institution, by two rules:
- A run never has more than SYNC_BATCHES_IN_FLIGHT batches queued or running (2, below a worker's 4
  processes). The first ones are sent when the run starts; each batch that finishes sends the run's
  next one, to the back of the queue, so a large run never holds every worker process.
- Shortest remaining first: a batch's queue priority comes from how many batches its run has left
  (`priority`). At 2 a.m., when every institution's nightly sync starts together, a small
  institution's batches go ahead of a large one's, which rises as it nears its end. On Redis, kombu
  keeps one list per priority step (0, 3, 6, 9) and workers take the lowest step first; the embedded
  filesystem broker ignores priorities (it has one worker).
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Sequence

from django.conf import settings
from django.db import transaction

from sync.models import SyncRun
from sync.runs import lifecycle
from sync.runs.lifecycle import QUEUE_ERRORS

logger = logging.getLogger(__name__)

SYNC_BATCH_TASK = "sync.tasks.sync_batch_task"
_eager = threading.local()


def batch_size(courses: int) -> int:
    """Courses per batch: SYNC_BATCH_COURSES, or fewer so that a small run still spreads over its
    in-flight batches (a 40-course sync is 2 batches of 20 read side by side, not one task), and is
    done in one turn of the queue."""
    spread = math.ceil(courses / max(1, settings.SYNC_BATCHES_IN_FLIGHT))
    return max(1, min(settings.SYNC_BATCH_COURSES, spread))


def priority(batches_left: int) -> int:
    """The queue priority (0 first, 9 last) of a batch whose run has `batches_left` batches to send,
    this one included: a run in its last turn of the queue goes first, a long one waits its turn."""
    turns = math.ceil(batches_left / max(1, settings.SYNC_BATCHES_IN_FLIGHT))
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
    """The run's first batches (at most SYNC_BATCHES_IN_FLIGHT); called once the run is committed."""
    for _ in range(settings.SYNC_BATCHES_IN_FLIGHT):
        if not send_next(run_id, queue):
            break


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


def send_next(run_id: int, queue: str | None = None) -> bool:
    """Send the run's next unsent batch, if any; False when every batch has been sent."""
    with transaction.atomic():
        run = SyncRun.objects.select_for_update().only("batches_sent", "batch_count").get(id=run_id)
        if run.batches_sent >= run.batch_count:
            return False
        run.batches_sent += 1
        run.save(update_fields=["batches_sent"])
        number, left = run.batches_sent, run.batch_count - run.batches_sent + 1
    _send(run_id, number, queue, priority(left))
    return True


def send_next_safely(run_id: int, queue: str | None = None) -> None:
    """`send_next` from a finishing batch: if the queue refuses, this run's other batches still go on,
    and a batch that could not be sent is ended by the reaper with what happened."""
    try:
        send_next(run_id, queue)
    except QUEUE_ERRORS as exc:
        logger.error("Run %s: the task queue refused its next batch (%s)", run_id, type(exc).__name__)


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
