from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse

from lms_canvas.models import CanvasConfig
from portal.models import Department
from sync.models import CatalogCourse, CatalogSection, SyncListEntry
from sync.synclist import csv_io, edit
from tests.sync.catalog_helpers import make_catalog, text

D = dt.date


@pytest.fixture
def config(institution_a):
    make_catalog(institution_a)
    return CanvasConfig.objects.create(institution=institution_a)


def course(canvas_id):
    return CatalogCourse.objects.get(canvas_id=canvas_id)


def section(canvas_id):
    return CatalogSection.objects.get(canvas_id=canvas_id)


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


def _entries(institution_a, config):
    a = edit.add_course(institution_a, config, course(501).id)
    b = edit.add_course(institution_a, config, course(505).id)
    return a, b


def test_end_before_start_is_refused_by_field(institution_a, config):
    a, _ = _entries(institution_a, config)
    change = edit.RowChange(start_date=D(2026, 9, 1), end_date=D(2026, 8, 1), set_start=True, set_end=True)

    result = edit.save_rows(institution_a, config, {a.id: change})

    assert result.errors == {a.id: {"end_date": "End Date is before Start Date."}}
    a.refresh_from_db()
    assert a.start_date == D(2026, 8, 23)


def test_department_of_another_institution_is_refused(institution_a, institution_b, config):
    a, _ = _entries(institution_a, config)
    foreign = Department.objects.get(institution=institution_b)

    result = edit.save_rows(institution_a, config, {a.id: edit.RowChange(department_id=foreign.id)})

    assert result.errors[a.id]["department"] == "Choose one of your institution's departments."


def test_a_duplicate_course_id_and_dates_is_refused(institution_a, config):
    a, b = _entries(institution_a, config)
    course(505).__class__.objects.filter(canvas_id=505).update(sis_course_id="LAW-101-F26")
    CanvasConfig.objects.filter(id=config.id).update(course_id_type="sis")
    result = edit.save_rows(institution_a, config, {})

    assert (
        "Another entry has the same Course ID, Start Date and End Date: Contracts I (LAW-101-F26)."
        in (result.errors[b.id]["entry"])
    )


def test_a_course_no_longer_in_the_catalogue_is_reported(institution_a, config):
    a, _ = _entries(institution_a, config)
    CatalogCourse.objects.filter(canvas_id=501).update(gone_at="2026-01-01T00:00:00Z")

    result = edit.save_rows(institution_a, config, {a.id: edit.RowChange(end_date=D(2027, 1, 1), set_end=True)})

    assert result.errors[a.id]["entry"].startswith("This course is no longer in the course list")


def test_a_bad_date_is_reported(institution_a, config):
    a, _ = _entries(institution_a, config)
    result = edit.save_rows(institution_a, config, {a.id: edit.RowChange(start_date="31/12", set_start=True)})
    assert result.errors[a.id]["start_date"] == "Enter a date as YYYY-MM-DD."


def test_bulk_set_dates_and_department(institution_a, config):
    a, b = _entries(institution_a, config)
    law = Department.objects.get(institution=institution_a)

    edit.bulk_change(institution_a, config, [a.id, b.id], edit.RowChange(department_id=law.id))
    result = edit.bulk_change(
        institution_a, config, [a.id, b.id], edit.RowChange(end_date=D(2027, 1, 31), set_end=True)
    )

    assert result.ok and result.saved == 2
    assert set(SyncListEntry.objects.values_list("department", "end_date")) == {(law.id, D(2027, 1, 31))}


def test_remove_only_touches_my_entries(institution_a, institution_b, config):
    a, b = _entries(institution_a, config)
    assert edit.remove(institution_b, [a.id]) == 0
    assert edit.remove(institution_a, [a.id]) == 1
    assert list(SyncListEntry.objects.values_list("id", flat=True)) == [b.id]


# --- the Edit Sync List page ---------------------------------------------------------------------


def test_save_rerenders_with_the_message_beside_the_field(client_a, institution_a, config):
    a, _ = _entries(institution_a, config)
    data = {"action": "save", "row": [a.id], f"start_{a.id}": "2026-09-01", f"end_{a.id}": "2026-08-01"}

    r = client_a.post(reverse("sync-list-save"), data)

    assert r.status_code == 200
    body = text(r)
    assert "Nothing was saved: correct the entries marked below." in body
    assert f'<ul class="errorlist" id="end_{a.id}-errors"><li>End Date is before Start Date.</li></ul>' in body


