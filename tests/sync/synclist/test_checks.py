from __future__ import annotations

import datetime as dt

from django.utils import timezone

from lms_canvas.models import CanvasConfig
from portal.models import Course, Department
from sync.models import CatalogCourse, SyncListEntry
from sync.synclist import checks, edit
from tests.sync.catalog_helpers import make_catalog
from tests.sync.synclist.helpers import course, section, two_entries

D = dt.date
TODAY = D(2026, 12, 1)  # the catalogue's Fall 2026 term ends on 2026-12-17 in New York


def _listed(institution, config):
    return edit.entries_for(institution, config)


def _groups(institution, config, today=TODAY):
    return {group.code: group for group in checks.list_warnings(institution, _listed(institution, config), today)}


def _with_department(institution):
    SyncListEntry.objects.update(department=Department.objects.get(institution=institution))


def test_a_list_that_will_sync_has_no_warnings(institution_a, config):
    two_entries(institution_a, config)
    _with_department(institution_a)

    assert checks.list_warnings(institution_a, _listed(institution_a, config), TODAY) == []


def test_an_ended_entry_is_warned_with_its_term_end_to_extend_to(institution_a, config):
    a, _ = two_entries(institution_a, config)
    _with_department(institution_a)
    SyncListEntry.objects.filter(id=a.id).update(end_date=D(2026, 11, 20))

    group = _groups(institution_a, config)["entry_ended"]

    assert group.title == "End date has passed"
    assert group.text.startswith("This sync list entry's end date has passed, so it is no longer synced")
    [warning] = group.warnings
    assert (warning.item.id, warning.note, warning.extend_to) == (a.id, "Ended Nov 20, 2026", D(2026, 12, 17))
    assert warning.detail == "ended Nov 20, 2026; its term ends Dec 17, 2026"


def test_an_entry_whose_term_ended_too_says_what_to_do_instead(institution_a, config):
    a, _ = two_entries(institution_a, config)
    _with_department(institution_a)

    [warning, _] = _groups(institution_a, config, today=D(2027, 1, 10))["entry_ended"].warnings

    assert warning.item.id == a.id and warning.extend_to is None
    assert (
        "Its term ended on Dec 17, 2026 too. What to do: if it should still sync, type a later End Date"
        in warning.detail
    )


def test_an_ended_entry_without_a_term_end_says_what_to_do(institution_a, config):
    a, _ = two_entries(institution_a, config)
    _with_department(institution_a)
    CatalogCourse.objects.filter(id=a.course_id).update(term_end_at=None)
    SyncListEntry.objects.filter(id=a.id).update(end_date=D(2026, 11, 20))

    [warning] = _groups(institution_a, config)["entry_ended"].warnings

    assert warning.extend_to is None
    assert "Canvas gives no term end date for this course. What to do: type a later End Date" in warning.detail


def test_a_row_without_a_department_is_warned(institution_a, config):
    a, b = two_entries(institution_a, config)
    SyncListEntry.objects.filter(id=b.id).update(department=Department.objects.get(institution=institution_a))

    group = _groups(institution_a, config)["no_department"]

    assert group.title == "No department chosen"
    assert "It will not sync until a department is set." in group.text
    assert [w.item.id for w in group.warnings] == [a.id]


def test_a_row_without_a_department_is_fine_once_its_portal_course_exists(institution_a, config):
    """The sync keeps the department of a course already in the portal (matched by Canvas id or Course ID)."""
    two_entries(institution_a, config)
    law = Department.objects.get(institution=institution_a)
    Course.objects.create(
        institution=institution_a, department=law, course_id="X", name="x", lms_id=course(501).canvas_id
    )
    Course.objects.create(institution=institution_a, department=law, course_id="STAT-101-F26", name="Statistics I")

    assert "no_department" not in _groups(institution_a, config)


def test_an_ended_entry_is_not_warned_again_for_its_department(institution_a, config):
    a, _ = two_entries(institution_a, config)
    SyncListEntry.objects.filter(id=a.id).update(end_date=D(2026, 11, 20))

    groups = _groups(institution_a, config)

    assert [w.item.id for w in groups["entry_ended"].warnings] == [a.id]
    assert a.id not in [w.item.id for w in groups["no_department"].warnings]


