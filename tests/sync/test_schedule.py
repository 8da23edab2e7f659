"""Nightly: dispatch at each institution's local hour, the skip when not Verified, and the emails."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from lms_canvas.models import CanvasConnection, ConnectionStatus
from portal.models import ServiceHeartbeat
from sync.models import RunStatus, RunTrigger, SyncRun
from sync.schedule import PERIODIC_TASK, PERIODIC_TASK_NAME, REAPER_TASK, REAPER_TASK_NAME, dispatch_nightly
from tests.sync.engine_helpers import add_entry, catalog_from_sim, run_queued

pytestmark = pytest.mark.django_db
UTC = dt.UTC


@pytest.fixture
def celery_beat_scheduler(monkeypatch):
    """Beat's scheduler as `celery beat` builds it from settings (its tick sends nothing here)."""
    from celery.beat import Scheduler as BaseScheduler
    from django.conf import settings
    from django.utils.module_loading import import_string

    from portal.celery import app

    monkeypatch.setattr(BaseScheduler, "apply_entry", lambda self, entry, producer=None: None)
    # It closes "old" connections between reads, which would close the test's transaction.
    monkeypatch.setattr("django_celery_beat.schedulers.close_old_connections", lambda: None)
    monkeypatch.setattr("portal.health._last_beat_write", None)
    made = []

    def make():
        made.append(import_string(settings.CELERY_BEAT_SCHEDULER.replace(":", "."))(app=app))
        return made[-1]

    yield make
    for scheduler in made:  # it would save its schedule at interpreter exit, after the test database is gone
        scheduler._finalize.cancel()


@pytest.fixture
def listed(connected, sim, institution_a, admin_a, monkeypatch):
    """Institution A (America/New_York, nightly at 02:00) with Contracts I on its sync list."""
    monkeypatch.setattr("sync.engine.runner.send_first", lambda run_id: None)
    catalog_from_sim(institution_a, sim)
    add_entry(institution_a, 501)
    return institution_a


def test_nothing_is_dispatched_before_the_local_hour(listed):
    with time_machine.travel(dt.datetime(2026, 9, 1, 5, 59, tzinfo=UTC)):  # 01:59 in New York
        assert dispatch_nightly() == []


def test_the_sync_starts_at_the_local_hour_once_a_day(listed):
    with time_machine.travel(dt.datetime(2026, 9, 1, 6, 2, tzinfo=UTC)):  # 02:02 EDT
        [run] = dispatch_nightly()
        assert run.trigger == RunTrigger.NIGHTLY and run.status == RunStatus.QUEUED
        run_queued(run)
    with time_machine.travel(dt.datetime(2026, 9, 1, 20, 0, tzinfo=UTC)):
        assert dispatch_nightly() == []
    with time_machine.travel(dt.datetime(2026, 9, 2, 6, 5, tzinfo=UTC)):
        assert len(dispatch_nightly()) == 1


def test_each_institution_runs_at_its_own_local_hour(listed):
    listed.timezone = "Asia/Tokyo"
    listed.nightly_sync_hour = 3
    listed.save()
    with time_machine.travel(dt.datetime(2026, 9, 1, 17, 59, tzinfo=UTC)):  # 02:59 in Tokyo
        assert dispatch_nightly() == []
    with time_machine.travel(dt.datetime(2026, 9, 1, 18, 0, tzinfo=UTC)):  # 03:00 in Tokyo
        assert len(dispatch_nightly()) == 1


def test_a_nightly_run_is_skipped_with_why_when_not_verified(listed):
    CanvasConnection.objects.update(status=ConnectionStatus.NOT_VERIFIED)
    with time_machine.travel(dt.datetime(2026, 9, 1, 6, 30, tzinfo=UTC)):
        [run] = dispatch_nightly()
    assert run.status == RunStatus.SKIPPED and "not Verified" in run.message
    assert run.issues.get().code == "connection_not_verified"


