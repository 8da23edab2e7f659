from __future__ import annotations

import datetime as dt

from django.urls import reverse

from lms_canvas.models import CanvasConfig
from portal.models import Department
from sync.models import CatalogCourse, SyncListEntry
from sync.synclist import edit
from tests.sync.catalog_helpers import make_catalog, text
from tests.sync.synclist.helpers import rows_post, shown_row, two_entries

D = dt.date
NOT_ON_LIST = "That entry is not on your sync list (it may have been removed meanwhile)."


def test_save_rerenders_with_the_message_beside_the_field(client_a, institution_a, config):
    a, _ = two_entries(institution_a, config)
    data = rows_post({"entry": a.id, "start_date": "2026-09-01", "end_date": "2026-08-01"})

    r = client_a.post(reverse("sync-list-save"), data)

    assert r.status_code == 200
    body = text(r)
    assert "Nothing was saved: correct the entries marked below." in body
    assert 'aria-describedby="id_rows-0-end_date_error"' in body
    assert '<ul class="errorlist" id="id_rows-0-end_date_error"><li>End Date is before Start Date.</li></ul>' in body


def test_save_applies_dates_and_department(client_a, institution_a, config):
    a, _ = two_entries(institution_a, config)
    law = Department.objects.get(institution=institution_a)
    data = rows_post({"entry": a.id, "start_date": "2026-09-01", "end_date": "2026-12-01", "department": law.id})

    r = client_a.post(reverse("sync-list-save"), data, follow=True)

    assert "Saved. 1 entry changed." in text(r)
    a.refresh_from_db()
    assert (a.start_date, a.end_date, a.department_id) == (D(2026, 9, 1), D(2026, 12, 1), law.id)


def test_reversed_dates_are_marked_in_the_same_round_as_another_rows_bad_date(client_a, institution_a, config):
    a, b = two_entries(institution_a, config)
    data = rows_post(
        {"entry": a.id, "start_date": "2026-09-01", "end_date": "2026-08-01"},
        {"entry": b.id, "start_date": "someday"},
    )

    r = client_a.post(reverse("sync-list-save"), data)

    assert shown_row(r, a).errors == {"end_date": ["End Date is before Start Date."]}
    assert shown_row(r, b).errors == {"start_date": ["Enter a date as YYYY-MM-DD."]}


def test_the_page_posts_back_unchanged_and_saves_nothing(client_a, institution_a, config):
    """The formset as rendered (management form, a hidden entry id per row, the stored values) is a valid post."""
    two_entries(institution_a, config)
    page = client_a.get(reverse("sync-settings"), {"tab": "list"})
    rows = page.context["rows"]
    data = {
        "action": "save",
        **{rows.management_form.add_prefix(n): v for n, v in rows.management_form.initial.items()},
    }
    for form in rows:
        data.update({form.add_prefix(name): form[name].value() for name in form.fields})

    r = client_a.post(reverse("sync-list-save"), data, follow=True)

    assert "Saved. 0 entries changed." in text(r)


def test_a_bad_date_is_marked_and_no_other_rows_edit_is_lost(client_a, institution_a, config):
    a, b = two_entries(institution_a, config)
    law = Department.objects.get(institution=institution_a)
    data = rows_post(
        {"entry": a.id, "start_date": "31/12/2026", "end_date": "2026-12-17"},
        {"entry": b.id, "start_date": "2026-09-02", "end_date": "2026-12-20", "department": law.id},
    )

    r = client_a.post(reverse("sync-list-save"), data)

    body = text(r)
    assert "Nothing was saved: correct the entries marked below." in body
    assert '<ul class="errorlist" id="id_rows-0-start_date_error"><li>Enter a date as YYYY-MM-DD.</li></ul>' in body
    assert shown_row(r, a).errors == {"start_date": ["Enter a date as YYYY-MM-DD."]}
    typed = shown_row(r, b)
    assert (typed["start_date"].value(), typed["end_date"].value()) == ("2026-09-02", "2026-12-20")
    assert typed["department"].value() == str(law.id) and not typed.errors
    assert shown_row(r, a)["start_date"].value() == "31/12/2026"
    b.refresh_from_db()
    assert (b.end_date, b.department_id) == (D(2026, 12, 17), None)


