"""Every audited change leaves an entry naming who made it and what changed, whichever path made it:
LMS Settings, Configure, the sync list (add, edit, bulk, remove, CSV import), the schedule in Django
admin, Sync Now, an approved held course, a grade post. A secret is never recorded, not even encrypted."""

from __future__ import annotations

import pytest
from auditlog.registry import auditlog
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from lms_canvas.fields import EncryptedTextField
from lms_canvas.models import CanvasConfig, CanvasConnection
from portal.models import Department
from sync.audit import tracking
from sync.audit.models import Area, AuditEntry
from sync.engine import start_sync
from sync.models import CatalogCourse, CourseResultStatus, RunStatus, RunTrigger, SyncListEntry, SyncRun
from tests.sync.catalog_helpers import make_catalog
from tests.sync.engine_helpers import add_entry, catalog_from_sim, sync
from tests.sync.passback_helpers import make_course, make_exam
from tests.sync.synclist.helpers import rows_post

pytestmark = pytest.mark.django_db

SECRET = "a-client-secret-of-alpha-0123456789"
NEW_SECRET = "the-next-client-secret-of-alpha-987"


def only(area: str, **filters) -> AuditEntry:
    return AuditEntry.objects.filter(area=area, **filters).get()


def changes(entry: AuditEntry, roles: dict[int, str] | None = None) -> dict:
    return {c.label: (c.before, c.after) for c in entry.describe(entry.institution.tz, roles).changes}


@pytest.fixture
def no_preflight(monkeypatch):
    """LMS Settings asks Canvas whether it accepts the key; here nothing answers, and nothing needs to."""
    monkeypatch.setattr("lms_canvas.oauth.preflight", lambda conn: [])


@pytest.fixture
def catalog_a(institution_a):
    CanvasConfig.objects.create(institution=institution_a)
    make_catalog(institution_a)
    return institution_a


def save_lms_settings(client, **data):
    base = {"lms_type": "dev_key", "server_url": "https://canvas.example.edu", "client_id": "170000000000001"}
    return client.post(reverse("lms-settings"), {**base, **data})


def test_lms_settings_names_the_admin_and_records_the_secret_only_as_set(
    client_a, admin_a, institution_a, no_preflight
):
    save_lms_settings(client_a, client_secret=SECRET)
    save_lms_settings(client_a, server_url="https://canvas2.example.edu", client_secret=NEW_SECRET)

    saves = AuditEntry.objects.filter(area=Area.LMS_SETTINGS, action=AuditEntry.Action.UPDATE)
    first, second = saves.order_by("id")
    assert first.actor == admin_a and first.actor_email == "alice@alpha.test"
    assert first.institution == institution_a
    assert changes(first)["Canvas Server"] == ("—", "https://canvas.example.edu")
    assert changes(first)["Client Secret"] == ("—", tracking.HIDDEN)
    assert changes(second)["Canvas Server"] == ("https://canvas.example.edu", "https://canvas2.example.edu")
    assert changes(second)["Client Secret"] == (tracking.HIDDEN, tracking.HIDDEN)


def test_configure_names_the_admin_and_the_roles_by_name(client_a, admin_a, connected):
    config = CanvasConfig.objects.get(institution=connected.institution)
    roles = {r["label"]: r["id"] for r in config.available_roles}
    data = {
        "course_id_type": "canvas",
        "section_id_type": "sis",
        "student_id_type": "email",
        "course_admin_role_ids": [roles["Teacher"]],
        "student_role_ids": [roles["Student"]],
    }

    r = client_a.post(reverse("canvas-configure"), data)

    assert r.status_code == 302
    entry = only(Area.CONFIGURE, actor=admin_a)
    assert changes(entry)["Course ID Type"] == ("SIS ID", "Course ID")
    assert changes(entry)["Student ID Type"] == ("SIS ID", "Email")
    names = {r["id"]: r["label"] for r in config.available_roles}
    assert changes(entry, names)["Course Admin Roles"][1] == "Teacher"


