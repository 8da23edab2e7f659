"""The vendor guide, both halves, in a browser: the key made in Canvas's pages, then LMS Settings to Configure."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from lms_canvas.http import RetryPolicy
from lms_canvas.scopes import REQUIRED_SCOPES
from lms_canvas.simulator.generator import DEMO_KEY_ID, DEMO_SECRET
from tests.conftest import connect_to, login, open_global_settings
from tests.e2e.axe import assert_accessible
from tests.e2e.canvas_pages import create_developer_key
from tests.e2e.widths import WIDTHS, looks_right

pytestmark = pytest.mark.e2e


@pytest.fixture
def portal(settings, live_server):
    settings.SITE_URL = live_server.url
    return live_server.url


def fill_lms_settings(page, sim_url: str, client_id: str, secret: str) -> None:
    open_global_settings(page)
    page.get_by_role("link", name="LMS Settings").click()
    expect(page.get_by_role("heading", name="LMS Settings")).to_be_visible()
    page.get_by_label("LMS Type").select_option(label="Canvas Dev Key")
    page.get_by_label("Canvas Server").fill(sim_url)
    page.get_by_label("Client ID").fill(client_id)
    page.get_by_label("Client Secret").fill(secret)
    page.get_by_role("button", name="Save").click()


def test_the_whole_guide_from_developer_key_to_configure_saved(page, portal, sim, admin_a):
    client_id, secret = create_developer_key(page, sim.url, portal + "/lms/canvas/callback/", REQUIRED_SCOPES)

    login(page, "alice@alpha.test")
    fill_lms_settings(page, sim.url, client_id, secret)
    expect(page.get_by_text("Canvas accepts this developer key")).to_be_visible()
    expect(page.get_by_test_id("connection-status")).to_have_text("Not verified")
    expect(page.get_by_role("button", name="Configure")).to_be_visible()

    page.get_by_role("button", name="Generate Key").click()
    expect(page.get_by_role("heading")).to_contain_text("ExamSoft is requesting access")
    page.get_by_role("button", name="Authorize").click()

    expect(page.get_by_test_id("connection-status")).to_have_text("Verified")
    expect(page.get_by_text("as Canvas user Canvas Admin")).to_be_visible()
    expect(page.get_by_text("✓ Include parameters")).to_be_visible()
    assert secret not in page.content()

    page.get_by_role("button", name="Configure").click()
    page.get_by_label("Course ID Type").select_option(label="SIS ID")
    page.get_by_label("Section ID Type").select_option(label="Section ID")
    page.get_by_label("Student ID Type").select_option(label="Email")
    expect(page.get_by_role("group", name="Course Admin Roles").get_by_label("Teacher", exact=True)).to_be_checked()
    page.get_by_role("group", name="Student Roles").get_by_label("Auditor (based on Student)").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Configuration saved")).to_be_visible()
    expect(page.get_by_label("Student ID Type")).to_have_value("email")


def test_a_missing_scope_is_named_on_the_portal_page(page, portal, sim, admin_a):
    sim.control(
        f"keys/{DEMO_KEY_ID}",
        {
            "scopes": [s for s in REQUIRED_SCOPES if s != REQUIRED_SCOPES[-1]],
            "redirect_uris": [portal + "/lms/canvas/callback/"],
        },
    )
    login(page, "alice@alpha.test")
    fill_lms_settings(page, sim.url, str(DEMO_KEY_ID), DEMO_SECRET)
    alert = page.get_by_role("alert").filter(has_text="does not grant")
    expect(alert).to_contain_text(REQUIRED_SCOPES[-1])
    expect(alert).to_contain_text("Enforce Scopes")
    page.get_by_role("button", name="Configure").click()
    expect(page.get_by_text("Configure is locked until the Canvas connection is Verified")).to_be_visible()


def test_cancel_at_canvas_keeps_a_verified_connection(page, portal, sim, admin_a):
    """The issue's blocker: Generate Key then Cancel on Canvas's page must not break a working connection."""
    client_id, secret = create_developer_key(page, sim.url, portal + "/lms/canvas/callback/", REQUIRED_SCOPES)
    login(page, "alice@alpha.test")
    fill_lms_settings(page, sim.url, client_id, secret)
    page.get_by_role("button", name="Generate Key").click()
    page.get_by_role("button", name="Authorize").click()
    expect(page.get_by_test_id("connection-status")).to_have_text("Verified")

    page.get_by_role("button", name="Generate Key").click()
    page.get_by_role("button", name="Cancel").click()

    expect(page.get_by_text("authorization was cancelled")).to_be_visible()
    expect(page.get_by_text("Your existing connection is unchanged: it is still Verified")).to_be_visible()
    expect(page.get_by_test_id("connection-status")).to_have_text("Verified")


@pytest.mark.parametrize("width", list(WIDTHS))
def test_configure_starts_with_canvas_built_in_roles_chosen_under_canvas_own_labels(
    page, width, sim, admin_a, institution_a
):
    """Issue 16 item 1: Canvas labels built-in roles "Teacher" (named TeacherEnrollment); the defaults
    are chosen by built-in state and base role type, and shown in Canvas's words."""
    page.set_viewport_size({"width": WIDTHS[width], "height": 800})
    connect_to(institution_a, sim)
    login(page, "alice@alpha.test")
    page.goto("/admin-settings/lms/configure/")

    admins = page.get_by_role("group", name="Course Admin Roles")
    students = page.get_by_role("group", name="Student Roles")
    for group in (admins, students):
        labels = [text.strip() for text in group.locator("label").all_inner_texts()]
        assert labels == [
            "Student",
            "Teacher",
            "TA",
            "Designer",
            "Observer",
            "Auditor (based on Student)",
            "Course Director (based on Teacher)",
        ]
    checked = lambda group: [c.strip() for c in group.locator("label:has(input:checked)").all_inner_texts()]  # noqa: E731
    assert checked(admins) == ["Teacher", "TA"]
    assert checked(students) == ["Student"]
    expect(page.get_by_role("main")).not_to_contain_text("Enrollment")
    looks_right(page, "configure-defaults", width)
    assert_accessible(page, "configure")

    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Configuration saved")).to_be_visible()


