"""A task queue that refuses at Sync Now, Refresh Courses, Post scores or the nightly dispatch: the admin
is told, nothing is left "queued" to block the next click, and the nightly failure is emailed once."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from portal.celery import app
from sync.models import CourseResultStatus, RunKind, RunStatus, RunTrigger, SyncRun
from sync.runs.lifecycle import QUEUE_DOWN_MESSAGE
from sync.schedule import dispatch_nightly
from tests.sync.engine_helpers import add_entry, catalog_from_sim

# Transactional: the enqueue happens on commit, as in a real request (autocommit), not inside a test transaction.
pytestmark = pytest.mark.django_db(transaction=True)
REFUSING_BROKER = "redis://127.0.0.1:9/0"  # nothing listens on port 9: connection refused


def _reset_producers() -> None:
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def broker_down():
    """The app's real publishing path, pointed at a broker that refuses connections."""
    saved = app.conf.broker_url, app.conf.broker_write_url, app.conf.broker_transport_options
    app.conf.broker_url = app.conf.broker_write_url = REFUSING_BROKER
    app.conf.broker_transport_options = {}
    _reset_producers()
    yield
    app.conf.broker_url, app.conf.broker_write_url, app.conf.broker_transport_options = saved
    _reset_producers()


@pytest.fixture
def listed(connected, sim, institution_a, admin_a):
    catalog_from_sim(institution_a, sim)
    add_entry(institution_a, 501)
    return institution_a


def test_a_course_refresh_with_the_queue_down_says_so_and_blocks_nothing(client_a, listed, broker_down):
    response = client_a.post(reverse("sync-course-refresh"), {"course": "501"}, follow=True)

    run = SyncRun.objects.get(institution=listed, kind=RunKind.COURSE_REFRESH)
    assert run.status == RunStatus.FAILED and run.message == QUEUE_DOWN_MESSAGE
    assert "the task queue is unavailable" in response.content.decode()


def test_sync_now_with_the_queue_down_says_so_and_blocks_nothing(client_a, listed, broker_down, monkeypatch):
    response = client_a.post(reverse("sync-now"), follow=True)

    assert response.status_code == 200
    run = SyncRun.objects.get(institution=listed, kind=RunKind.SYNC)
    assert run.status == RunStatus.FAILED and run.message == QUEUE_DOWN_MESSAGE
    assert "the task queue is unavailable" in response.content.decode()
    assert run.course_results.get().status == CourseResultStatus.CANCELLED

    monkeypatch.setattr("sync.engine.runner.send_first", lambda run_id: None)  # the queue is back
    again = client_a.post(reverse("sync-now"))
    second = SyncRun.objects.filter(institution=listed, kind=RunKind.SYNC).exclude(id=run.id).get()
    assert again.url == reverse("sync-run", args=[second.id]) and second.status == RunStatus.QUEUED


def test_refresh_with_the_queue_down_says_so_and_blocks_nothing(client_a, listed, broker_down):
    body = client_a.post(reverse("sync-refresh"), HTTP_HX_REQUEST="true").content.decode()

    run = SyncRun.objects.get(institution=listed, kind=RunKind.REFRESH)
    assert run.status == RunStatus.FAILED
    assert "the task queue is unavailable" in body and "every 1s" not in body
    client_a.post(reverse("sync-refresh"), HTTP_HX_REQUEST="true")
    assert SyncRun.objects.filter(institution=listed, kind=RunKind.REFRESH).count() == 2  # not "already running"


def test_a_nightly_sync_with_the_queue_down_fails_once_and_emails_once(listed, broker_down):
    for minute in (30, 31, 32):  # beat's dispatcher ticks every minute
        with time_machine.travel(dt.datetime(2026, 9, 1, 6, minute, tzinfo=dt.UTC)):  # 02:30 in New York
            dispatch_nightly()

    [run] = SyncRun.objects.filter(institution=listed, trigger=RunTrigger.NIGHTLY)
    assert run.status == RunStatus.FAILED and run.message == QUEUE_DOWN_MESSAGE
    assert [m.subject for m in mail.outbox] == ["[LMS Sync Portal] Nightly sync failed"]
    assert "the task queue is unavailable" in mail.outbox[0].body