def test_a_course_listed_with_one_of_its_sections_is_warned(institution_a, config):
    whole = edit.add_course(institution_a, config, course(501).id)
    part = SyncListEntry.objects.create(
        institution=institution_a, course=whole.course, section=section(801), start_date=whole.start_date
    )  # as a CSV import can list them
    _with_department(institution_a)

    group = _groups(institution_a, config)[checks.COURSE_AND_SECTION]

    assert group.text == "The course already includes its sections; remove the section entry or the course."
    [warning] = group.warnings
    assert (warning.item.id, warning.note) == (part.id, "Its course is listed too")
    assert warning.detail == "the whole course “Contracts I” is listed too"


def test_a_course_gone_from_canvas_gets_no_warnings_its_row_says_so(institution_a, config):
    a, _ = two_entries(institution_a, config)
    CatalogCourse.objects.filter(id=a.course_id).update(gone_at=timezone.now())
    SyncListEntry.objects.filter(id=a.id).update(end_date=D(2026, 11, 20))

    groups = _groups(institution_a, config)

    assert "entry_ended" not in groups
    assert a.id not in [w.item.id for w in groups["no_department"].warnings]


def test_the_summary_counts_each_entry_once(institution_a, config):
    a, b = two_entries(institution_a, config)
    SyncListEntry.objects.filter(id=a.id).update(end_date=D(2026, 11, 20))

    text = checks.summary(checks.list_warnings(institution_a, _listed(institution_a, config), TODAY))

    assert text == (
        "2 entries will not sync as they are: end date has passed (1), no department chosen (1). "
        "See “Before the next sync” below."
    )
    assert checks.summary([]) == ""


def test_extension_of_one_entry_or_all(institution_a, config):
    a, b = two_entries(institution_a, config)
    SyncListEntry.objects.update(end_date=D(2026, 11, 20))
    listed = _listed(institution_a, config)

    assert checks.extension(institution_a, listed, str(a.id), TODAY) == ({a.id: {"end_date": D(2026, 12, 17)}}, "")
    changes, refused = checks.extension(institution_a, listed, "all", TODAY)
    assert (changes, refused) == ({a.id: {"end_date": D(2026, 12, 17)}, b.id: {"end_date": D(2026, 12, 17)}}, "")


def test_extend_all_leaves_a_current_entry_that_ends_before_its_term(institution_a, config):
    a, b = two_entries(institution_a, config)
    SyncListEntry.objects.filter(id=a.id).update(end_date=D(2026, 11, 20))
    SyncListEntry.objects.filter(id=b.id).update(end_date=D(2026, 12, 10))  # not ended: not the panel's to extend

    changes, _ = checks.extension(institution_a, _listed(institution_a, config), "all", TODAY)

    assert changes == {a.id: {"end_date": D(2026, 12, 17)}}


def test_extension_refuses_an_entry_that_is_not_listed_or_cannot_be_extended(institution_a, institution_b, config):
    a, _ = two_entries(institution_a, config)
    make_catalog(institution_b, offset=10_000)
    config_b = CanvasConfig.objects.create(institution=institution_b)
    theirs = edit.add_course(institution_b, config_b, CatalogCourse.objects.get(canvas_id=10_501).id)
    SyncListEntry.objects.filter(id=theirs.id).update(end_date=D(2026, 11, 20))
    listed = _listed(institution_a, config)

    assert checks.extension(institution_a, listed, str(theirs.id), TODAY) == ({}, edit.NOT_ON_LIST)
    assert checks.extension(institution_a, listed, "²", TODAY) == ({}, edit.NOT_ON_LIST)
    changes, refused = checks.extension(institution_a, listed, str(a.id), TODAY)  # already ends at the term end
    assert changes == {}
    assert refused == (
        "“Contracts I” cannot be extended to its term end: its End Date is already at or after the term end."
    )
    assert checks.extension(institution_a, listed, "all", TODAY) == ({}, checks.NOTHING_TO_EXTEND)


def test_adding_a_course_whose_term_has_ended_says_so(institution_a, config):
    entry = edit.add_course(institution_a, config, course(501).id)

    assert checks.added_warning(institution_a, entry, TODAY) == ""
    assert checks.added_warning(institution_a, entry, D(2027, 1, 10)) == (
        "Added, but its end date (Dec 17, 2026, from Canvas) has passed, so it will not sync: "
        "set a later End Date on Edit Sync List and Save."
    )


def test_adding_a_course_whose_section_is_listed_says_so(institution_a, config):
    edit.add_section(institution_a, config, section(801).id)
    entry = edit.add_course(institution_a, config, course(501).id)

    assert checks.added_warning(institution_a, entry, TODAY) == (
        "Added, but its section “Section A” is on the list too. "
        "The course already includes its sections; remove the section entry or the course."
    )