def test_the_sync_list_records_add_edit_bulk_and_remove_by_whom(client_a, admin_a, catalog_a):
    contracts = CatalogCourse.objects.get(canvas_id=501)
    client_a.post(reverse("sync-add-course", args=[contracts.id]), HTTP_HX_REQUEST="true")
    entry = SyncListEntry.objects.get()
    added = only(Area.SYNC_LIST, action=AuditEntry.Action.CREATE)
    assert added.actor == admin_a and "Contracts I" in added.object_repr
    assert changes(added)["Course"] == ("", str(contracts))

    row = {"entry": entry.id, "start_date": "2026-09-01", "end_date": "2026-12-01", "department": ""}
    client_a.post(reverse("sync-list-save"), rows_post(row))
    law = Department.objects.get(name="Law")
    bulk = {"action": "bulk_department", "selected": [entry.id], "bulk_department": law.id}
    client_a.post(reverse("sync-list-save"), bulk)
    client_a.post(reverse("sync-list-save"), {"action": "remove", "selected": [entry.id]})

    edited, moved = AuditEntry.objects.filter(area=Area.SYNC_LIST, action=AuditEntry.Action.UPDATE).order_by("id")
    assert changes(edited)["End date"] == ("Dec 17, 2026", "Dec 1, 2026")  # as every page writes a date
    assert changes(moved)["Department"] == ("—", "Law")
    removed = only(Area.SYNC_LIST, action=AuditEntry.Action.DELETE)
    assert removed.actor == admin_a and changes(removed)["Course"] == ("", str(contracts))
    assert {e.actor for e in AuditEntry.objects.filter(area=Area.SYNC_LIST)} == {admin_a}


def test_a_csv_import_records_each_entry_it_adds(client_a, admin_a, catalog_a):
    csv_text = "Canvas Course Id,Canvas Section Id,Start Date,End Date,Department\n501,,2026-09-01,,Law\n505,,,,\n"
    upload = SimpleUploadedFile("list.csv", csv_text.encode(), content_type="text/csv")
    client_a.post(reverse("sync-list-import"), {"file": upload, "mode": "add"})
    assert not AuditEntry.objects.filter(area=Area.SYNC_LIST).exists()  # a preview changes nothing

    client_a.post(reverse("sync-list-import-apply"), {"csv_text": csv_text, "mode": "add"})

    added = AuditEntry.objects.filter(area=Area.SYNC_LIST, action=AuditEntry.Action.CREATE)
    assert sorted(e.object_repr for e in added) == ["Contracts I (501)", "Statistics I (505)"]
    assert {e.actor for e in added} == {admin_a}


def admin_form_data(response) -> dict:
    """What the browser would post back from a Django admin change page, untouched."""
    form = response.context["adminform"].form
    data = {}
    for name, bound in ((n, form[n]) for n in form.fields):
        value = bound.value()
        if value is not None:
            data[name] = value
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for name, bound in ((n, formset.management_form[n]) for n in formset.management_form.fields):
            data[f"{formset.prefix}-{name}"] = bound.value()
        for f in formset.forms:
            for name in f.fields:
                value = f[name].value()
                if value is not None:
                    data[f"{f.prefix}-{name}"] = value
    return data


def test_support_changing_the_schedule_in_django_admin_is_recorded(client, support_user, institution_a):
    client.force_login(support_user)
    url = reverse("admin:portal_institution_change", args=[institution_a.id])
    data = admin_form_data(client.get(url))
    data.update(nightly_sync_hour=4, timezone="America/Chicago", notification_emails="registrar@alpha.test")

    r = client.post(url, data)

    assert r.status_code == 302, r.context["adminform"].form.errors if r.context else r
    entry = only(Area.SCHEDULE, actor=support_user)
    assert entry.institution == institution_a
    assert changes(entry) == {
        "Nightly sync hour": ("2", "4"),
        "Timezone": ("America/New_York", "America/Chicago"),
        "Notification emails": ("—", "registrar@alpha.test"),
    }
    assert entry.describe(institution_a.tz).who == "sam@support.test (support)"


@pytest.fixture
def listed(connected, sim, institution_a):
    catalog_from_sim(institution_a, sim)
    add_entry(institution_a, 501)
    AuditEntry.objects.all().delete()  # what the fixtures themselves wrote
    return institution_a


def test_sync_now_names_who_started_it_and_nightly_runs_are_not_on_the_trail(client_a, admin_a, listed, monkeypatch):
    monkeypatch.setattr("sync.engine.runner.send_first", lambda run_id: None)
    client_a.post(reverse("sync-now"))
    SyncRun.objects.update(status=RunStatus.SUCCEEDED)
    start_sync(listed, trigger=RunTrigger.NIGHTLY, enqueue=False)

    entry = only(Area.RUNS)
    assert entry.actor == admin_a
    row = entry.describe(listed.tz)
    assert (row.action, row.object, row.run_id) == ("Sync Now", f"Sync #{entry.object_id}", entry.object_id)
    assert changes(entry)["Trigger"] == ("", "Admin")


