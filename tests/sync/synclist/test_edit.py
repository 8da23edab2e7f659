from __future__ import annotations

import datetime as dt

import pytest

from lms_canvas.models import CanvasConfig
from portal.models import Department
from sync.models import CatalogCourse, SyncListEntry
from sync.synclist import edit
from tests.sync.catalog_helpers import make_catalog
from tests.sync.synclist.helpers import course, section, two_entries

D = dt.date


def test_adding_a_course_defaults_its_dates_from_the_term(institution_a, config):
    entry = edit.add_course(institution_a, config, course(501).id)

    assert entry.start_date == D(2026, 8, 23)  # midnight UTC is the evening before in New York
    assert entry.end_date == D(2026, 12, 17)


def test_adding_an_unsyncable_course_says_why(institution_a, config):
    with pytest.raises(edit.SyncListError, match="cannot be synced: Unpublished in Canvas"):
        edit.add_course(institution_a, config, course(503).id)
    with pytest.raises(edit.SyncListError, match="No SIS ID in Canvas"):
        edit.add_course(institution_a, config, course(502).id)


def test_adding_twice_says_it_is_already_listed(institution_a, config):
    edit.add_course(institution_a, config, course(501).id)
    with pytest.raises(edit.SyncListError, match="already on the sync list"):
        edit.add_course(institution_a, config, course(501).id)


def test_a_section_of_a_listed_course_is_already_included(institution_a, config):
    edit.add_course(institution_a, config, course(501).id)
    with pytest.raises(edit.SyncListError, match="includes all its sections"):
        edit.add_section(institution_a, config, section(801).id)


def test_adding_another_institutions_course_is_refused(institution_a, institution_b, config):
    make_catalog(institution_b, offset=10_000)
    foreign = CatalogCourse.objects.get(canvas_id=10_501)
    with pytest.raises(edit.SyncListError, match=edit.NOT_IN_CATALOGUE[:40]):
        edit.add_course(institution_a, config, foreign.id)


def test_end_before_start_is_refused_by_field(institution_a, config):
    a, _ = two_entries(institution_a, config)
    change = edit.RowChange(start_date=D(2026, 9, 1), end_date=D(2026, 8, 1))

    result = edit.save_rows(institution_a, config, {a.id: change})

    assert result.errors == {a.id: {"end_date": "End Date is before Start Date."}}
    a.refresh_from_db()
    assert a.start_date == D(2026, 8, 23)


def test_department_of_another_institution_is_refused(institution_a, institution_b, config):
    a, _ = two_entries(institution_a, config)
    foreign = Department.objects.get(institution=institution_b)

    result = edit.save_rows(institution_a, config, {a.id: edit.RowChange(department=foreign)})

    assert result.errors[a.id]["department"] == "Choose one of your institution's departments."
    a.refresh_from_db()
    assert a.department_id is None


def test_an_entry_of_another_institution_is_refused(institution_a, institution_b, config):
    a, _ = two_entries(institution_a, config)
    make_catalog(institution_b, offset=10_000)
    config_b = CanvasConfig.objects.create(institution=institution_b)
    theirs = edit.add_course(institution_b, config_b, CatalogCourse.objects.get(canvas_id=10_501).id)

    result = edit.save_rows(institution_a, config, {theirs.id: edit.RowChange(end_date=D(2030, 1, 1))})

    assert result.errors == {theirs.id: {"entry": edit.NOT_ON_LIST}}
    theirs.refresh_from_db()
    assert theirs.end_date == D(2026, 12, 18)  # as added: the term's end in London


def test_none_clears_a_department_and_a_left_out_field_stays(institution_a, config):
    a, _ = two_entries(institution_a, config)
    SyncListEntry.objects.filter(id=a.id).update(department=Department.objects.get(institution=institution_a))

    result = edit.save_rows(institution_a, config, {a.id: edit.RowChange(department=None)})

    assert result.ok and result.saved == 1
    a.refresh_from_db()
    assert (a.department_id, a.start_date, a.end_date) == (None, D(2026, 8, 23), D(2026, 12, 17))


def test_a_duplicate_course_id_and_dates_is_refused(institution_a, config):
    a, b = two_entries(institution_a, config)
    course(505).__class__.objects.filter(canvas_id=505).update(sis_course_id="LAW-101-F26")
    CanvasConfig.objects.filter(id=config.id).update(course_id_type="sis")
    result = edit.save_rows(institution_a, config, {})

    assert (
        "Another entry has the same Course ID, Start Date and End Date: Contracts I (LAW-101-F26)."
        in (result.errors[b.id]["entry"])
    )


def test_a_course_no_longer_in_the_catalogue_is_reported(institution_a, config):
    a, _ = two_entries(institution_a, config)
    CatalogCourse.objects.filter(canvas_id=501).update(gone_at="2026-01-01T00:00:00Z")

    result = edit.save_rows(institution_a, config, {a.id: edit.RowChange(end_date=D(2027, 1, 1))})

    assert result.errors[a.id]["entry"].startswith("This course is no longer in the course list")


def test_bulk_set_dates_and_department(institution_a, config):
    a, b = two_entries(institution_a, config)
    law = Department.objects.get(institution=institution_a)

    edit.bulk_change(institution_a, config, [a.id, b.id], edit.RowChange(department=law))
    result = edit.bulk_change(institution_a, config, [a.id, b.id], edit.RowChange(end_date=D(2027, 1, 31)))

    assert result.ok and result.saved == 2
    assert set(SyncListEntry.objects.values_list("department", "end_date")) == {(law.id, D(2027, 1, 31))}


def test_remove_only_touches_mytwo_entries(institution_a, institution_b, config):
    a, b = two_entries(institution_a, config)
    assert edit.remove(institution_b, [a.id]) == 0
    assert edit.remove(institution_a, [a.id]) == 1
    assert list(SyncListEntry.objects.values_list("id", flat=True)) == [b.id]


def test_an_entry_is_labelled_by_its_course_and_section(config, institution_a):
    whole = SyncListEntry(institution=institution_a, course=course(501))
    one = SyncListEntry(institution=institution_a, course=course(501), section=section(801))
    assert whole.label == "Contracts I"
    assert one.label == "Contracts I / Section A"
    assert SyncListEntry.label_for(course(501), section(801)) == one.label
