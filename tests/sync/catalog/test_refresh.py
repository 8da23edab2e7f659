from __future__ import annotations

import re

import pytest
from django.urls import reverse

from lms_canvas.models import CanvasConfig
from sync.catalog import refresh
from sync.catalog.progress import counts_text
from sync.models import CatalogCourse, CatalogSection, RunKind, RunStatus, SyncIssue, SyncListEntry, SyncRun
from sync.runs import lifecycle
from tests.conftest import connect_to


def _refresh(conn) -> SyncRun:
    run = lifecycle.create_run(conn.institution, RunKind.REFRESH)
    return refresh.run_refresh(run.id)


def test_it_fetches_every_course_and_section_with_their_states(connected):
    run = _refresh(connected)

    assert run.status == RunStatus.SUCCEEDED, run.message
    courses = {c.canvas_id: c for c in CatalogCourse.objects.filter(institution=connected.institution)}
    assert set(courses) == {501, 502, 503, 504, 505}
    assert courses[503].workflow_state == "unpublished"
    assert courses[504].workflow_state == "deleted"
    assert courses[502].sis_course_id == ""
    assert courses[501].term_name == "Fall 2026"
    assert courses[501].term_start_at is not None
    assert courses[501].total_students == 4
    sections = {s.canvas_id: s for s in CatalogSection.objects.filter(institution=connected.institution)}
    assert set(sections) == {801, 802, 803, 804, 805}
    assert sections[802].sis_section_id == ""
    assert sections[804].nonxlist_course_id == 503
    assert sections[801].course.canvas_id == 501
    assert run.counts["courses"] == 5
    assert run.counts["sections"] == 5
    assert "Fetched 5 courses and 5 sections." in run.message


def test_progress_is_recorded_with_phase_done_and_total(connected):
    run = _refresh(connected)

    assert run.phase == refresh.PHASE_GONE
    assert run.total == 4  # sections of every course but the deleted one
    assert run.done == 4
    assert run.heartbeat_at is not None
    assert "sections_started_at" in run.params


def test_a_course_removed_in_canvas_between_refreshes_is_marked_gone_not_dropped(connected, sim):
    _refresh(connected)
    SyncListEntry.objects.create(institution=connected.institution, course=CatalogCourse.objects.get(canvas_id=502))
    sim.control("mutate", {"delete": {"courses": [502]}})

    run = _refresh(connected)

    gone = CatalogCourse.objects.get(institution=connected.institution, canvas_id=502)
    assert gone.gone_at is not None
    assert CatalogSection.objects.get(canvas_id=803).gone_at is not None
    assert CatalogCourse.objects.get(canvas_id=501).gone_at is None
    assert run.status == RunStatus.WITH_ISSUES
    assert run.counts["deactivated"] == 1
    issue = SyncIssue.objects.get(run=run)
    assert issue.code == "course_gone"
    assert "no longer in Canvas" in issue.message
    assert "1 no longer in Canvas were marked gone" in run.message


def test_a_course_back_in_canvas_is_no_longer_gone(connected, sim):
    _refresh(connected)
    CatalogCourse.objects.filter(canvas_id=501).update(gone_at="2020-01-01T00:00:00Z")

    _refresh(connected)

    assert CatalogCourse.objects.get(canvas_id=501).gone_at is None


def test_a_refused_token_fails_the_run_saying_reconnect(connected, sim):
    sim.control("tokens/revoke")

    run = _refresh(connected)

    assert run.status == RunStatus.FAILED
    assert "Canvas refused the portal's access token" in run.message
    assert "Generate Key" in run.message
    assert CatalogCourse.objects.count() == 0


def test_a_missing_scope_fails_the_run_naming_the_scope(institution_a, sim):
    scopes = [s for s in refresh_scopes() if "sections" not in s]
    token = sim.issue_token(scopes)
    conn = connect_to(institution_a, sim)
    conn.access_token = token["access_token"]
    conn.refresh_token = token["refresh_token"]
    conn.save()

    run = _refresh(conn)

    assert run.status == RunStatus.FAILED
    assert "url:GET|/api/v1/courses/:course_id/sections" in run.message
    assert "5 courses" in run.message  # what was fetched is kept and said
    assert CatalogCourse.objects.count() == 5


