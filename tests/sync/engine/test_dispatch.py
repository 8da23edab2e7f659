"""How a sync's courses reach the workers: batches that keep a Canvas course together, and a queue that
serves every institution's run in turn."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.models import Institution
from sync.engine import dispatch
from sync.models import RunKind, RunTrigger, SyncRun
from sync.runs import lifecycle
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


@pytest.mark.django_db
def test_a_large_run_does_not_queue_small_ones_behind_it(settings, monkeypatch):
    """Nightly: a 60-batch institution and ten 2-batch ones start together, the large one first, on a
    Redis queue (lowest priority step first, in order within a step) served by one worker process.
    Every small run is done within the first few batches; the large one still gets all of its own."""
    settings.SYNC_BATCHES_IN_FLIGHT = 2
    queue: list[tuple[int, int, int]] = []  # (priority, arrival, run)
    arrivals = iter(range(10_000))
    monkeypatch.setattr(
        dispatch, "_send", lambda run_id, number, q, priority: queue.append((priority, next(arrivals), run_id))
    )

    def started(slug: str, batches: int) -> int:
        institution = Institution.objects.create(name=slug, slug=slug)
        run = lifecycle.create_run(institution, RunKind.SYNC, trigger=RunTrigger.NIGHTLY)
        SyncRun.objects.filter(id=run.id).update(batch_count=batches)
        dispatch.send_first(run.id)
        return run.id

    large = started("large", 60)
    small = [started(f"small-{n}", 2) for n in range(10)]
    served: list[int] = []
    while queue:
        queue.sort()
        _, _, run_id = queue.pop(0)  # the worker runs this batch; when it ends it sends its run's next one
        served.append(run_id)
        dispatch.send_next(run_id)

    assert served.count(large) == 60 and all(served.count(run) == 2 for run in small)
    last_small = max(i for i, run_id in enumerate(served) if run_id in small)
    assert last_small < 22  # the twenty small batches come first; FIFO alone would interleave 60 large ones
    assert SyncRun.objects.get(id=large).batches_sent == 60


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
