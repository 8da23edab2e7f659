"""The reaper, beat's task: queued runs nobody picked up and runs whose worker died are ended with the
cause in words, keeping the counts and per-course results of what did finish, and nightly failures
are emailed once. Page views change nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from portal.celery import app
from sync.engine import start_sync, sync_batch
from sync.models import CourseResultStatus, RunKind, RunStatus, RunTrigger, SyncCourseResult, SyncRun
from sync.runs import lifecycle
from sync.runs.reaper import reap_runs
from sync.schedule import REAPER_TASK
from tests.sync.engine_helpers import add_entry, catalog_from_sim

pytestmark = pytest.mark.django_db


def later(seconds: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(seconds=seconds)


@pytest.fixture
def three_courses(connected, sim, institution_a, admin_a, monkeypatch):
    """A sync of three courses whose tasks are never delivered: the test plays the workers."""
    monkeypatch.setattr("sync.engine.runner.send_first", lambda run_id: None)
    monkeypatch.setattr("sync.engine.dispatch._send", lambda *sent: None)
    catalog_from_sim(institution_a, sim)
    for canvas_id in sorted(c.canvas_id for c in institution_a.catalog_courses.all())[:3]:
        add_entry(institution_a, canvas_id)
    return institution_a


def test_the_reaper_is_a_beat_task_that_beat_can_call(beat_tasks_after_migrate):
    # made by a migration: no setup command needed
    assert beat_tasks_after_migrate[REAPER_TASK] == (True, 30, "seconds")
    app.loader.import_default_modules()  # what a worker does at start: autodiscover every app's tasks
    assert REAPER_TASK in app.tasks


def test_a_queued_run_nobody_picks_up_fails_with_that_cause(institution_a, settings):
    run = lifecycle.create_run(institution_a, RunKind.REFRESH)

    assert reap_runs(now=later(settings.RUN_START_TIMEOUT_SECONDS - 5)) == []  # waiting is not lost
    [reaped] = reap_runs(now=later(settings.RUN_START_TIMEOUT_SECONDS + 1))

    run.refresh_from_db()
    assert reaped.id == run.id and run.status == RunStatus.FAILED
    assert "no worker picked this up within 15 minutes" in run.message
    lifecycle.create_run(institution_a, RunKind.REFRESH)  # nothing blocks the next click


def test_a_sync_whose_worker_died_keeps_what_finished(three_courses, settings):
    run = start_sync(three_courses)
    first, second, third = SyncCourseResult.objects.filter(run=run).order_by("id")
    sync_batch(run.id, first.batch)  # one course synced by a worker...
    SyncCourseResult.objects.filter(id=second.id).update(status=CourseResultStatus.RUNNING, claimed_at=timezone.now())
    # ...which is killed while it syncs the second; the third's task was in its hands too.

    assert reap_runs(now=later(settings.RUN_HEARTBEAT_TIMEOUT_SECONDS - 5)) == []  # slow is not dead
    [reaped] = reap_runs(now=later(settings.RUN_HEARTBEAT_TIMEOUT_SECONDS + 1))

    first.refresh_from_db()
    assert reaped.status == RunStatus.FAILED
    assert reaped.counts["created"] == first.counts["created"] > 0  # what finished is still counted
    assert reaped.message.startswith("This sync stopped before the end: 1 of 3 courses were synced")
    assert f"The worker syncing {second.label} stopped answering" in reaped.message
    statuses = dict(SyncCourseResult.objects.filter(run=run).values_list("id", "status"))
    assert statuses == {
        first.id: CourseResultStatus.APPLIED,
        second.id: CourseResultStatus.FAILED,
        third.id: CourseResultStatus.CANCELLED,
    }


def test_a_worker_that_died_on_two_entries_of_one_course_names_it_once(three_courses, settings):
    run = start_sync(three_courses)
    first, second, third = SyncCourseResult.objects.filter(run=run).order_by("id")
    SyncCourseResult.objects.filter(id__in=[first.id, second.id]).update(
        status=CourseResultStatus.RUNNING, claimed_at=timezone.now(), label="Accounting II"
    )  # as a course and one of its sections, listed apart, both in the dead worker's hands
    now = timezone.now()
    SyncRun.objects.filter(id=run.id).update(status=RunStatus.RUNNING, started_at=now, heartbeat_at=now)

    [reaped] = reap_runs(now=later(settings.RUN_HEARTBEAT_TIMEOUT_SECONDS + 1))

    assert "The worker syncing Accounting II stopped answering" in reaped.message


def test_a_sync_whose_tasks_the_queue_lost_says_so(three_courses, settings):
    run = start_sync(three_courses)
    first = SyncCourseResult.objects.filter(run=run).order_by("id").first()
    sync_batch(run.id, first.batch)  # the other two tasks never arrive (a broker restart lost them)

    # Their tasks may still be waiting behind other work: only the start timeout says they are lost.
    assert reap_runs(now=later(settings.RUN_HEARTBEAT_TIMEOUT_SECONDS + 1)) == []
    [reaped] = reap_runs(now=later(settings.RUN_START_TIMEOUT_SECONDS + 1))

    assert reaped.status == RunStatus.FAILED and reaped.counts["created"] > 0
    assert "1 of 3 courses were synced" in reaped.message
    assert "Their tasks never reached a worker: the task queue lost them" in reaped.message
    assert "worker syncing" not in reaped.message


def test_a_reaped_nightly_sync_emails_the_admins_once(three_courses, settings):
    run = start_sync(three_courses, trigger=RunTrigger.NIGHTLY)
    lifecycle.claim(run.id)

    reap_runs(now=later(settings.RUN_START_TIMEOUT_SECONDS + 1))
    reap_runs(now=later(settings.RUN_START_TIMEOUT_SECONDS + 60))

    assert [m.subject for m in mail.outbox] == ["[LMS Sync Portal] Nightly sync failed"]
    assert "the task queue lost them" in mail.outbox[0].body


def test_viewing_pages_reaps_nothing(client_a, three_courses, settings):
    run = start_sync(three_courses)
    lifecycle.claim(run.id)
    SyncRun.objects.filter(id=run.id).update(heartbeat_at=timezone.now() - dt.timedelta(hours=2))

    for url in (reverse("sync-history"), reverse("sync-run", args=[run.id]), reverse("sync-settings")):
        assert client_a.get(url).status_code == 200

    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING  # the reaper, not a page view, ends it