def test_save_applies_dates_and_department(client_a, institution_a, config):
    a, _ = _entries(institution_a, config)
    law = Department.objects.get(institution=institution_a)
    data = {"row": [a.id], f"start_{a.id}": "2026-09-01", f"end_{a.id}": "2026-12-01", f"department_{a.id}": law.id}

    r = client_a.post(reverse("sync-list-save"), {"action": "save", **data}, follow=True)

    assert "Saved. 1 entry changed." in text(r)
    a.refresh_from_db()
    assert (a.start_date, a.end_date, a.department_id) == (D(2026, 9, 1), D(2026, 12, 1), law.id)


def test_bulk_remove_from_the_page(client_a, institution_a, config):
    a, b = _entries(institution_a, config)
    r = client_a.post(reverse("sync-list-save"), {"action": "remove", "selected": [a.id, b.id]}, follow=True)
    assert "Removed 2 entries from the sync list." in text(r)
    assert not SyncListEntry.objects.exists()


def test_bulk_without_checked_rows_says_what_to_do(client_a, institution_a, config):
    _entries(institution_a, config)
    r = client_a.post(reverse("sync-list-save"), {"action": "bulk_department"}, follow=True)
    assert "Check at least one row first" in text(r)


def test_admin_b_cannot_edit_or_remove_entries_of_a(client_b, institution_a, config):
    a, _ = _entries(institution_a, config)
    r = client_b.post(reverse("sync-list-save"), {"action": "remove", "selected": [a.id]}, follow=True)
    assert "Removed 0 entries from the sync list." in text(r)
    r = client_b.post(reverse("sync-list-save"), {"action": "save", "row": [a.id], f"end_{a.id}": "2030-01-01"})
    assert r.status_code == 200
    assert "Nothing was saved" in text(r)
    assert SyncListEntry.objects.filter(id=a.id).exists()
    a.refresh_from_db()
    assert a.end_date == D(2026, 12, 17)


def test_edit_sync_list_tab_shows_entries(client_a, institution_a, config):
    _entries(institution_a, config)
    body = text(client_a.get(reverse("sync-settings"), {"tab": "list"}))
    assert "Contracts I" in body and "Statistics I" in body
    assert "With checked rows" in body
    assert "Set department" in body


# --- CSV ------------------------------------------------------------------------------------------


def test_export_lists_the_sync_list(client_a, institution_a, config):
    _entries(institution_a, config)
    r = client_a.get(reverse("sync-list-export"))
    lines = r.content.decode().splitlines()
    assert lines[0] == ",".join(csv_io.HEADER)
    assert "501,,LAW-101-F26,Contracts I,,2026-08-23,2026-12-17," in lines


def test_export_is_per_institution(client_b, institution_a, config):
    _entries(institution_a, config)
    assert "Contracts I" not in client_b.get(reverse("sync-list-export")).content.decode()


CSV = "Canvas Course Id,Canvas Section Id,Start Date,End Date,Department\n501,,2026-09-01,2026-12-01,Law\n505,,,,\n"


def test_import_add_previews_then_applies(client_a, institution_a, config):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("list.csv", CSV.encode(), content_type="text/csv")
    r = client_a.post(reverse("sync-list-import"), {"file": upload, "mode": "add"})

    body = text(r)
    assert "Import preview (Add)" in body
    assert "To add: 2" in body.replace("<strong>", "").replace("</strong>", "")
    assert not SyncListEntry.objects.exists()  # a preview changes nothing

    r = client_a.post(reverse("sync-list-import-apply"), {"csv_text": CSV, "mode": "add"}, follow=True)

    assert "Imported (Add): 2 entries changed." in text(r)
    entry = SyncListEntry.objects.get(course__canvas_id=501)
    assert (entry.start_date, entry.department.name) == (D(2026, 9, 1), "Law")