def test_needs_reauthorization_emails_the_admins_once(listed):
    CanvasConnection.objects.update(status=ConnectionStatus.NEEDS_REAUTH, reauth_notified_at=None)
    for day in (1, 2):
        with time_machine.travel(dt.datetime(2026, 9, day, 6, 30, tzinfo=UTC)):
            dispatch_nightly()
    assert len(mail.outbox) == 1
    assert "re-authorization" in mail.outbox[0].subject and mail.outbox[0].to == ["alice@alpha.test"]
    first = SyncRun.objects.filter(status=RunStatus.SKIPPED).earliest("id")
    assert "Details: " + settings.SITE_URL.rstrip("/") + reverse("sync-run", args=[first.id]) in mail.outbox[0].body
    assert SyncRun.objects.filter(status=RunStatus.SKIPPED).count() == 2


def test_a_failed_nightly_run_emails_the_admins(listed, sim):
    sim.control("faults", {"error_rate": 1.0, "error_status": 403, "paths": "/courses/501"})
    with time_machine.travel(dt.datetime(2026, 9, 1, 6, 30, tzinfo=UTC)):
        [run] = dispatch_nightly()
        run = run_queued(run)
    assert run.status == RunStatus.FAILED
    assert [m.subject for m in mail.outbox] == ["[LMS Sync Portal] Nightly sync failed"]
    assert f"/admin-settings/lms/history/{run.id}/" in mail.outbox[0].body


def test_a_nightly_run_that_holds_changes_emails_the_admins(listed, sim):
    with time_machine.travel(dt.datetime(2026, 9, 1, 6, 30, tzinfo=UTC)):
        run_queued(dispatch_nightly()[0])
    sim.control("mutate", {"delete": {"enrollments": [9001, 9002]}})
    with time_machine.travel(dt.datetime(2026, 9, 2, 6, 30, tzinfo=UTC)):
        run = run_queued(dispatch_nightly()[0])
    assert run.counts["held"] == 2
    assert [m.subject for m in mail.outbox] == ["[LMS Sync Portal] Nightly sync held changes for your approval"]


def test_an_admin_sync_never_emails(listed, sim):
    from tests.sync.engine_helpers import sync

    sim.control("faults", {"error_rate": 1.0, "error_status": 403, "paths": "/courses/501"})
    assert sync(listed).status == RunStatus.FAILED
    assert mail.outbox == []


def test_the_nightly_dispatcher_exists_after_migrate_with_no_setup_command(beat_tasks_after_migrate):
    assert beat_tasks_after_migrate[PERIODIC_TASK] == (True, 60, "seconds")


def test_beat_restores_its_tasks_when_it_starts(celery_beat_scheduler):
    PeriodicTask.objects.filter(task=PERIODIC_TASK).update(enabled=False)
    PeriodicTask.objects.filter(task=REAPER_TASK).delete()

    scheduler = celery_beat_scheduler()

    assert set(scheduler.schedule) >= {PERIODIC_TASK_NAME, REAPER_TASK_NAME}
    assert PeriodicTask.objects.get(task=PERIODIC_TASK).enabled
    assert PeriodicTask.objects.filter(task=REAPER_TASK, enabled=True).count() == 1


def test_each_beat_tick_is_recorded_for_readyz(celery_beat_scheduler):
    scheduler = celery_beat_scheduler()
    ServiceHeartbeat.objects.all().delete()

    scheduler.tick()

    assert ServiceHeartbeat.objects.get(name="beat").seen_at > timezone.now() - dt.timedelta(seconds=5)


def test_setup_schedules_restores_the_beat_entries_and_is_idempotent():
    PeriodicTask.objects.all().delete()
    assert "Restored: " + PERIODIC_TASK_NAME in call_command("setup_schedules")
    assert "Restored" not in call_command("setup_schedules")
    assert PeriodicTask.objects.filter(task__in=[PERIODIC_TASK, REAPER_TASK], enabled=True).count() == 2
