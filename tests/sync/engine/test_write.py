"""Counts that are true: each person created or updated is counted once, by the write that did it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from portal.models import ExamTaker
from sync.engine.changes import PeopleChanges
from sync.engine.plan import PlannedPerson
from sync.engine.write import write_people
from sync.models import empty_counts
from tests.sync.engine_helpers import add_entry, catalog_from_sim, sync

pytestmark = pytest.mark.django_db

ANA = PlannedPerson(lms_id=7001, portal_id="S-7001", first_name="Ana", last_name="Lima", email="ana@x.test")


def write(institution, **changes) -> tuple[PeopleChanges, dict]:
    people, counts = PeopleChanges("student_id", **changes), empty_counts()
    write_people(ExamTaker, institution, [(people, counts, [])])
    return people, counts


def test_a_person_another_worker_created_meanwhile_is_not_counted_again(institution_a):
    first, first_counts = write(institution_a, create=[ANA])
    # A second task read the portal before the first one wrote: it plans Ana as new too.
    second, second_counts = write(institution_a, create=[ANA])

    assert (first_counts["created"], second_counts["created"]) == (1, 0)
    assert second.pks == first.pks and ExamTaker.objects.count() == 1


def test_an_update_already_made_by_another_worker_is_not_counted_again(institution_a):
    made, _ = write(institution_a, create=[ANA])
    renamed = replace(ANA, last_name="Lima Souza")
    pk = made.pks[7001]

    _, first = write(institution_a, update=[(pk, renamed)])
    _, second = write(institution_a, update=[(pk, renamed)])

    assert (first["updated"], second["updated"]) == (1, 0)
    assert ExamTaker.objects.get(pk=pk).last_name == "Lima Souza"


def test_a_person_new_to_two_courses_of_a_batch_counts_once(institution_a):
    one, two = PeopleChanges("student_id", create=[ANA]), PeopleChanges("student_id", create=[ANA])
    counts_one, counts_two = empty_counts(), empty_counts()
    write_people(ExamTaker, institution_a, [(one, counts_one, []), (two, counts_two, [])])
    assert counts_one["created"] + counts_two["created"] == 1
    assert one.pks == two.pks


def test_the_same_canvas_data_gives_the_same_counts_in_two_institutions(connected, sim, institution_a, institution_b):
    from tests.conftest import connect_to

    connect_to(institution_b, sim)
    for institution in (institution_a, institution_b):
        catalog_from_sim(institution, sim)
        for canvas_id in (501, 502, 504):
            add_entry(institution, canvas_id)
    a, b = sync(institution_a), sync(institution_b)
    assert a.counts == b.counts and a.counts["created"] > 0