def test_a_department_of_another_institution_is_refused_beside_the_field(
    client_a, institution_a, institution_b, config
):
    a, _ = two_entries(institution_a, config)
    theirs = Department.objects.get(institution=institution_b)
    data = rows_post({"entry": a.id, "start_date": "2026-08-23", "end_date": "2026-12-17", "department": theirs.id})

    r = client_a.post(reverse("sync-list-save"), data)

    body = text(r)
    error = "<li>Choose one of your institution's departments.</li>"
    assert f'<ul class="errorlist" id="id_rows-0-department_error">{error}</ul>' in body
    assert "Medicine" not in body  # B's departments are never offered
    a.refresh_from_db()
    assert a.department_id is None


def test_a_bulk_department_of_another_institution_is_refused(client_a, institution_a, institution_b, config):
    a, _ = two_entries(institution_a, config)
    theirs = Department.objects.get(institution=institution_b)
    data = {"action": "bulk_department", "selected": [a.id], "bulk_department": theirs.id}

    r = client_a.post(reverse("sync-list-save"), data)

    body = text(r)
    assert "Nothing was saved: correct the entries marked below." in body
    assert "<li>Choose one of your institution's departments.</li>" in body
    a.refresh_from_db()
    assert a.department_id is None


def test_clearing_a_department_saves_no_department(client_a, institution_a, config):
    a, b = two_entries(institution_a, config)
    law = Department.objects.get(institution=institution_a)
    SyncListEntry.objects.update(department=law)

    data = rows_post({"entry": a.id, "start_date": "2026-08-23", "end_date": "2026-12-17", "department": ""})
    r = client_a.post(reverse("sync-list-save"), data, follow=True)

    assert "Saved. 1 entry changed." in text(r)
    a.refresh_from_db()
    assert a.department_id is None
    r = client_a.post(
        reverse("sync-list-save"), {"action": "bulk_department", "selected": [b.id], "bulk_department": ""}, follow=True
    )
    assert "Saved. 1 entry changed." in text(r)
    assert list(SyncListEntry.objects.values_list("department", flat=True)) == [None, None]


def test_bulk_dates_keep_what_is_left_blank(client_a, institution_a, config):
    a, b = two_entries(institution_a, config)
    data = {"action": "bulk_dates", "selected": [a.id, b.id], "bulk_start": "", "bulk_end": "2027-01-31"}

    r = client_a.post(reverse("sync-list-save"), data, follow=True)

    assert "Saved. 2 entries changed." in text(r)
    assert set(SyncListEntry.objects.values_list("start_date", "end_date")) == {(D(2026, 8, 23), D(2027, 1, 31))}


def test_a_bad_bulk_date_is_marked_beside_the_bulk_field(client_a, institution_a, config):
    a, _ = two_entries(institution_a, config)
    r = client_a.post(reverse("sync-list-save"), {"action": "bulk_dates", "selected": [a.id], "bulk_end": "soon"})

    body = text(r)
    assert "Nothing was saved: correct the entries marked below." in body
    assert '<ul class="errorlist" id="id_bulk_end_error"><li>Enter a date as YYYY-MM-DD.</li></ul>' in body


def test_bulk_end_before_a_rows_start_is_marked_on_that_row(client_a, institution_a, config):
    a, _ = two_entries(institution_a, config)
    r = client_a.post(reverse("sync-list-save"), {"action": "bulk_dates", "selected": [a.id], "bulk_end": "2026-01-01"})

    assert "<li>End Date is before Start Date.</li>" in text(r)
    assert shown_row(r, a).errors == {"end_date": ["End Date is before Start Date."]}
    a.refresh_from_db()
    assert a.end_date == D(2026, 12, 17)


def _typed_and_checked(a, b, typed, action, **bulk):
    """What a bulk button posts: every row (Contracts I as `typed`, Statistics I as stored), Statistics I
    checked, and the bulk fields."""
    stored = {"start_date": "2026-08-23", "end_date": "2026-12-17", "department": ""}
    rows = rows_post({"entry": a.id, **stored, **typed}, {"entry": b.id, **stored}, action=action)
    return {**rows, "selected": [b.id], **bulk}


def test_a_bulk_action_saves_the_rows_typed_but_not_saved(client_a, institution_a, config):
    a, b = two_entries(institution_a, config)
    law = Department.objects.get(institution=institution_a)
    studies = Department.objects.create(institution=institution_a, name="Undergraduate Studies")
    typed = {"end_date": "2027-01-31", "department": studies.id}
    data = _typed_and_checked(a, b, typed, "bulk_department", bulk_department=law.id)

    r = client_a.post(reverse("sync-list-save"), data, follow=True)

    assert "Saved. 2 entries changed." in text(r)
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.end_date, a.department_id) == (D(2027, 1, 31), studies.id)
    assert (b.end_date, b.department_id) == (D(2026, 12, 17), law.id)