def test_approving_a_held_course_names_who_approved_it(client_a, admin_a, listed, sim):
    sync(listed)
    sim.control("mutate", {"delete": {"enrollments": [9001, 9002]}})
    run = sync(listed)
    result = run.course_results.get()
    assert result.status == CourseResultStatus.HELD

    client_a.post(reverse("sync-run-approve", args=[run.id, result.id]))

    entry = only(Area.HELD)
    assert entry.actor == admin_a and entry.institution == listed
    row = entry.describe(listed.tz)
    assert (row.action, row.run_id) == ("Approved a held course", run.id)
    assert changes(entry)["Status"] == ("Held", "Approved and applied")
    assert changes(entry)["Deactivated"] == ("", "2")


def test_posting_grades_names_who_posted_them_and_the_exam(client_a, admin_a, institution_a, monkeypatch):
    monkeypatch.setattr("sync.tasks.post_scores_task.delay", lambda run_id: None)
    exam = make_exam(make_course(institution_a), {"S0001": "40"}, points="50")

    client_a.post(reverse("exam-post", args=[exam.id]), {"overwrite_conflicts": "on", "confirmed": "1"})

    entry = only(Area.GRADES)
    assert entry.actor == admin_a and entry.institution == institution_a
    assert entry.describe(institution_a.tz).action == "Posted grades"
    assert changes(entry)["Exam"] == ("", exam.title)
    assert changes(entry)["Grades changed in Canvas"] == ("", "overwritten")


def test_a_check_against_canvas_is_recorded_as_a_check_not_a_post(client_a, admin_a, institution_a, monkeypatch):
    monkeypatch.setattr("sync.tasks.post_scores_task.delay", lambda run_id: None)
    exam = make_exam(make_course(institution_a), {"S0001": "40"}, points="50")
    exam.scores.update(post_status="posted", posted_score=40, posted_at="2026-11-30T10:00:00Z")

    client_a.post(reverse("exam-check", args=[exam.id]))

    entry = only(Area.GRADES)
    assert entry.actor == admin_a
    assert entry.describe(institution_a.tz).action == "Checked grades against Canvas"
    assert "Grades changed in Canvas" not in changes(entry)


def test_no_tracked_field_can_hold_a_secret():
    """Every encrypted field of a tracked model is untracked, or recorded only as set or not."""
    for model in auditlog.get_models():
        fields = auditlog.get_model_fields(model)
        for field in model._meta.fields:
            if not isinstance(field, EncryptedTextField):
                continue
            tracked = field.name in fields["include_fields"] and field.name not in fields["exclude_fields"]
            if tracked:
                assert field.name in fields["mask_fields"], f"{model.__name__}.{field.name} would be recorded"
                assert fields["mask_callable"] == "sync.audit.tracking.hide"
    assert tracking.hide(SECRET) == tracking.HIDDEN and tracking.hide("") == ""


def test_no_entry_holds_a_secret_or_its_ciphertext(client_a, institution_a, no_preflight):
    save_lms_settings(client_a, client_secret=SECRET)
    conn = CanvasConnection.objects.get(institution=institution_a)
    conn.access_token, conn.refresh_token = "an-access-token-0123456789", "a-refresh-token-0123456789"
    conn.save()
    save_lms_settings(client_a, client_secret=NEW_SECRET)

    assert AuditEntry.objects.filter(area=Area.LMS_SETTINGS, action=AuditEntry.Action.UPDATE).count() == 2
    rows = repr(list(AuditEntry.objects.values()))
    for value in (SECRET, NEW_SECRET, "an-access-token", "a-refresh-token", "gAAAAA"):
        assert value not in rows


def test_a_forged_forwarded_for_header_is_not_recorded_as_the_address(client_a, institution_a, no_preflight):
    client_a.post(
        reverse("lms-settings"),
        {"lms_type": "dev_key", "server_url": "https://canvas.example.edu", "client_id": "1", "client_secret": "s"},
        HTTP_X_FORWARDED_FOR="203.0.113.66",
    )

    entry = only(Area.LMS_SETTINGS, action=AuditEntry.Action.UPDATE)
    assert entry.remote_addr == "127.0.0.1"
