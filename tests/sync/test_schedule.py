"""Nightly: dispatch at each institution's local hour, the skip when not Verified, and the emails."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from lms_canvas.models import CanvasConnection, ConnectionStatus
from sync.engine import run_sync
from sync.models import RunStatus, RunTrigger, SyncRun
from sync.schedule import PERIODIC_TASK, dispatch_nightly
from tests.sync.engine_helpers import add_entry, catalog_from_sim

pytestmark = pytest.mark.django_db
UTC = dt.UTC


@pytest.fixture
def listed(connected, sim, institution_a, admin_a, monkeypatch):
    """Institution A (America/New_York, nightly at 02:00) with Contracts I on its sync list."""
    monkeypatch.setattr("sync.engine.runner.enqueue_courses", lambda ids: None)
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
        run_sync(run)
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
    assert SyncRun.objects.filter(status=RunStatus.SKIPPED).count() == 2


def test_a_failed_nightly_run_emails_the_admins(listed, sim):
    sim.control("faults", {"error_rate": 1.0, "error_status": 403, "paths": "/courses/501"})
    with time_machine.travel(dt.datetime(2026, 9, 1, 6, 30, tzinfo=UTC)):
        [run] = dispatch_nightly()
        run = run_sync(run)
    assert run.status == RunStatus.FAILED
    assert [m.subject for m in mail.outbox] == ["[LMS Sync Portal] Nightly sync failed"]
    assert f"/admin-settings/lms/history/{run.id}/" in mail.outbox[0].body


def test_a_nightly_run_that_holds_changes_emails_the_admins(listed, sim):
    with time_machine.travel(dt.datetime(2026, 9, 1, 6, 30, tzinfo=UTC)):
        run_sync(dispatch_nightly()[0])
    sim.control("mutate", {"delete": {"enrollments": [9001, 9002]}})
    with time_machine.travel(dt.datetime(2026, 9, 2, 6, 30, tzinfo=UTC)):
        run = run_sync(dispatch_nightly()[0])
    assert run.counts["held"] == 2
    assert [m.subject for m in mail.outbox] == ["[LMS Sync Portal] Nightly sync held changes for your approval"]


def test_an_admin_sync_never_emails(listed, sim):
    from tests.sync.engine_helpers import sync

    sim.control("faults", {"error_rate": 1.0, "error_status": 403, "paths": "/courses/501"})
    assert sync(listed).status == RunStatus.FAILED
    assert mail.outbox == []


def test_setup_schedules_installs_the_beat_entry_once():
    call_command("setup_schedules")
    call_command("setup_schedules")
    task = PeriodicTask.objects.get(task=PERIODIC_TASK)
    assert task.enabled and task.interval.every == 5
