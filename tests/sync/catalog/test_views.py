from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from unittest import mock

import pytest
from django.urls import reverse

from lms_canvas.models import CanvasConfig
from sync.catalog import refresh, sections
from sync.models import CatalogCourse, CatalogSection, RunKind, RunStatus, SyncListEntry, SyncRun
from sync.runs import lifecycle
from tests.sync.catalog_helpers import make_catalog, text


@pytest.fixture
def catalog_a(institution_a):
    CanvasConfig.objects.create(institution=institution_a)
    return make_catalog(institution_a)


@pytest.fixture
def catalog_b(institution_b):
    CanvasConfig.objects.create(institution=institution_b)
    return make_catalog(institution_b, offset=10_000)


def test_it_requires_login(client, db):
    r = client.get(reverse("sync-settings"))
    assert r.status_code == 302


def test_it_shows_select_courses_with_reasons(client_a, catalog_a):
    r = client_a.get(reverse("sync-settings"))

    assert r.status_code == 200
    body = text(r)
    for words in ("Refresh Courses", "Select Courses", "Edit Sync List", "Contracts I", "LAW-101-F26"):
        assert words in body
    assert "Unpublished in Canvas: publish it in Canvas, then refresh courses." in body
    assert "No SIS ID in Canvas" in body
    assert "Deleted in Canvas." in body
    assert "No refresh has run yet." in body


def test_search_finds_by_course_id_name_and_canvas_id(client_a, catalog_a):
    url = reverse("sync-course-search")
    assert "Contracts I" in text(client_a.get(url, {"q": "LAW-101-F26"}))
    assert "Contracts I" in text(client_a.get(url, {"q": "contracts"}))
    assert "Contracts I" in text(client_a.get(url, {"q": "501"}))
    r = client_a.get(url, {"q": "History"})
    assert "Contracts I" not in text(r)
    assert "History of Science" in text(r)


def test_hide_unsyncable_filters_greyed_courses(client_a, catalog_a):
    r = client_a.get(reverse("sync-course-search"), {"hide": "1"})

    body = text(r)
    assert "Contracts I" in body
    assert "Philosophy II" not in body  # unpublished
    assert "History of Science" not in body  # no SIS ID


def test_search_never_errors_on_bad_input(client_a, catalog_a):
    r = client_a.get(reverse("sync-course-search"), {"q": "x" * 400, "page": "abc"})
    assert r.status_code == 200


def test_sections_fragment_shows_reasons_and_plus(client_a, catalog_a):
    course = CatalogCourse.objects.get(canvas_id=501)
    r = client_a.get(reverse("sync-course-sections", args=[course.id]))

    body = text(r)
    assert "Section A" in body
    assert "Add section Section A to the sync list" in body
    assert "No SIS ID in Canvas" in body  # Section B


def test_a_course_that_ended_in_canvas_says_so_before_it_is_added(client_a, catalog_a):
    # The walk of the guide: an ended Fall 2025 course said "Can be synced"; only once added did the page
    # say its end date had passed and it would not sync.
    ended = CatalogCourse.objects.create(
        institution=catalog_a,
        canvas_id=506,
        name="Accounting I",
        sis_course_id="BUS-141-F25",
        workflow_state="available",
        term_name="Fall 2025",
        end_at=dt.datetime(2025, 12, 18, 17, tzinfo=dt.UTC),
    )
    CatalogSection.objects.create(institution=catalog_a, course=ended, canvas_id=806, name="Sec 1", sis_section_id="S1")

    found = text(client_a.get(reverse("sync-course-search"), {"q": "BUS-141"}))
    sections = text(client_a.get(reverse("sync-course-sections", args=[ended.id])))
    current = text(client_a.get(reverse("sync-course-search"), {"q": "LAW-101"}))

    said = "Ended Dec 18, 2025 in Canvas: once added, set a later End Date to sync it"
    assert said in found and "Can be synced" not in found
    assert "Add Accounting I to the sync list" in found  # still addable: a later End Date makes it sync
    assert said in sections and "Add section Sec 1 to the sync list" in sections
    assert "Can be synced" in current and "Ended" not in current


