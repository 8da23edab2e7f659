"""Instant sync and the nightly sync: an instant sync running at the nightly hour delays the night's
sync by a tick of beat, it does not cost the night (the nightly is what repairs lost events)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from sync.models import RunStatus, RunTrigger, SyncRun
from sync.runs import lifecycle
from sync.schedule import dispatch_nightly
from tests.sync.engine_helpers import add_entry, catalog_from_sim

UTC = dt.UTC
AT_THE_HOUR = dt.datetime(2026, 9, 1, 6, 2, tzinfo=UTC)  # 02:02 in New York, institution A's nightly hour


@pytest.fixture
def listed(connected, sim, institution_a, monkeypatch):
    monkeypatch.setattr("sync.engine.runner.send_first", lambda run_id: None)
    catalog_from_sim(institution_a, sim)
    add_entry(institution_a, 501)
    return institution_a


def test_a_running_instant_sync_delays_the_nightly_to_the_next_tick(listed):
    with time_machine.travel(AT_THE_HOUR):
        live = lifecycle.create_run(listed, "sync", trigger=RunTrigger.LIVE_EVENT)
        assert dispatch_nightly() == []
        assert not SyncRun.objects.filter(trigger=RunTrigger.NIGHTLY).exists()  # not recorded as skipped
        lifecycle.end(live, "succeeded", "done")
    with time_machine.travel(AT_THE_HOUR + dt.timedelta(minutes=1)):
        [run] = dispatch_nightly()
    assert run.trigger == RunTrigger.NIGHTLY and run.status == RunStatus.QUEUED


def test_another_running_sync_still_skips_the_night_with_why(listed):
    with time_machine.travel(AT_THE_HOUR):
        lifecycle.create_run(listed, "sync", trigger=RunTrigger.ADMIN)
        [run] = dispatch_nightly()
    assert run.status == RunStatus.SKIPPED and "still running" in run.message