def test_a_bulk_action_keeps_a_checked_rows_other_typed_fields(client_a, institution_a, config):
    a, b = two_entries(institution_a, config)
    law = Department.objects.get(institution=institution_a)
    data = _typed_and_checked(a, b, {}, "bulk_dates", bulk_end="2027-01-31")
    data["rows-1-department"] = str(law.id)  # typed on the checked row itself

    r = client_a.post(reverse("sync-list-save"), data, follow=True)

    assert "Saved. 1 entry changed." in text(r)
    b.refresh_from_db()
    assert (b.end_date, b.department_id) == (D(2027, 1, 31), law.id)


def test_a_bulk_action_with_a_bad_typed_row_saves_nothing_and_keeps_what_was_typed(client_a, institution_a, config):
    a, b = two_entries(institution_a, config)
    law = Department.objects.get(institution=institution_a)
    typed = {"end_date": "31/01/2027", "department": law.id}
    data = _typed_and_checked(a, b, typed, "bulk_department", bulk_department=law.id)

    r = client_a.post(reverse("sync-list-save"), data)

    body = text(r)
    assert "Nothing was saved: correct the entries marked below." in body
    assert '<ul class="errorlist" id="id_rows-0-end_date_error"><li>Enter a date as YYYY-MM-DD.</li></ul>' in body
    row = shown_row(r, a)
    assert (row["end_date"].value(), row["department"].value()) == ("31/01/2027", str(law.id))
    assert r.context["bulk_department_form"]["bulk_department"].value() == str(law.id)
    assert f'name="selected" value="{b.id}" id="select-{b.id}" aria-label="Select Statistics I" checked>' in body
    assert list(SyncListEntry.objects.values_list("end_date", "department")) == [(D(2026, 12, 17), None)] * 2


def test_a_bulk_action_refused_on_its_rows_keeps_what_was_typed_elsewhere(client_a, institution_a, config):
    a, b = two_entries(institution_a, config)
    law = Department.objects.get(institution=institution_a)
    data = _typed_and_checked(a, b, {"department": law.id}, "bulk_dates", bulk_end="2026-01-01")

    r = client_a.post(reverse("sync-list-save"), data)

    assert shown_row(r, b).errors == {"end_date": ["End Date is before Start Date."]}
    assert shown_row(r, a)["department"].value() == str(law.id)
    assert r.context["bulk_dates_form"]["bulk_end"].value() == "2026-01-01"
    assert not SyncListEntry.objects.filter(department=law).exists()


def test_remove_saves_the_edits_typed_in_the_rows_it_keeps(client_a, institution_a, config):
    a, b = two_entries(institution_a, config)
    typed = {"end_date": "2027-01-31"}
    data = _typed_and_checked(a, b, typed, "remove")
    data["rows-1-end_date"] = "soon"  # typed in the removed row: it goes with the row

    r = client_a.post(reverse("sync-list-save"), data, follow=True)

    assert "Removed 1 entry from the sync list. Saved. 1 entry changed." in text(r)
    assert list(SyncListEntry.objects.values_list("id", "end_date")) == [(a.id, D(2027, 1, 31))]


def test_remove_with_a_bad_typed_row_it_keeps_removes_nothing(client_a, institution_a, config):
    a, b = two_entries(institution_a, config)
    data = _typed_and_checked(a, b, {"end_date": "31/01/2027"}, "remove")

    r = client_a.post(reverse("sync-list-save"), data)

    assert "Nothing was saved: correct the entries marked below." in text(r)
    assert shown_row(r, a)["end_date"].value() == "31/01/2027"
    assert SyncListEntry.objects.count() == 2


def test_removing_one_of_two_duplicates_saves_the_typed_rows(client_a, institution_a, config):
    a, b = two_entries(institution_a, config)
    CatalogCourse.objects.filter(canvas_id=505).update(sis_course_id="LAW-101-F26")
    CanvasConfig.objects.filter(id=config.id).update(course_id_type="sis")
    law = Department.objects.get(institution=institution_a)
    data = _typed_and_checked(a, b, {"department": law.id}, "remove")  # the same dates as the one removed

    r = client_a.post(reverse("sync-list-save"), data, follow=True)

    assert "Removed 1 entry from the sync list. Saved. 1 entry changed." in text(r)
    assert list(SyncListEntry.objects.values_list("id", "department")) == [(a.id, law.id)]