def refresh_scopes():
    from lms_canvas.simulator.scopes import SEED_SCOPES

    return list(SEED_SCOPES)


def test_canvas_down_fails_saying_try_later(connected, sim, monkeypatch):
    monkeypatch.setattr("lms_canvas.http.RetryPolicy.delay", lambda self, retry: 0)
    sim.control("faults", {"error_rate": 1.0, "error_status": 503})

    run = _refresh(connected)

    assert run.status == RunStatus.FAILED
    assert "Canvas could not be read" in run.message
    assert "try again later" in run.message
    assert "No courses were fetched" in run.message


def test_sections_failing_for_some_courses_are_recorded_and_the_rest_finishes(connected, sim, monkeypatch):
    monkeypatch.setattr("lms_canvas.http.RetryPolicy.delay", lambda self, retry: 0)
    sim.control("faults", {"error_rate": 1.0, "error_status": 500, "paths": r"/courses/501/sections"})

    run = _refresh(connected)

    assert run.status == RunStatus.WITH_ISSUES
    issue = SyncIssue.objects.get(run=run, code="sections_unreadable")
    assert issue.canvas_id == 501
    assert "HTTP 500" in issue.message
    assert CatalogSection.objects.filter(course__canvas_id=502).count() == 2


def test_throttled_canvas_still_finishes(connected, sim, monkeypatch):
    monkeypatch.setattr("lms_canvas.http.RetryPolicy.throttled_delay", lambda self, retry, after: 0.05)
    sim.control("faults", {"throttle": {"hwm": 120, "outflow": 200}})

    run = _refresh(connected)

    assert run.status == RunStatus.SUCCEEDED, run.message
    assert CatalogSection.objects.count() == 5


def test_cancel_stops_the_refresh_and_keeps_what_was_fetched(connected, monkeypatch):
    run = lifecycle.create_run(connected.institution, RunKind.REFRESH)
    SyncRun.objects.filter(id=run.id).update(cancel_requested=True)

    run = refresh.run_refresh(run.id)

    assert run.status == RunStatus.CANCELLED
    assert "Cancelled by an admin" in run.message


def test_a_task_delivered_twice_refreshes_once(connected):
    run = lifecycle.create_run(connected.institution, RunKind.REFRESH)
    from sync.tasks import refresh_catalog_task

    refresh_catalog_task(run.id)
    assert refresh.run_refresh(run.id) is None
    assert SyncRun.objects.get(id=run.id).status == RunStatus.SUCCEEDED


def test_refresh_without_a_verified_connection_fails_saying_what_to_do(institution_a):
    run = lifecycle.create_run(institution_a, RunKind.REFRESH)

    run = refresh.run_refresh(run.id)

    assert run.status == RunStatus.FAILED
    assert "not Verified" in run.message
    assert "Generate Key" in run.message


@pytest.mark.parametrize("key", ["501", "LAW-101-F26", "sis_course_id:LAW-101-F26"])
def test_one_course_refresh_by_canvas_id_or_sis_id(connected, key):
    run = refresh.start_course_refresh(connected.institution, key)

    run = refresh.run_course_refresh(run.id)

    assert run.status == RunStatus.SUCCEEDED, run.message
    assert list(CatalogCourse.objects.values_list("canvas_id", flat=True)) == [501]
    assert set(CatalogSection.objects.values_list("canvas_id", flat=True)) == {801, 802}
    assert "Contracts I" in run.message


def test_the_counts_say_what_is_new_and_what_was_only_read_again(connected, client_a):
    first = _refresh(connected)
    again = _refresh(connected)
    one = refresh.run_course_refresh(refresh.start_course_refresh(connected.institution, "501").id)
    CatalogCourse.objects.filter(canvas_id=501).delete()
    back = refresh.run_course_refresh(refresh.start_course_refresh(connected.institution, "501").id)

    def shown(run):
        page = client_a.get(reverse("sync-run", args=[run.id])).content.decode()
        return re.search(r'<span class="counts">([^<]*)</span>', page).group(1)

    # A second refresh of an unchanged Canvas was "10 updated": nothing was, every row was read again.
    assert shown(first) == "5 courses and 5 sections read: 10 new · 0 already listed · 0 no longer in Canvas"
    assert shown(again) == "5 courses and 5 sections read: 0 new · 10 already listed · 0 no longer in Canvas"
    assert shown(one) == "1 course and 2 sections read: 0 new · 3 already listed · 0 no longer in Canvas"
    assert shown(back) == "1 course and 2 sections read: 3 new · 0 already listed · 0 no longer in Canvas"
    assert "updated" not in shown(again)