def test_import_remove_and_replace(institution_a, config):
    a, b = _entries(institution_a, config)
    plan = csv_io.plan_import(institution_a, config, "Canvas Course Id\n501\n", "remove")
    assert plan.counts["remove"] == 1
    csv_io.apply_import(institution_a, plan)
    assert list(SyncListEntry.objects.values_list("id", flat=True)) == [b.id]

    plan = csv_io.plan_import(institution_a, config, "Canvas Course Id,Canvas Section Id\n501,801\n", "replace")
    assert plan.counts == {"add": 1, "update": 0, "remove": 1, "unchanged": 0, "not listed": 0}
    csv_io.apply_import(institution_a, plan)
    assert list(SyncListEntry.objects.values_list("section__canvas_id", flat=True)) == [801]


def test_import_errors_name_the_line_and_block_applying(institution_a, institution_b, config):
    text_csv = (
        "Course ID,Start Date,End Date,Department\n"
        "NOPE,,,\n"
        "LAW-101-F26,2026-09-01,2026-08-01,\n"
        "STAT-101-F26,,,Medicine\n"
        "PHIL-202-F26,,,\n"
    )
    plan = csv_io.plan_import(institution_a, config, text_csv, "replace")

    assert plan.errors == [
        (2, "No course in your course list has Course ID “NOPE”."),
        (3, "End Date is before Start Date."),
        (4, "No department named “Medicine” in your institution."),
        (5, "“Philosophy II” cannot be synced: Unpublished in Canvas: publish it in Canvas, then refresh courses."),
    ]
    with pytest.raises(ValueError):
        csv_io.apply_import(institution_a, plan)


def test_import_without_an_id_column_says_so(institution_a, config):
    plan = csv_io.plan_import(institution_a, config, "Name\nX\n", "add")
    assert plan.errors == [(1, csv_io.NO_KEY_COLUMN)]


def test_import_apply_rechecks_against_my_catalogue(client_b, institution_a, config):
    r = client_b.post(reverse("sync-list-import-apply"), {"csv_text": CSV, "mode": "add"})
    assert "No course in your course list has Canvas Course Id 501." in text(r)
    assert not SyncListEntry.objects.exists()


def test_import_without_a_file_says_so(client_a, institution_a, config):
    r = client_a.post(reverse("sync-list-import"), {"mode": "add"})
    assert "Choose a CSV file to import." in text(r)


FORMULA_IDS = ['=HYPERLINK("https://evil.test","Open")', "\tcmd", "+1+1", "-2+3"]


def _formula_courses(institution, config) -> list:
    ops = Department.objects.create(institution=institution, name="=Ops")
    entries = []
    for n, sis in enumerate(FORMULA_IDS):
        catalog_course = CatalogCourse.objects.create(
            institution=institution,
            canvas_id=900 + n,
            name=f"@Course {n}",
            sis_course_id=sis,
            workflow_state="available",
        )
        entry = edit.add_course(institution, config, catalog_course.id)
        entry.department = ops
        entry.save()
        entries.append(entry)
    return entries


def test_export_marks_formula_cells_as_text(institution_a, config):
    _formula_courses(institution_a, config)

    rows = list(csv.reader(io.StringIO(csv_io.export_csv(institution_a, config), newline="")))

    cells = [cell for row in rows[1:] for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t")]
    assert {row[2] for row in rows[1:]} == {"'" + sis for sis in FORMULA_IDS}
    assert {row[7] for row in rows[1:]} == {"'=Ops"}


def test_the_export_imports_back_unchanged_by_canvas_id_or_by_course_id(institution_a, config):
    _formula_courses(institution_a, config)
    exported = csv_io.export_csv(institution_a, config)

    plan = csv_io.plan_import(institution_a, config, exported, "replace")
    assert plan.errors == [] and plan.counts["unchanged"] == len(FORMULA_IDS) and not plan.has_changes

    # Without the Canvas Course Id column the rows are found by their (marked) Course ID.
    rows = list(csv.reader(io.StringIO(exported, newline="")))
    out = io.StringIO()
    csv.writer(out).writerows([row[2:] for row in rows])
    plan = csv_io.plan_import(institution_a, config, out.getvalue(), "replace")
    assert plan.errors == [] and plan.counts["unchanged"] == len(FORMULA_IDS)


def test_an_entry_is_labelled_by_its_course_and_section(config, institution_a):
    whole = SyncListEntry(institution=institution_a, course=course(501))
    one = SyncListEntry(institution=institution_a, course=course(501), section=section(801))
    assert whole.label == "Contracts I"
    assert one.label == "Contracts I / Section A"
    assert SyncListEntry.label_for(course(501), section(801)) == one.label