def test_bulk_remove_from_the_page(client_a, institution_a, config):
    a, b = two_entries(institution_a, config)
    r = client_a.post(reverse("sync-list-save"), {"action": "remove", "selected": [a.id, b.id]}, follow=True)
    assert "Removed 2 entries from the sync list." in text(r)
    assert not SyncListEntry.objects.exists()


def test_bulk_without_checked_rows_says_what_to_do(client_a, institution_a, config):
    two_entries(institution_a, config)
    r = client_a.post(reverse("sync-list-save"), {"action": "bulk_department"}, follow=True)
    assert "Check at least one row first" in text(r)


def test_admin_b_cannot_edit_or_remove_entries_of_a(client_b, institution_a, config):
    a, _ = two_entries(institution_a, config)
    r = client_b.post(reverse("sync-list-save"), {"action": "remove", "selected": [a.id]}, follow=True)
    assert "Removed 0 entries from the sync list." in text(r)
    r = client_b.post(reverse("sync-list-save"), rows_post({"entry": a.id, "end_date": "2030-01-01"}))
    assert r.status_code == 200
    assert "Nothing was saved." in text(r) and NOT_ON_LIST in text(r)
    r = client_b.post(reverse("sync-list-save"), {"action": "bulk_dates", "selected": [a.id], "bulk_end": "2030-01-01"})
    assert r.status_code == 200
    assert "Nothing was saved." in text(r) and NOT_ON_LIST in text(r)
    assert SyncListEntry.objects.filter(id=a.id).exists()
    a.refresh_from_db()
    assert a.end_date == D(2026, 12, 17)


def test_a_row_of_another_institution_is_refused_and_the_rest_shown_again(
    client_a, institution_a, institution_b, config
):
    a, b = two_entries(institution_a, config)
    make_catalog(institution_b, offset=10_000)
    config_b = CanvasConfig.objects.create(institution=institution_b)
    theirs = edit.add_course(institution_b, config_b, CatalogCourse.objects.get(canvas_id=10_501).id)
    data = rows_post(
        {"entry": a.id, "start_date": "2026-08-23", "end_date": "2026-12-20"},
        {"entry": theirs.id, "start_date": "2026-08-23", "end_date": "2030-01-01"},
    )

    r = client_a.post(reverse("sync-list-save"), data)

    assert r.status_code == 200
    body = text(r)
    assert "Nothing was saved." in body and NOT_ON_LIST in body
    # A's own rows again, under fresh indexes and with what was typed, so the page can be saved as it is.
    rows = r.context["rows"]
    assert [form.listed_entry.id for form in rows] == [a.id, b.id]
    assert 'name="rows-TOTAL_FORMS" value="2"' in body
    assert shown_row(r, a)["end_date"].value() == "2026-12-20"
    theirs.refresh_from_db()
    assert theirs.end_date == D(2026, 12, 18)  # as added: the term's end in London
    a.refresh_from_db()
    assert a.end_date == D(2026, 12, 17)


def test_a_forged_formset_is_refused_with_a_message(client_a, institution_a, config):
    a, _ = two_entries(institution_a, config)
    for data in (
        {"action": "save"},  # no management form
        {**rows_post({"entry": a.id}), "rows-TOTAL_FORMS": "3"},  # rows that were never on the page
        rows_post({"entry": "²"}),
    ):
        r = client_a.post(reverse("sync-list-save"), data)
        assert r.status_code == 200
        assert "Nothing was saved." in text(r)
    a.refresh_from_db()
    assert a.end_date == D(2026, 12, 17)


def test_edit_sync_list_tab_showstwo_entries(client_a, institution_a, config):
    two_entries(institution_a, config)
    body = text(client_a.get(reverse("sync-settings"), {"tab": "list"}))
    assert "Contracts I" in body and "Statistics I" in body
    assert "With checked rows" in body
    assert "Set department" in body


# --- after Save: what the next sync would not sync (warnings; everything is saved) -----------------

NOW = dt.datetime(2026, 12, 1, 17, tzinfo=dt.UTC)  # Fall 2026 ends on 2026-12-17 in New York


def _list_to_check(institution, config):
    """Contracts I ended on 2026-11-20 (its term ends 2026-12-17), Statistics I has no department, and
    Contracts I's Section A is listed beside the whole course (as a CSV import can list them)."""
    a, b = two_entries(institution, config)
    law = Department.objects.get(institution=institution)
    SyncListEntry.objects.filter(id=a.id).update(end_date=D(2026, 11, 20), department=law)
    part = SyncListEntry.objects.create(
        institution=institution, course=a.course, section=a.course.sections.get(canvas_id=801), department=law
    )
    return a, b, part


