"""The one answer to "when is the next nightly sync?" (sync.schedule.next_nightly_sync), by the rules the
dispatcher follows: the institution's hour in its time zone, once a day, only with a sync list."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from lms_canvas.models import CanvasConnection, ConnectionStatus
from sync.models import RunKind, RunStatus, RunTrigger, SyncRun
from sync.schedule import is_due, local_time_text, next_nightly_sync
from tests.sync.catalog_helpers import make_catalog
from tests.sync.engine_helpers import add_entry

pytestmark = pytest.mark.django_db
UTC = dt.UTC


@pytest.fixture
def listed(institution_a):
    """Alpha (America/New_York, nightly at 2:00 a.m.), Verified, with a course on its sync list."""
    CanvasConnection.objects.create(institution=institution_a, status=ConnectionStatus.VERIFIED)
    make_catalog(institution_a)
    add_entry(institution_a, 501)
    return institution_a


def nightly_run(institution, at: dt.datetime) -> SyncRun:
    run = SyncRun.objects.create(
        institution=institution, kind=RunKind.SYNC, trigger=RunTrigger.NIGHTLY, status=RunStatus.SUCCEEDED
    )
    SyncRun.objects.filter(id=run.id).update(created_at=at)
    return run


def test_before_the_hour_it_is_tonight_in_the_institutions_zone(listed):
    nxt = next_nightly_sync(listed, dt.datetime(2026, 9, 1, 5, 30, tzinfo=UTC))  # 1:30 a.m. EDT
    assert nxt.at == dt.datetime(2026, 9, 1, 6, 0, tzinfo=UTC)
    assert nxt.text == "today at 2:00 a.m. EDT (America/New_York)"


def test_after_tonights_has_started_it_is_tomorrow(listed):
    nightly_run(listed, dt.datetime(2026, 9, 1, 6, 0, 5, tzinfo=UTC))
    nxt = next_nightly_sync(listed, dt.datetime(2026, 9, 1, 15, 0, tzinfo=UTC))
    assert nxt.at == dt.datetime(2026, 9, 2, 6, 0, tzinfo=UTC)
    assert nxt.text == "tomorrow at 2:00 a.m. EDT (America/New_York)"


def test_an_hour_come_but_not_started_is_due_now(listed):
    nxt = next_nightly_sync(listed, dt.datetime(2026, 9, 1, 6, 0, 30, tzinfo=UTC))
    assert nxt.due_now and nxt.text == "due now (it starts within a minute)"


def test_a_beat_back_within_the_catch_up_window_starts_the_missed_night(listed):
    nxt = next_nightly_sync(listed, dt.datetime(2026, 9, 1, 11, 30, tzinfo=UTC))  # 7:30 a.m.: beat was down at 2
    assert nxt.due_now


def test_a_night_missed_by_more_than_the_window_waits_for_the_next_night(listed):
    # 8:01 a.m. EDT, six hours past 2:00 a.m. with no nightly sync today (beat was down, or the hour was
    # just changed to one already past): no "nightly" sync in the middle of the day.
    late = dt.datetime(2026, 9, 1, 12, 1, tzinfo=UTC)
    assert not is_due(listed, late)
    nxt = next_nightly_sync(listed, late)
    assert not nxt.due_now and nxt.text == "tomorrow at 2:00 a.m. EDT (America/New_York)"


def test_an_evening_hour_missed_before_midnight_is_caught_up_after_it(listed):
    listed.nightly_sync_hour = 23
    listed.save()
    after_midnight = dt.datetime(2026, 9, 2, 5, 0, tzinfo=UTC)  # 1:00 a.m. EDT on the 2nd: 11 p.m. was missed
    assert is_due(listed, after_midnight)
    nightly_run(listed, after_midnight)
    assert not is_due(listed, after_midnight + dt.timedelta(minutes=1))
    assert next_nightly_sync(listed, after_midnight + dt.timedelta(minutes=1)).text == (
        "today at 11:00 p.m. EDT (America/New_York)"
    )


def test_the_change_of_clocks_is_followed(listed):
    # Sunday 1 November 2026: New York's clocks go back at 2:00 a.m. EDT, so that night's 2:00 a.m. is EST.
    nightly_run(listed, dt.datetime(2026, 11, 1, 7, 0, 5, tzinfo=UTC))
    nxt = next_nightly_sync(listed, dt.datetime(2026, 11, 1, 12, 0, tzinfo=UTC))
    assert nxt.at == dt.datetime(2026, 11, 2, 7, 0, tzinfo=UTC)
    assert nxt.text == "tomorrow at 2:00 a.m. EST (America/New_York)"


def test_an_hour_the_spring_change_skips_reads_as_the_hour_it_runs_at(listed):
    # 8 March 2026: New York's clocks go from 2:00 to 3:00 a.m.; the 2:00 a.m. slot comes at 3:00 a.m. EDT.
    nxt = next_nightly_sync(listed, dt.datetime(2026, 3, 8, 5, 0, tzinfo=UTC))
    assert nxt.at == dt.datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
    assert nxt.text == "today at 3:00 a.m. EDT (America/New_York)"


def test_each_institution_has_its_own_zone_and_hour(listed):
    listed.timezone, listed.nightly_sync_hour = "UTC", 0
    listed.save()
    nightly_run(listed, dt.datetime(2026, 9, 1, 0, 0, 5, tzinfo=UTC))
    nxt = next_nightly_sync(listed, dt.datetime(2026, 9, 1, 10, 0, tzinfo=UTC))
    assert nxt.text == "tomorrow at midnight UTC"


def test_a_later_day_is_named(listed):
    nxt = next_nightly_sync(listed, dt.datetime(2026, 9, 1, 5, 0, tzinfo=UTC))
    assert nxt._day() == "today"
    later = type(nxt)(dt.datetime(2026, 9, 4, 2, tzinfo=listed.tz), today=dt.date(2026, 9, 1))
    assert later.text == "Friday 4 September at 2:00 a.m. EDT (America/New_York)"


def test_none_without_a_sync_list(institution_a):
    nxt = next_nightly_sync(institution_a, dt.datetime(2026, 9, 1, 5, 0, tzinfo=UTC))
    assert nxt.at is None and nxt.text == "none — nothing is on the sync list yet"


def test_a_connection_not_verified_is_said(listed):
    CanvasConnection.objects.update(status=ConnectionStatus.NEEDS_REAUTH)
    nxt = next_nightly_sync(listed, dt.datetime(2026, 9, 1, 5, 0, tzinfo=UTC))
    assert nxt.text == (
        "today at 2:00 a.m. EDT (America/New_York), but it will be skipped until the Canvas connection is Verified"
    )


@pytest.mark.parametrize(
    ("hour", "minute", "text"),
    [(0, 0, "midnight"), (1, 0, "1:00 a.m."), (11, 30, "11:30 a.m."), (12, 0, "noon"), (13, 5, "1:05 p.m.")],
)
def test_times_of_day_read_as_people_say_them(hour, minute, text):
    at = dt.datetime(2026, 9, 1, hour, minute, tzinfo=dt.UTC)
    assert local_time_text(at) == f"{text} UTC"


@pytest.mark.parametrize("now", [dt.datetime(2026, 9, 1, 5, 0, tzinfo=UTC), dt.datetime(2026, 3, 8, 5, 0, tzinfo=UTC)])
def test_the_time_said_is_when_the_dispatcher_starts_it(listed, now):
    at = next_nightly_sync(listed, now).at.astimezone(UTC)  # arithmetic in UTC, not on the wall clock
    assert not is_due(listed, at - dt.timedelta(seconds=1)) and is_due(listed, at)


@pytest.mark.parametrize("page", ["lms-settings", "sync-history", "dashboard", "schedule-settings"])
def test_the_pages_say_it_for_the_admins_own_institution(client_b, listed, institution_b, page):
    institution_b.nightly_sync_hour = 5
    institution_b.save()
    with time_machine.travel(dt.datetime(2026, 9, 1, 3, 0, tzinfo=UTC), tick=False):  # 4:00 a.m. in London
        body = client_b.get(reverse(page)).content.decode()
    assert "Next nightly sync: <strong>none — nothing is on the sync list yet</strong>" in body  # B's, not A's
    make_catalog(institution_b, offset=1000)
    add_entry(institution_b, 1501)
    with time_machine.travel(dt.datetime(2026, 9, 1, 3, 0, tzinfo=UTC), tick=False):
        body = client_b.get(reverse(page)).content.decode()
    assert "Next nightly sync: <strong>today at 5:00 a.m. BST (Europe/London), but it will be skipped" in body
