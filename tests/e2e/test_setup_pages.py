"""In the browser, at a laptop's and a phone's width: LMS Settings listing every problem with the key in
one Save, the Schedule and notifications page, the dashboard's setup checklist and the status card it
becomes, and a running sync's time left. SHOTS_DIR=/tmp/shots saves each page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from lms_canvas.models import CanvasConfig
from lms_canvas.scopes import REQUIRED_SCOPES
from lms_canvas.simulator.generator import DEMO_KEY_ID, DEMO_SECRET
from portal.models import Institution
from sync.models import CourseResultStatus, RunKind, RunStatus, RunTrigger, SyncCourseResult, SyncRun
from tests.conftest import login, open_global_settings
from tests.e2e.axe import assert_accessible
from tests.e2e.widths import looks_right
from tests.sync.engine_helpers import add_entry, catalog_from_sim, sync

pytestmark = pytest.mark.e2e


def log_in(page) -> None:
    login(page, "alice@alpha.test")
    expect(page.get_by_role("heading", level=1)).to_have_text("Alpha University")  # on the dashboard
    page.wait_for_load_state("load")  # its scripts have run (on a phone, the Menu button is shown by one)


@pytest.fixture
def portal(settings, live_server):
    settings.SITE_URL = live_server.url
    return live_server.url


def test_lms_settings_lists_every_problem_with_the_key_in_one_save(page, width, portal, sim, admin_a):
    sim.control(
        f"keys/{DEMO_KEY_ID}",
        {
            "scopes": [s for s in REQUIRED_SCOPES if s != REQUIRED_SCOPES[4]],
            "state": "off",
            "redirect_uris": [portal + "/lms/canvas/callback/"],
        },
    )
    log_in(page)
    open_global_settings(page)
    page.get_by_role("link", name="LMS Settings").click()
    page.get_by_label("Canvas Server").fill(sim.url)
    page.get_by_label("Client ID").fill(str(DEMO_KEY_ID))
    page.get_by_label("Client Secret").fill("not-" + DEMO_SECRET)
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("alert")).to_contain_text("Canvas showed 3 problems with the developer key")
    expect(page.get_by_test_id("connection-status")).to_have_text("Not verified")
    problems = page.get_by_test_id("key-problems").get_by_role("listitem")
    expect(problems).to_have_count(3)
    expect(problems.nth(0)).to_contain_text(f"does not grant 1 required scope: {REQUIRED_SCOPES[4]}")
    expect(problems.nth(1)).to_contain_text("switched OFF")
    expect(problems.nth(2)).to_contain_text("Canvas refused the Client Secret")
    expect(problems.nth(2)).to_contain_text("What to do: In Canvas, select Show Key")
    expect(page.get_by_test_id("next-sync")).to_contain_text(
        "Next nightly sync: none — nothing is on the sync list yet"
    )
    looks_right(page, "lms-settings-problems", width)
    assert_accessible(page, "lms-settings-problems at " + width)


def open_lms_settings(page) -> None:
    log_in(page)
    open_global_settings(page)
    page.get_by_role("link", name="LMS Settings").click()


def test_lms_settings_stops_saying_the_key_is_off_once_a_save_finds_it_on(page, width, portal, sim, admin_a):
    key = f"keys/{DEMO_KEY_ID}"
    sim.control(key, {"state": "off", "redirect_uris": [portal + "/lms/canvas/callback/"]})
    open_lms_settings(page)
    page.get_by_label("Canvas Server").fill(sim.url)
    page.get_by_label("Client ID").fill(str(DEMO_KEY_ID))
    page.get_by_label("Client Secret").fill(DEMO_SECRET)
    page.get_by_role("button", name="Save").click()
    status = page.get_by_role("region", name="Connection: Not verified")
    expect(status).to_contain_text("switched OFF")

    sim.control(key, {"state": "on"})  # the admin switches it ON in Canvas, then Saves again
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_text("Saved. Canvas accepts this developer key")).to_be_visible()
    expect(status).not_to_contain_text("switched OFF")
    expect(page.get_by_test_id("key-accepted")).to_have_text(
        "Canvas accepts the saved developer key. Next step: choose Generate Key and authorize the portal in "
        "Canvas, so it can prove it reads Canvas."
    )
    page.reload()
    expect(status).not_to_contain_text("switched OFF")
    looks_right(page, "lms-settings-key-switched-on", width)
    assert_accessible(page, "lms-settings-key-switched-on at " + width)


def test_lms_settings_says_an_https_address_on_a_plain_http_server_could_not_be_reached(
    page, width, portal, sim, connected, admin_a
):
    typed = sim.url.replace("http://", "https://")  # the simulator speaks plain http: the TLS handshake fails
    open_lms_settings(page)
    page.get_by_label("Canvas Server").fill(typed)
    page.get_by_label("Client Secret").fill(DEMO_SECRET)
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("alert").filter(has_text="Not saved")).to_contain_text(
        "the portal could not reach a Canvas server at that Canvas Server address"
    )
    expect(page.get_by_role("alert").filter(has_text="securely")).to_contain_text(
        "the address your browser shows when you use Canvas, starting with https://"
    )
    expect(page.get_by_text("refuses these key details")).to_have_count(0)
    expect(page.get_by_label("Canvas Server")).to_have_value(typed)
    expect(page.get_by_label("Client Secret")).to_have_value("")
    expect(page.get_by_text("the Client Secret you typed was not kept: type it again")).to_be_visible()
    expect(page.get_by_test_id("connection-status")).to_have_text("Verified")
    looks_right(page, "lms-settings-unreachable", width)
    assert_accessible(page, "lms-settings-unreachable at " + width)


@pytest.fixture
def listed(connected, sim, institution_a):
    """A on its way: a course on the sync list, and tonight's nightly sync started already (so the next one
    is at a time, not "due now", whatever the clock says)."""
    catalog_from_sim(institution_a, sim)
    add_entry(institution_a, 501)
    SyncRun.objects.create(
        institution=institution_a, kind=RunKind.SYNC, trigger=RunTrigger.NIGHTLY, status=RunStatus.SUCCEEDED
    )
    return institution_a


def test_the_schedule_page_saves_and_says_the_next_nightly_sync(page, width, listed, admin_a):
    log_in(page)
    open_global_settings(page)
    page.get_by_role("link", name="Schedule and notifications").click()
    expect(page.get_by_role("heading", name="Schedule and notifications", level=1)).to_be_visible()
    expect(page.get_by_test_id("next-sync")).to_contain_text("2:00 a.m. E")  # EST or EDT, by the date
    expect(page.get_by_test_id("admin-emails")).to_have_text("alice@alpha.test")

    page.get_by_label("Nightly sync starts at").select_option(label="3:00 a.m.")
    page.get_by_label("Time zone").select_option("America/Chicago")
    page.get_by_label("Also email").fill("helpdesk@alpha.test\nnot an address")
    page.get_by_label("Hold a course when a sync would deactivate more than (%) of its exam-takers").fill("140")
    page.get_by_role("button", name="Save").first.click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")
    expect(page.get_by_text("line 2 (“not an address”)")).to_be_visible()
    expect(page.get_by_text("Enter a percentage from 0 to 100.")).to_be_visible()
    looks_right(page, "schedule-errors", width)
    assert_accessible(page, "schedule-errors at " + width)

    page.get_by_label("Also email").fill("helpdesk@alpha.test")
    page.get_by_label("Hold a course when a sync would deactivate more than (%) of its exam-takers").fill("40")
    page.get_by_role("button", name="Save").first.click()
    expect(page.get_by_role("status").filter(has_text="Schedule and notifications saved.")).to_be_visible()
    expect(page.get_by_test_id("next-sync")).to_contain_text("3:00 a.m. C")
    expect(page.get_by_test_id("next-sync")).to_contain_text("(America/Chicago)")
    expect(page.get_by_label("Also email")).to_have_value("helpdesk@alpha.test")
    looks_right(page, "schedule", width)
    assert_accessible(page, "schedule at " + width)
    institution = Institution.objects.get(id=listed.id)
    assert (institution.nightly_sync_hour, institution.timezone, institution.sync_hold_percent) == (
        3,
        "America/Chicago",
        40,
    )


def test_the_dashboard_is_a_checklist_until_a_first_sync_then_a_status_card(page, width, connected, sim, admin_a):
    institution = connected.institution
    log_in(page)
    checklist = page.get_by_test_id("setup-checklist")
    expect(checklist).to_contain_text("2 of 6 steps done")
    current = checklist.locator('[aria-current="step"]')
    expect(current).to_contain_text("Configure the ID types and roles")
    expect(current.get_by_role("button", name="Open Configure")).to_be_visible()
    expect(page.get_by_test_id("next-sync")).to_contain_text("nothing is on the sync list yet")
    looks_right(page, "dashboard-checklist", width)
    assert_accessible(page, "dashboard-checklist at " + width)

    CanvasConfig.objects.filter(institution=institution).update(saved_at=timezone.now())
    catalog_from_sim(institution, sim)
    add_entry(institution, 501)
    add_entry(institution, 503)  # unpublished: the sync has an issue
    run = sync(institution, trigger=RunTrigger.NIGHTLY)  # tonight's has run: the next is at a time
    page.reload()
    card = page.get_by_test_id("sync-status")
    expect(checklist).to_have_count(0)
    expect(card.get_by_test_id("status-connection")).to_have_text("Verified")
    expect(card.get_by_test_id("status-last-sync")).to_contain_text(f"Sync #{run.id}")
    expect(card.get_by_test_id("status-last-sync")).to_contain_text(run.get_status_display())
    expect(card.get_by_test_id("status-next-sync")).to_contain_text("2:00 a.m.")
    expect(card.get_by_test_id("status-issues")).to_contain_text("in the last sync")
    counts = [box.bounding_box() for box in page.locator(".stats article").all()]
    assert len({round(c["y"]) for c in counts}) == 1, counts  # side by side at either width, not a column
    looks_right(page, "dashboard-status", width)
    assert_accessible(page, "dashboard-status at " + width)
    card.get_by_role("link", name="see what and why").click()
    expect(page.get_by_role("heading", name=f"Sync #{run.id}")).to_be_visible()


def test_a_running_sync_says_about_how_long_is_left_and_what_it_syncs_now(page, width, institution_a, admin_a):
    run = SyncRun.objects.create(
        institution=institution_a,
        kind=RunKind.SYNC,
        status=RunStatus.RUNNING,
        started_at=timezone.now() - dt.timedelta(seconds=225),  # 7.5 min to go at this pace
        done=20,
        total=60,
    )
    for n, label in enumerate(["Contracts I (LAW-101-F26)", "Torts II", "Evidence", "Property", "Equity"]):
        SyncCourseResult.objects.create(
            run=run, canvas_course_id=600 + n, label=label, status=CourseResultStatus.RUNNING
        )
    log_in(page)
    page.goto(f"/admin-settings/lms/history/{run.id}/")
    expect(page.get_by_test_id("run-progress")).to_contain_text("20 of 60 courses done, about 8 min left")
    expect(page.get_by_test_id("run-current")).to_have_text(
        "Syncing now: Contracts I (LAW-101-F26), Torts II, Evidence and 2 more."
    )
    looks_right(page, "run-progress", width)
    assert_accessible(page, "run-progress at " + width)