def test_one_course_refresh_finds_deleted_courses_too(connected):
    run = refresh.run_course_refresh(refresh.start_course_refresh(connected.institution, "504").id)

    assert run.status == RunStatus.SUCCEEDED, run.message
    assert CatalogCourse.objects.get(canvas_id=504).workflow_state == "deleted"


def test_one_course_refresh_of_an_unknown_course_says_so(connected):
    run = refresh.run_course_refresh(refresh.start_course_refresh(connected.institution, "NOPE-1").id)

    assert run.status == RunStatus.FAILED
    assert "Canvas has no course “NOPE-1”" in run.message


def test_hundreds_of_courses_refresh_whole_with_many_requests_in_flight(institution_a, make_sim):
    # Eight pages of courses and ~800 section reads: enough for every page and section to be read side by
    # side; the refresh at scale (100,000 courses) is bench/refresh.py's.
    big = make_sim(generate=800, latency_ms=5)
    conn = connect_to(institution_a, big)
    CanvasConfig.objects.get_or_create(institution=institution_a)

    run = _refresh(conn)

    assert run.status in (RunStatus.SUCCEEDED, RunStatus.WITH_ISSUES), run.message
    assert CatalogCourse.objects.filter(institution=institution_a).count() == len(big.store.tables["courses"])
    live_sections = [
        s
        for s in big.store.tables["sections"].values()
        if s.get("workflow_state") != "deleted"
        and big.store.tables["courses"][s["course_id"]].get("workflow_state") != "deleted"
    ]
    assert CatalogSection.objects.filter(institution=institution_a).count() == len(live_sections)
    assert CatalogCourse.objects.filter(workflow_state="deleted").exists()
    assert CatalogCourse.objects.filter(sis_course_id="").exists()
    stats = big.control("stats")
    assert stats["peak_concurrent"] > 2


def test_the_command_refreshes_an_institution(connected, capsys):
    from django.core.management import call_command

    call_command("canvas_refresh", "--institution", "alpha")

    assert "Fetched 5 courses and 5 sections." in capsys.readouterr().out
    assert SyncRun.objects.get(kind=RunKind.REFRESH).trigger == "support"


def test_the_command_refreshes_one_course(connected, capsys):
    from django.core.management import call_command

    call_command("canvas_refresh", "--institution", "alpha", "--course", "LAW-101-F26")

    assert "Refreshed “Contracts I”" in capsys.readouterr().out


def test_the_command_says_why_it_failed(institution_a):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="No institution with slug “nope”"):
        call_command("canvas_refresh", "--institution", "nope")
    with pytest.raises(CommandError, match="not Verified"):
        call_command("canvas_refresh", "--institution", "alpha")


def test_the_admin_action_queues_a_refresh(connected, support_user, client, django_capture_on_commit_callbacks):
    from unittest import mock

    from django.urls import reverse

    client.force_login(support_user)
    with (
        mock.patch("sync.tasks.refresh_catalog_task.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        r = client.post(
            reverse("admin:lms_canvas_canvasconnection_changelist"),
            {"action": "refresh_courses_now", "_selected_action": [connected.id]},
            follow=True,
        )

    run = SyncRun.objects.get(kind=RunKind.REFRESH)
    delay.assert_called_once_with(run.id)
    assert f"refresh queued as run #{run.id}" in r.content.decode()


def test_the_counts_name_the_courses_whose_sections_were_not_read():
    assert counts_text({"courses": 3, "sections": 2, "created": 1, "skipped": 1}) == (
        "3 courses and 2 sections read: 1 new · 4 already listed · 0 no longer in Canvas"
        " · the sections of 1 course not read"
    )
