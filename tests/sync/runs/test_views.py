"""Sync Now, Preview/Apply, View History, the run page, CSV, the help page and the why-search."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from portal.models import Enrollment
from sync.engine import start_sync
from sync.models import CourseResultStatus, RunStatus, SyncIssue, SyncRun
from sync.runs.reasons import REASONS
from tests.sync.engine_helpers import add_entry, catalog_from_sim, run_queued, sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def listed(connected, sim, institution_a):
    catalog_from_sim(institution_a, sim)
    add_entry(institution_a, 501)
    return institution_a


@pytest.fixture
def no_queue(monkeypatch):
    """The runs whose batches were to be sent (none is: no broker in these tests)."""
    sent: list[int] = []
    monkeypatch.setattr("sync.engine.runner.send_first", sent.append)
    return sent


def test_sync_now_creates_a_run_and_enqueues_its_courses(
    client_a, listed, no_queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        r = client_a.post(reverse("sync-now"))
    run = SyncRun.objects.get()
    assert r.status_code == 302 and r.url == reverse("sync-run", args=[run.id])
    assert run.kind == "sync" and run.trigger == "admin" and run.requested_by.email == "alice@alpha.test"
    assert no_queue == [run.id] and run.course_results.count() == 1


def test_a_second_click_says_a_sync_is_running_and_links_to_it(client_a, listed, no_queue):
    client_a.post(reverse("sync-now"))
    r = client_a.post(reverse("sync-now"), follow=True)
    run = SyncRun.objects.get()
    assert (
        f'A sync is already running: <a href="{reverse("sync-run", args=[run.id])}">Sync #{run.id}</a>'
        in r.content.decode()
    )


def test_sync_now_needs_a_post(client_a, listed):
    assert client_a.get(reverse("sync-now")).status_code == 405


def test_sync_now_without_a_verified_connection_records_why(client_a, institution_a):
    r = client_a.post(reverse("sync-now"), follow=True)
    run = SyncRun.objects.get()
    assert run.status == RunStatus.SKIPPED
    assert "not Verified" in r.content.decode()


def test_sync_now_on_an_empty_list_says_so_and_makes_no_run(client_a, connected):
    r = client_a.post(reverse("sync-now"), follow=True)

    assert not SyncRun.objects.exists()  # it made a run "Finished with issues" with "1 issue"
    assert r.redirect_chain[-1][0] == reverse("sync-settings")
    assert "Your sync list is empty, so there is nothing to sync yet." in r.content.decode()


def test_the_run_page_shows_courses_issues_and_links_to_canvas_and_help(client_a, listed, sim):
    run = sync(listed)
    r = client_a.get(reverse("sync-run", args=[run.id]))
    body = r.content.decode()
    assert "Contracts I" in body and "Finished with issues" in body
    assert f"{reverse('sync-errors')}#pending_invitation" in body
    assert f"{sim.url}/courses/501/users/104" in body
    assert f'href="{sim.url}/courses/501"' in body
    assert "Counted: portal records (courses, sections, exam-takers, course admins and their enrollments)" in body


def test_issues_filter_by_reason(client_a, listed):
    run = sync(listed)
    body = client_a.get(reverse("sync-run", args=[run.id]), {"code": "test_student"}).content.decode()
    assert "Test Student" in body and "Ngozi" not in body.split('id="issues"')[1]


def test_the_csv_lists_every_issue_with_reason_and_fix(client_a, listed):
    run = sync(listed)
    r = client_a.get(reverse("sync-run-csv", args=[run.id]))
    rows = list(csv.reader(io.StringIO(r.content.decode())))
    assert r["Content-Type"].startswith("text/csv")
    assert rows[0][2] == "reason code" and len(rows) == 1 + run.issues.count()
    assert {row[2] for row in rows[1:]} >= {"pending_invitation", "test_student"}


def test_progress_fragment_polls_while_running_and_refreshes_when_done(client_a, listed, no_queue):
    run = start_sync(listed)
    r = client_a.get(reverse("sync-run-progress", args=[run.id]))
    assert 'hx-trigger="every 1s"' in r.content.decode() and "HX-Refresh" not in r
    SyncRun.objects.filter(id=run.id).update(status=RunStatus.SUCCEEDED)
    assert client_a.get(reverse("sync-run-progress", args=[run.id]))["HX-Refresh"] == "true"


def test_preview_then_apply(client_a, listed, no_queue):
    preview = sync(listed, preview=True)
    body = client_a.get(reverse("sync-run", args=[preview.id])).content.decode()
    assert "Apply these changes?" in body and "Ada Lovelace" in body
    r = client_a.post(reverse("sync-run-apply", args=[preview.id]))
    applied = SyncRun.objects.exclude(id=preview.id).get()
    assert r.url == reverse("sync-run", args=[applied.id]) and not applied.params["preview"]


def test_approve_from_the_run_page(client_a, listed, sim):
    sync(listed)
    sim.control("mutate", {"delete": {"enrollments": [9001, 9002]}})
    run = sync(listed)
    result = run.course_results.get()
    assert result.status == CourseResultStatus.HELD
    client_a.post(reverse("sync-run-approve", args=[run.id, result.id]))
    result.refresh_from_db()
    assert result.status == CourseResultStatus.APPROVED
    assert not Enrollment.objects.filter(status="active").exists()


def test_history_lists_runs_with_filters_and_chart_data(client_a, listed):
    run = sync(listed)
    r = client_a.get(reverse("sync-history"))
    body = r.content.decode()
    assert f"#{run.id}" in body and "history-chart-data" in body and "chart.umd.min.js" in body
    assert f"#{run.id}" not in client_a.get(reverse("sync-history"), {"status": "failed"}).content.decode()
    assert client_a.get(reverse("sync-history"), {"status": "<bad>", "page": "x"}).status_code == 200


def test_the_help_page_explains_every_reason(client_a):
    body = client_a.get(reverse("sync-errors")).content.decode()
    for code, reason in REASONS.items():
        assert f'id="{code}"' in body and reason.title.replace("'", "&#x27;") in body


def test_why_explains_a_pending_person_and_an_unlisted_course(client_a, listed):
    sync(listed)
    body = client_a.get(reverse("sync-why"), {"q": "104"}).content.decode()
    assert "José García" in body and "pending_invitation" in body
    body = client_a.get(reverse("sync-why"), {"q": "STAT-101-F26"}).content.decode()
    assert "not on the sync list" in body
    body = client_a.get(reverse("sync-why"), {"q": "S0001"}).content.decode()
    assert "Synced into LAW-101-F26" in body


@pytest.mark.parametrize("name", ["sync-run", "sync-run-csv", "sync-run-progress"])
def test_another_institutions_run_is_a_404(client_b, listed, name):
    run = sync(listed)
    assert client_b.get(reverse(name, args=[run.id])).status_code == 404


def test_it_requires_access(client, support_user, listed):
    assert client.get(reverse("sync-history")).status_code == 302
    client.force_login(support_user)
    assert client.get(reverse("sync-history")).status_code == 403


def test_support_can_sync_now_and_approve_from_django_admin(client, support_user, listed, sim, no_queue):
    client.force_login(support_user)
    entry_ids = list(listed.sync_entries.values_list("id", flat=True))
    client.post(
        reverse("admin:sync_synclistentry_changelist"), {"action": "sync_now_action", "_selected_action": entry_ids}
    )
    run = SyncRun.objects.get()
    assert run.trigger == "support"

    run_queued(run)
    sim.control("mutate", {"delete": {"enrollments": [9001, 9002]}})
    held = sync(listed)
    r = client.post(
        reverse("admin:sync_syncrun_changelist"),
        {"action": "approve_held_action", "_selected_action": [held.id]},
        follow=True,
    )
    assert "1 of 1 held course approved" in r.content.decode()


def test_support_reads_a_run_of_thousands_of_problems_as_counts_that_link_to_them(client, support_user, listed):
    run = sync(listed)
    found = run.issues.count()
    inactive = run.issues.filter(code="inactive_enrollment").count()
    SyncIssue.objects.bulk_create(
        SyncIssue(
            institution=run.institution,
            run=run,
            code="inactive_enrollment",
            object_type="enrollment",
            canvas_id=100_000 + n,
            label=f"Inactive person {n}",
            message="Inactive in Canvas.",
        )
        for n in range(2_000)
    )
    client.force_login(support_user)

    page = client.get(reverse("admin:sync_syncrun_change", args=[run.id])).content.decode()
    listed_problems = client.get(
        reverse("admin:sync_syncissue_changelist"), {"run__id__exact": run.id, "code__exact": "inactive_enrollment"}
    ).content.decode()

    # Once every problem was a row of this page: 2,000 rows here, tens of thousands on a first night.
    assert "Inactive person" not in page
    assert f"{found + 2_000} first seen in this run</a>" in page
    assert (
        f'?run__id__exact={run.id}&amp;code__exact=inactive_enrollment">{inactive + 2_000} inactive_enrollment</a>'
        in page
    )
    assert f"{inactive + 2_000} sync issues" in " ".join(listed_problems.split())
    assert "Inactive person 0" in listed_problems


def test_the_csv_marks_formula_cells_as_text(client_a, listed):
    run = sync(listed)
    # A code an older version wrote has no sentence of its own: the message is the cell's start.
    run.issues.create(
        code="a_retired_code",
        object_type="person",
        label='=HYPERLINK("https://evil.test")',
        message="-2+3",
        fix="@SUM(1)",
    )

    rows = list(csv.reader(io.StringIO(client_a.get(reverse("sync-run-csv", args=[run.id])).content.decode())))

    assert rows[-1][7:10] == ['\'=HYPERLINK("https://evil.test")', "'-2+3", "'@SUM(1)"]
    assert rows[-1][0] == str(run.id)


def test_issue_pages_keep_the_reason_filter_and_land_on_the_issues(client_a, listed, monkeypatch):
    run = sync(listed)
    issue = run.issues.first()
    code = issue.code
    issue.pk = None
    issue.save()  # a second issue of that reason: two pages of it alone
    monkeypatch.setattr("sync.runs.views.ISSUES_PAGE_SIZE", 1)
    monkeypatch.setattr("sync.runs.readable.GROUP_PREVIEW", 1)

    every = client_a.get(reverse("sync-run", args=[run.id])).content.decode()
    one = client_a.get(reverse("sync-run", args=[run.id]), {"code": code}).content.decode()

    assert f'href="?code={code}#issues"' in every and 'aria-label="Issue pages"' not in every
    assert 'aria-label="Issue pages"' in one and f'href="?code={code}&page=2#issues"' in one