def test_it_requires_access_to_sections(client_b, catalog_a, catalog_b):
    course = CatalogCourse.objects.get(canvas_id=501, institution=catalog_a)
    assert client_b.get(reverse("sync-course-sections", args=[course.id])).status_code == 404


def test_plus_adds_a_course_with_htmx(client_a, catalog_a):
    course = CatalogCourse.objects.get(canvas_id=501)
    r = client_a.post(reverse("sync-add-course", args=[course.id]), HTTP_HX_REQUEST="true")

    assert "Added" in text(r)
    assert SyncListEntry.objects.filter(institution=catalog_a, course=course, section=None).exists()


def test_admin_b_cannot_add_a_course_of_a(client_b, catalog_a, catalog_b):
    course = CatalogCourse.objects.get(canvas_id=501, institution=catalog_a)
    r = client_b.post(reverse("sync-add-course", args=[course.id]), HTTP_HX_REQUEST="true")

    assert "not in your institution's course list" in text(r)
    assert not SyncListEntry.objects.exists()


def test_admin_b_cannot_add_a_section_of_a(client_b, catalog_a, catalog_b):
    section = CatalogSection.objects.get(canvas_id=801, institution=catalog_a)
    r = client_b.post(reverse("sync-add-section", args=[section.id]))

    assert r.status_code == 302
    assert not SyncListEntry.objects.exists()


