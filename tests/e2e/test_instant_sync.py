"""In the browser, at a laptop's and a phone's width: LMS Settings' instant sync section turned on, and
an enrollment changed on the simulator's People page reaching the department page through a Live
Event. SHOTS_DIR=/tmp/shots saves each page."""

from __future__ import annotations

import datetime as dt
import os

import pytest
import requests
from django.utils import timezone
from playwright.sync_api import expect

from lms_canvas.models import CanvasConnection
from portal.celery import app as celery_app
from portal.models import Department
from sync.live import coalesce
from sync.live.handle import handle_pending
from sync.live.models import LiveSync
from tests.conftest import login, open_global_settings
from tests.e2e.axe import assert_accessible
from tests.e2e.widths import looks_right
from tests.sync.engine_helpers import add_entry, catalog_from_sim, sync
from tests.sync.live.live_helpers import hook_url, turn_on

pytestmark = pytest.mark.e2e


def log_in(page) -> None:
    login(page, "alice@alpha.test")
    expect(page.get_by_role("heading", level=1)).to_have_text("Alpha University")
    page.wait_for_load_state("load")


def test_an_admin_turns_instant_sync_on_and_reads_the_canvas_steps(page, width, live_server, admin_a):
    log_in(page)
    open_global_settings(page)
    page.get_by_role("link", name="LMS Settings").click()
    section = page.get_by_test_id("instant-sync")
    expect(section.get_by_role("heading", name="Instant sync (Canvas Live Events)")).to_be_visible()
    expect(section.get_by_test_id("instant-sync-state")).to_have_text("Instant sync is off.")
    section.get_by_role("button", name="Turn on instant sync").click()

    section = page.get_by_test_id("instant-sync")
    expect(page.get_by_role("status").filter(has_text="Instant sync is on.")).to_be_visible()
    expect(section.get_by_test_id("instant-sync-state")).to_have_text("Instant sync is on")
    expect(section.get_by_label("Webhook address")).to_be_visible()
    assert "/live-events/canvas/" in section.get_by_label("Webhook address").input_value()
    expect(section.get_by_test_id("last-event")).to_have_text("None yet")
    expect(section.get_by_text("user_updated")).to_be_visible()
    section.get_by_text("Sign Payload").scroll_into_view_if_needed()
    looks_right(page, "lms-settings-instant-sync", width)
    if shots := os.environ.get("SHOTS_DIR"):  # the section alone, readable at a phone's width
        section.screenshot(path=os.path.join(shots, f"instant-sync-section-{width}.png"))
    assert_accessible(page, "lms-settings-instant-sync at " + width)


def test_it_tells_the_admin_to_check_the_connection_while_events_cannot_be_bound(
    page, width, live_server, admin_a, institution_a
):
    """On, with a connection verified before instant sync existed (no root account uuid): the section
    says why events are refused and what to do, not to look in Data Services."""
    CanvasConnection.objects.update_or_create(institution=institution_a, defaults={"root_account_uuid": ""})
    LiveSync.objects.create(institution=institution_a, enabled=True, enabled_at=timezone.now() - dt.timedelta(days=2))
    log_in(page)
    page.goto(f"{live_server.url}/admin-settings/lms/")
    section = page.get_by_test_id("instant-sync")
    warning = section.get_by_test_id("instant-sync-unbound")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("Check connection")
    expect(section.get_by_test_id("instant-sync-silent")).to_have_count(0)
    warning.scroll_into_view_if_needed()
    looks_right(page, "lms-settings-instant-sync-unbound", width)
    if shots := os.environ.get("SHOTS_DIR"):
        section.screenshot(path=os.path.join(shots, f"instant-sync-unbound-section-{width}.png"))
    assert_accessible(page, "lms-settings-instant-sync-unbound at " + width)


def test_a_subscription_without_sign_payload_is_named_on_lms_settings(
    page, width, live_server, admin_a, connected, sim, settings
):
    """Canvas's subscription saved with Sign Payload off: the delivery (plain JSON) is refused, and the
    section says why and what to change in Canvas."""
    live = turn_on(connected, sim, settings)
    answer = requests.post(
        live_server.url + hook_url(live),
        data='{"metadata": {}, "body": {}}',
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert answer.status_code == 401
    log_in(page)
    page.goto(f"{live_server.url}/admin-settings/lms/")
    warning = page.get_by_test_id("instant-sync").get_by_test_id("instant-sync-refused")
    expect(warning).to_contain_text("turn Sign Payload on")
    warning.scroll_into_view_if_needed()
    looks_right(page, "lms-settings-instant-sync-refused", width)
    if shots := os.environ.get("SHOTS_DIR"):
        page.get_by_test_id("instant-sync").screenshot(
            path=os.path.join(shots, f"instant-sync-refused-section-{width}.png")
        )
    assert_accessible(page, "lms-settings-instant-sync-refused at " + width)


@pytest.fixture
def instant(connected, sim, settings, institution_a, admin_a, live_server, monkeypatch):
    """A synced course, instant sync on, and the simulator subscribed to the portal's webhook. The
    worker's part runs in the web process here (no worker in a browser test): each accepted event is
    handled as it is saved, and the test ends the quiet window itself."""
    Department.objects.get_or_create(institution=institution_a, name="Law")
    catalog_from_sim(institution_a, sim)
    add_entry(institution_a, 501)
    sync(institution_a)
    live = turn_on(connected, sim, settings)
    monkeypatch.setattr("sync.live.receive._enqueue", handle_pending)
    monkeypatch.setattr("sync.live.handle.coalesce.schedule_flush", lambda institution_id, delay_s: None)
    sim.control("live_events/subscriptions", {"url": live_server.url + hook_url(live), "event_types": []})
    return live


def _flush_now(live) -> None:
    """The flush task once the quiet window has passed, its batches run here as a worker would."""
    saved = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = celery_app.conf.task_eager_propagates = True
    try:
        later = timezone.now() + dt.timedelta(seconds=60)
        assert coalesce.flush(live.institution_id, now=later) is not None
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = saved


def test_a_change_in_canvas_reaches_the_department_page(page, width, instant, sim, live_server):
    log_in(page)
    department = Department.objects.get(institution=instant.institution, name="Law")
    page.goto(f"{live_server.url}/departments/{department.id}/")
    row = page.get_by_role("row").filter(has_text="Contracts I")
    before = int(row.get_by_role("cell").nth(5).inner_text())

    # In "Canvas": the People page of Contracts I, and Seán O'Brien deactivated.
    page.goto(f"{sim.url}/courses/501/users")
    page.get_by_label("Email").fill("canvas-admin")
    page.get_by_label("Password").fill("canvas-admin")
    page.get_by_role("button", name="Log In").click()
    page.get_by_role("row").filter(has_text="Seán O'Brien").get_by_role("button", name="Deactivate").click()
    expect(page.get_by_role("row").filter(has_text="Seán O'Brien")).to_contain_text("inactive")
    assert sim.app.live_events.wait_idle()
    _flush_now(instant)

    page.goto(f"{live_server.url}/departments/{department.id}/")
    row = page.get_by_role("row").filter(has_text="Contracts I")
    expect(row.get_by_role("cell").nth(5)).to_have_text(str(before - 1))
    looks_right(page, "department-after-live-event", width)
    assert_accessible(page, "department-after-live-event at " + width)
    page.goto(f"{live_server.url}/admin-settings/lms/history/")
    live_row = page.get_by_role("row").filter(has_text="Live event")
    expect(live_row).to_have_count(1)
    expect(live_row.get_by_test_id("touched-courses")).to_have_text("Contracts I")
    looks_right(page, "history-live-event", width)
