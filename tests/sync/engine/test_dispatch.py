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
    settings.SYNC_BATCH_COURSES, settings.SYNC_BATCHES_IN_FLIGHT = 50, 4
    assert dispatch.batch_size(3000) == 50
    assert dispatch.batch_size(40) == 5  # 8 batches: two rounds of the four in flight
    assert dispatch.batch_size(3) == 1
    numbers = dispatch.assign_batches(list(range(1, 3001)))
    assert max(numbers) == 60 and max(numbers.count(n) for n in set(numbers)) == 50


@pytest.mark.django_db
def test_a_large_run_does_not_queue_a_small_one_behind_it(settings, monkeypatch):
    """Nightly: a 30-batch institution and two 2-batch ones start together; one worker takes the queue
    in order. Each small run is done within the first handful of batches, not after the large one."""
    settings.SYNC_BATCHES_IN_FLIGHT = 2
    queue: list[tuple[int, int]] = []
    monkeypatch.setattr(dispatch, "_send", lambda run_id, number, q: queue.append((run_id, number)))

    def started(slug: str, batches: int) -> int:
        institution = Institution.objects.create(name=slug, slug=slug)
        run = lifecycle.create_run(institution, RunKind.SYNC, trigger=RunTrigger.NIGHTLY)
        SyncRun.objects.filter(id=run.id).update(batch_count=batches)
        dispatch.send_first(run.id)
        return run.id

    large, small, smaller = started("large", 30), started("small", 2), started("smaller", 2)
    served: list[int] = []
    while queue:
        run_id, _ = queue.pop(0)  # the worker runs this batch; when it ends it sends its run's next one
        served.append(run_id)
        dispatch.send_next(run_id)

    assert served.count(large) == 30 and served.count(small) == served.count(smaller) == 2
    last_small = max(i for i, run_id in enumerate(served) if run_id in (small, smaller))
    assert last_small < 6  # alone, the large run's 30 batches would have come first
    assert SyncRun.objects.get(id=large).batches_sent == 30


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