def test_refresh_courses_queues_a_run_and_enqueues_after_commit(
    client_a, catalog_a, django_capture_on_commit_callbacks
):
    with (
        mock.patch("sync.tasks.refresh_catalog_task.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        r = client_a.post(reverse("sync-refresh"), HTTP_HX_REQUEST="true")

    run = SyncRun.objects.get(institution=catalog_a, kind=RunKind.REFRESH)
    delay.assert_called_once_with(run.id)
    assert "Refreshing courses" in text(r)
    assert 'hx-trigger="every 1s"' in text(r)


def test_a_second_refresh_click_shows_the_running_one(client_a, catalog_a):
    first = lifecycle.create_run(catalog_a, RunKind.REFRESH)
    with mock.patch("sync.tasks.refresh_catalog_task.delay"):
        client_a.post(reverse("sync-refresh"))
    assert SyncRun.objects.filter(kind=RunKind.REFRESH).count() == 1
    assert SyncRun.objects.get().id == first.id


def test_progress_fragment_shows_phase_counts_and_time_left(client_a, catalog_a):
    from django.utils import timezone

    run = lifecycle.create_run(catalog_a, RunKind.REFRESH)
    lifecycle.claim(run.id)
    started = (timezone.now() - timezone.timedelta(seconds=60)).isoformat()
    SyncRun.objects.filter(id=run.id).update(
        phase=sections.PHASE_SECTIONS,
        done=100,
        total=400,
        params={"sections_started_at": started, "courses_fetched": 450},
    )

    body = text(client_a.get(reverse("sync-refresh-progress")))

    assert "Fetching sections" in body
    assert "Courses fetched: <strong>450</strong>" in body
    assert "<strong>100</strong> of 400 courses" in body
    assert "about 3 minutes left" in body
    assert "Cancel" in body


def test_progress_of_a_dead_worker_says_failed(client_a, catalog_a):
    from django.utils import timezone

    from sync.runs.reaper import reap_runs

    run = lifecycle.create_run(catalog_a, RunKind.REFRESH)
    lifecycle.claim(run.id)
    SyncRun.objects.filter(id=run.id).update(heartbeat_at=timezone.now() - timezone.timedelta(minutes=10))
    reap_runs()  # beat's reaper

    body = text(client_a.get(reverse("sync-refresh-progress")))

    assert "Failed" in body
    assert "stopped answering" in body
    assert "every 1s" not in body


def test_failed_refresh_message_is_shown(client_a, catalog_a):
    run = lifecycle.create_run(catalog_a, RunKind.REFRESH)
    lifecycle.claim(run.id)
    lifecycle.finish(
        run.id, RunStatus.FAILED, "Refresh failed: Canvas refused the portal's access token. What to do: Generate Key"
    )

    body = text(client_a.get(reverse("sync-settings")))

    assert "Canvas refused the portal's access token" in body


def test_cancel_marks_the_run(client_a, catalog_a):
    run = lifecycle.create_run(catalog_a, RunKind.REFRESH)
    lifecycle.claim(run.id)

    client_a.post(reverse("sync-refresh-cancel", args=[run.id]), HTTP_HX_REQUEST="true")

    assert SyncRun.objects.get(id=run.id).cancel_requested


def test_it_requires_access_to_cancel(client_b, catalog_a, catalog_b):
    run = lifecycle.create_run(catalog_a, RunKind.REFRESH)
    assert client_b.post(reverse("sync-refresh-cancel", args=[run.id])).status_code == 404
    assert not SyncRun.objects.get(id=run.id).cancel_requested


def test_progress_shows_only_my_institution(client_b, catalog_a, catalog_b):
    lifecycle.create_run(catalog_a, RunKind.REFRESH)
    body = text(client_b.get(reverse("sync-refresh-progress")))
    assert "No refresh has run yet." in body


@pytest.fixture
def worker(django_capture_on_commit_callbacks):
    """The one-course refresh's task, run as a worker would once the request commits."""

    @contextmanager
    def running():
        with (
            mock.patch("sync.tasks.refresh_course_task.delay", side_effect=refresh.run_course_refresh),
            django_capture_on_commit_callbacks(execute=True),
        ):
            yield

    return running


def test_course_refresh_form_refreshes_one_course_in_a_worker(client_a, connected, worker):
    with worker():  # the task runs once the request has committed, before the admin's browser follows
        started = client_a.post(reverse("sync-course-refresh"), {"course": "LAW-101-F26"})
    r = client_a.get(started.url, follow=True)

    assert "Refreshed “Contracts I”" in text(r)
    assert r.redirect_chain[-1][0] == reverse("sync-settings") + "?q=501"
    assert CatalogCourse.objects.filter(canvas_id=501).exists()


def test_course_refresh_of_an_unknown_course_says_so(client_a, connected, worker):
    with worker():
        started = client_a.post(reverse("sync-course-refresh"), {"course": "NOPE"})
    r = client_a.get(started.url, follow=True)
    assert "Canvas has no course “NOPE”" in text(r)


def test_course_refresh_never_runs_in_the_request(client_a, connected, django_capture_on_commit_callbacks):
    with (
        mock.patch("sync.tasks.refresh_course_task.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        r = client_a.post(reverse("sync-course-refresh"), {"course": "LAW-101-F26"})

    run = SyncRun.objects.get(kind=RunKind.COURSE_REFRESH)
    delay.assert_called_once_with(run.id)
    assert run.status == RunStatus.QUEUED and not CatalogCourse.objects.filter(canvas_id=501).exists()
    assert r.url == reverse("sync-course-refresh-progress", args=[run.id])


def test_a_course_refresh_in_progress_shows_a_panel_that_polls(client_a, connected):
    run = lifecycle.create_run(connected.institution, RunKind.COURSE_REFRESH, params={"course": "LAW-101-F26"})
    url = reverse("sync-course-refresh-progress", args=[run.id])

    page = client_a.get(url)
    fragment = client_a.get(url, headers={"HX-Request": "true"})

    assert "Refreshing course “LAW-101-F26”: waiting for a worker (queued)." in text(page)
    assert "Select Courses" in text(page)
    assert f'hx-get="{url}"' in fragment.text and "<html" not in fragment.text


def test_a_finished_course_refresh_redirects_the_polling_panel_to_the_course(client_a, connected):
    run = lifecycle.create_run(connected.institution, RunKind.COURSE_REFRESH, params={"course": "501"})
    refresh.run_course_refresh(run.id)

    r = client_a.get(reverse("sync-course-refresh-progress", args=[run.id]), headers={"HX-Request": "true"})

    assert r["HX-Redirect"] == reverse("sync-settings") + "?q=501"
    assert "Refreshed “Contracts I”" in text(client_a.get(r["HX-Redirect"]))


def test_another_institutions_course_refresh_is_a_404(client_b, connected):
    run = lifecycle.create_run(connected.institution, RunKind.COURSE_REFRESH, params={"course": "501"})
    assert client_b.get(reverse("sync-course-refresh-progress", args=[run.id])).status_code == 404


def test_a_full_refresh_has_no_course_refresh_page(client_a, connected):
    run = lifecycle.create_run(connected.institution, RunKind.REFRESH)
    assert client_a.get(reverse("sync-course-refresh-progress", args=[run.id])).status_code == 404


def test_course_refresh_without_a_value_says_what_to_enter(client_a, catalog_a):
    r = client_a.post(reverse("sync-course-refresh"), {"course": "  "}, follow=True)
    assert "Enter a Canvas course id or SIS ID." in text(r)


def test_id_coverage_fragment(client_a, catalog_a):
    body = text(client_a.get(reverse("sync-id-coverage")))
    assert "ID coverage" in body
    assert "SIS ID" in body
    assert "History of Science (502)" in body


def test_id_coverage_is_per_institution(client_b, catalog_a):
    body = text(client_b.get(reverse("sync-id-coverage")))
    assert "History of Science" not in body


def test_configure_loads_the_id_coverage_fragment(client_a, connected):
    body = text(client_a.get(reverse("canvas-configure")))
    assert reverse("sync-id-coverage") in body


def test_the_course_list_reloads_while_courses_land_and_once_at_the_end(client_a, catalog_a):
    run = lifecycle.create_run(catalog_a, RunKind.REFRESH)
    lifecycle.claim(run.id)
    SyncRun.objects.filter(id=run.id).update(phase=refresh.PHASE_COURSES)
    assert client_a.get(reverse("sync-refresh-progress"))["HX-Trigger"] == "catalog-changed"

    SyncRun.objects.filter(id=run.id).update(phase=sections.PHASE_SECTIONS)
    assert "HX-Trigger" not in client_a.get(reverse("sync-refresh-progress"))

    lifecycle.finish(run.id, RunStatus.SUCCEEDED, "Fetched 3 courses.")
    assert client_a.get(reverse("sync-refresh-progress"))["HX-Trigger"] == "catalog-changed"
    page = text(client_a.get(reverse("sync-settings")))
    assert 'hx-trigger="catalog-changed from:body"' in page


NOW = dt.datetime(2026, 12, 1, 17, tzinfo=dt.UTC)


def _last_terms_course():
    """Contracts I as last term's course: its term ended on 2026-06-30 (in New York)."""
    CatalogCourse.objects.filter(canvas_id=501).update(
        term_start_at=dt.datetime(2026, 1, 10, 12, tzinfo=dt.UTC),
        term_end_at=dt.datetime(2026, 6, 30, 16, tzinfo=dt.UTC),
    )
    return CatalogCourse.objects.get(canvas_id=501)


def test_plus_on_a_course_whose_term_has_ended_says_so(client_a, catalog_a, time_machine):
    time_machine.move_to(NOW)
    course = _last_terms_course()

    r = client_a.post(reverse("sync-add-course", args=[course.id]), HTTP_HX_REQUEST="true")

    body = text(r)
    assert '<span class="added" role="status">Added</span>' in body
    assert (
        '<small class="add-warning" role="alert">Added, but its end date (Jun 30, 2026, from Canvas) has passed, '
        "so it will not sync: set a later End Date on Edit Sync List and Save.</small>"
    ) in body
    assert SyncListEntry.objects.filter(course=course).exists()


def test_plus_without_htmx_on_an_ended_course_warns_after_the_redirect(client_a, catalog_a, time_machine):
    time_machine.move_to(NOW)
    course = _last_terms_course()

    r = client_a.post(reverse("sync-add-course", args=[course.id]), follow=True)

    body = text(r)
    assert "Added “Contracts I (501)” to the sync list." in body
    assert (
        '<p class="message warning" role="alert">Added, but its end date (Jun 30, 2026, from Canvas) has passed' in body
    )


def test_plus_on_a_current_course_says_only_added(client_a, catalog_a, time_machine):
    time_machine.move_to(NOW)
    course = CatalogCourse.objects.get(canvas_id=501)

    r = client_a.post(reverse("sync-add-course", args=[course.id]), HTTP_HX_REQUEST="true")

    body = text(r)
    assert body.startswith('<span class="added" role="status">Added</span> <form')  # then its Remove
    assert "add-warning" not in body and 'role="alert"' not in body