def test_neither_a_refused_save_nor_a_cancel_at_canvas_nor_an_outage_breaks_a_verified_connection(
    page, width, portal, sim, connected, admin_a, monkeypatch
):
    """Issue 15 item 1 at a laptop's and a phone's width: on a Verified connection a mistyped secret is
    not saved, Generate Key then Cancel on Canvas's page keeps the connection, and so do Check
    connection while Canvas is down and Disconnect then Cancel."""
    sim.control(f"keys/{DEMO_KEY_ID}", {"redirect_uris": [portal + "/lms/canvas/callback/"]})
    login(page, "alice@alpha.test")
    fill_lms_settings(page, sim.url, str(DEMO_KEY_ID), "not-" + DEMO_SECRET)
    expect(page.get_by_role("alert").filter(has_text="Not saved")).to_contain_text("Canvas refuses these key details")
    expect(page.get_by_role("alert").filter(has_text="Canvas refused the Client Secret")).to_be_visible()
    expect(page.get_by_text("Your existing connection is unchanged: it is still Verified")).to_be_visible()
    expect(page.get_by_test_id("connection-status")).to_have_text("Verified")
    looks_right(page, "lms-settings-not-saved", width)
    assert_accessible(page, f"lms-settings-not-saved at {WIDTHS[width]}px")

    page.get_by_role("button", name="Generate Key").click()
    page.get_by_label("Email").fill("canvas-admin")  # Canvas's login page, then its Authorize page
    page.get_by_label("Password").fill("canvas-admin")
    page.get_by_role("button", name="Log In").click()
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_text("authorization was cancelled")).to_be_visible()
    expect(page.get_by_text("Your existing connection is unchanged: it is still Verified")).to_be_visible()
    expect(page.get_by_test_id("connection-status")).to_have_text("Verified")
    expect(page.get_by_role("button", name="Configure")).to_be_enabled()
    looks_right(page, "lms-settings-cancelled", width)

    monkeypatch.setattr(RetryPolicy, "delay", lambda self, retry: 0.0)
    sim.control("faults", {"error_rate": 1.0, "error_status": 503, "paths": "^/api/v1/"})
    try:
        page.get_by_role("button", name="Check connection").click()
        expect(page.get_by_role("alert").filter(has_text="HTTP 503")).to_be_visible()
    finally:
        sim.control("faults", {})
    expect(page.get_by_text("Check connection again once Canvas answers")).to_be_visible()
    expect(page.get_by_test_id("connection-status")).to_have_text("Verified")
    looks_right(page, "lms-settings-canvas-down", width)
    assert_accessible(page, f"lms-settings-canvas-down at {WIDTHS[width]}px")

    page.get_by_role("button", name="Disconnect").click()  # asks first; Cancel keeps the connection
    expect(page.get_by_role("heading", name="Disconnect from Canvas?")).to_be_visible()
    expect(page.get_by_role("navigation", name="breadcrumb")).to_contain_text("LMS Settings")
    looks_right(page, "disconnect-confirm", width)
    assert_accessible(page, f"disconnect-confirm at {WIDTHS[width]}px")
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_test_id("connection-status")).to_have_text("Verified")