def _as_stored(*entries):
    rows = []
    for e in entries:
        e.refresh_from_db()
        rows.append(
            {
                "entry": e.id,
                "start_date": e.start_date or "",
                "end_date": e.end_date or "",
                "department": e.department_id or "",
            }
        )
    return rows


def test_save_warns_what_the_next_sync_would_not_sync_and_keeps_everything(
    client_a, institution_a, config, time_machine
):
    time_machine.move_to(NOW)
    a, b, part = _list_to_check(institution_a, config)
    rows = _as_stored(a, part, b)
    rows[2]["start_date"] = "2026-09-01"

    r = client_a.post(reverse("sync-list-save"), rows_post(*rows), follow=True)

    body = text(r)
    assert "Saved. 1 entry changed." in body
    assert (
        '<p class="message warning" role="alert">3 entries will not sync as they are: end date has passed (1), '
        "no department chosen (1), course listed together with its section (1). "
        "See “Before the next sync” below.</p>"
    ) in body
    groups = {group.code: group for group in r.context["warning_groups"]}
    assert [w.item.id for w in groups["entry_ended"].warnings] == [a.id]
    assert [w.item.id for w in groups["no_department"].warnings] == [b.id]
    assert [w.item.id for w in groups["course_and_section"].warnings] == [part.id]
    assert "Contracts I</strong>: ended Nov 20, 2026; its term ends Dec 17, 2026" in body
    assert "It will not sync until a department is set." in body
    assert "The course already includes its sections; remove the section entry or the course." in body
    assert 'aria-label="Extend Contracts I to term end, Dec 17, 2026">Extend to term end</button>' in body
    b.refresh_from_db()
    assert (b.start_date, b.department_id) == (D(2026, 9, 1), None)  # saved as posted, nothing lost
    assert SyncListEntry.objects.count() == 3


def test_a_bulk_action_warns_too(client_a, institution_a, config, time_machine):
    time_machine.move_to(NOW)
    a, b = two_entries(institution_a, config)
    data = {"action": "bulk_dates", "selected": [a.id], "bulk_end": "2026-11-30"}

    r = client_a.post(reverse("sync-list-save"), data, follow=True)

    body = text(r)
    assert "Saved. 1 entry changed." in body
    assert "2 entries will not sync as they are: end date has passed (1), no department chosen (1)." in body


def test_a_list_that_will_sync_saves_without_a_warning(client_a, institution_a, config, time_machine):
    time_machine.move_to(NOW)
    two_entries(institution_a, config)
    SyncListEntry.objects.update(department=Department.objects.get(institution=institution_a))

    r = client_a.post(reverse("sync-list-save"), rows_post(*_as_stored(*SyncListEntry.objects.all())), follow=True)

    body = text(r)
    assert "Saved. 0 entries changed." in body
    assert "will not sync" not in body and "Before the next sync" not in body


def test_extend_to_term_end_sets_the_term_end_and_saves_what_was_typed(client_a, institution_a, config, time_machine):
    time_machine.move_to(NOW)
    a, b, part = _list_to_check(institution_a, config)
    law = Department.objects.get(institution=institution_a)
    rows = _as_stored(a, part, b)
    rows[2]["department"] = law.id
    data = {**rows_post(*rows), "extend": str(a.id)}
    del data["action"]  # the clicked button's name and value are posted, not Save's

    r = client_a.post(reverse("sync-list-save"), data, follow=True)

    assert "Saved. 2 entries changed, 1 extended to the term end." in text(r)
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.end_date, b.department_id) == (D(2026, 12, 17), law.id)
    assert [group.code for group in r.context["warning_groups"]] == ["course_and_section"]


def test_extend_all_extends_every_entry_that_can_be(client_a, institution_a, config, time_machine):
    time_machine.move_to(NOW)
    a, b = two_entries(institution_a, config)
    SyncListEntry.objects.update(end_date=D(2026, 11, 20))
    data = {**rows_post(*_as_stored(a, b)), "extend": "all"}

    r = client_a.post(reverse("sync-list-save"), data, follow=True)

    assert "Saved. 2 entries changed, 2 extended to the term end." in text(r)
    assert set(SyncListEntry.objects.values_list("end_date", flat=True)) == {D(2026, 12, 17)}


