from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse

from portal.models import Department
from sync.models import CatalogCourse, SyncListEntry
from sync.synclist import csv_io, edit
from tests.sync.catalog_helpers import text
from tests.sync.synclist.helpers import two_entries

D = dt.date


def test_export_lists_the_sync_list(client_a, institution_a, config):
    two_entries(institution_a, config)
    r = client_a.get(reverse("sync-list-export"))
    lines = r.content.decode().splitlines()
    assert lines[0] == ",".join(csv_io.HEADER)
    assert "501,,LAW-101-F26,Contracts I,,2026-08-23,2026-12-17," in lines


def test_export_is_per_institution(client_b, institution_a, config):
    two_entries(institution_a, config)
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
    a, b = two_entries(institution_a, config)
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


def test_a_file_with_a_nul_character_is_refused_naming_its_line_and_lists_nothing(client_a, institution_a, config):
    # PostgreSQL refused the lookup of a NUL-bearing Course ID: the upload was a 500 (found by
    # tests/security/test_properties.py on CI). A CSV saved as UTF-16 has a NUL after every character.
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = b"Course ID,Start Date\nLAW-101-F26,\nSTAT\x00-101-F26,\n"
    upload = SimpleUploadedFile("list.csv", data, content_type="text/csv")
    r = client_a.post(reverse("sync-list-import"), {"file": upload, "mode": "add"})

    assert r.status_code == 200
    assert "Line 3 contains a NUL character (a zero byte)" in text(r)
    assert "save it as “CSV UTF-8” and try again" in text(r)
    assert "Apply import" not in text(r)
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