def test_extend_all_is_offered_once_two_entries_can_be_extended(client_a, institution_a, config, time_machine):
    time_machine.move_to(NOW)
    a, b = two_entries(institution_a, config)
    SyncListEntry.objects.filter(id=a.id).update(end_date=D(2026, 11, 20))
    page = text(client_a.get(reverse("sync-settings"), {"tab": "list"}))
    assert "Extend to term end</button>" in page and "Extend all to term end" not in page

    SyncListEntry.objects.update(end_date=D(2026, 11, 20))
    page = text(client_a.get(reverse("sync-settings"), {"tab": "list"}))
    assert '<button type="submit" name="extend" value="all" class="small">Extend all to term end</button>' in page


def test_extend_refuses_an_entry_that_cannot_be_extended_and_saves_nothing(
    client_a, institution_a, config, time_machine
):
    time_machine.move_to(NOW)
    a, b = two_entries(institution_a, config)
    CatalogCourse.objects.filter(id=a.course_id).update(term_end_at=dt.datetime(2026, 11, 25, 17, tzinfo=dt.UTC))
    SyncListEntry.objects.filter(id=a.id).update(end_date=D(2026, 11, 20))  # and its term has ended too
    rows = _as_stored(a, b)
    rows[1]["start_date"] = "2026-09-01"

    r = client_a.post(reverse("sync-list-save"), {**rows_post(*rows), "extend": str(a.id)})

    body = text(r)
    assert r.status_code == 200
    assert "Nothing was saved." in body
    assert "“Contracts I” cannot be extended to its term end: Its term ended on Nov 25, 2026 too." in body
    assert shown_row(r, b)["start_date"].value() == "2026-09-01"  # what was typed is shown again
    b.refresh_from_db()
    assert b.start_date == D(2026, 8, 23)


def test_admin_b_cannot_extend_an_entry_of_a(client_b, institution_a, config, time_machine):
    time_machine.move_to(NOW)
    a, _ = two_entries(institution_a, config)
    SyncListEntry.objects.filter(id=a.id).update(end_date=D(2026, 11, 20))

    for extend in (str(a.id), "all"):
        r = client_b.post(reverse("sync-list-save"), {**rows_post(), "extend": extend})
        assert r.status_code == 200
        assert "Nothing was saved." in text(r)
    assert NOT_ON_LIST in text(client_b.post(reverse("sync-list-save"), {**rows_post(), "extend": str(a.id)}))
    a.refresh_from_db()
    assert a.end_date == D(2026, 11, 20)


def test_a_refused_bulk_action_keeps_its_rows_checked(client_a, institution_a, config):
    a, b = two_entries(institution_a, config)
    r = client_a.post(reverse("sync-list-save"), {"action": "bulk_dates", "selected": [a.id], "bulk_end": "soon"})

    body = text(r)
    assert f'name="selected" value="{a.id}" id="select-{a.id}" aria-label="Select Contracts I" checked>' in body
    assert f'name="selected" value="{b.id}" id="select-{b.id}" aria-label="Select Statistics I">' in body


def test_the_bulk_options_are_on_the_page_for_a_browser_without_javascript(client_a, institution_a, config):
    two_entries(institution_a, config)
    body = text(client_a.get(reverse("sync-settings"), {"tab": "list"}))
    assert '<fieldset class="bulk-bar" aria-labelledby="bulk-legend" data-bulk-bar>' in body  # not hidden
    assert 'href="/static/css/sync_settings.css"' in body


def test_a_list_of_hundreds_of_entries_saves(client_a, institution_a, config):
    """Save posts every row (4 fields each): Django's default limit of 1,000 fields refused a list of more
    than ~245 entries with a bare 400 before the view ran."""
    entries = [
        edit.add_course(institution_a, config, course.id)
        for course in CatalogCourse.objects.bulk_create(
            CatalogCourse(
                institution=institution_a,
                canvas_id=10_000 + i,
                name=f"Elective {i}",
                sis_course_id=f"ELEC-{i}",
                workflow_state="available",
            )
            for i in range(300)
        )
    ]
    law = Department.objects.get(institution=institution_a)
    rows = [
        {"entry": e.id, "start_date": "2026-09-01", "end_date": "2026-12-01", "department": law.id} for e in entries
    ]
    data = rows_post(*rows)
    assert len(data) > 1_000

    r = client_a.post(reverse("sync-list-save"), data, follow=True)

    assert r.status_code == 200
    assert "Saved. 300 entries changed." in text(r)
    assert SyncListEntry.objects.filter(id__in=[e.id for e in entries], department=law).count() == 300
