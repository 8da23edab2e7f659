"""Issue 16 items 3 and 4 in the browser, at a laptop's and a phone's width: after Allow Include
Parameters is switched off, and after the authorizing user's role stops showing SIS ids, the run page
says so once with the fix (not an issue per person), LMS Settings' connection card names it, and
Select Courses does not call a blank SIS ID "not in Canvas" while Canvas hides them.
SHOTS_DIR=/tmp/shots saves each page."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from lms_canvas.models import CanvasConfig, StudentIdType
from lms_canvas.simulator.generator import DEMO_KEY_ID
from tests.conftest import login, open_global_settings
from tests.e2e.axe import assert_accessible
from tests.e2e.widths import looks_right
from tests.sync.engine_helpers import add_entry, catalog_from_sim, sync

pytestmark = pytest.mark.e2e


@pytest.fixture
def synced(connected, sim, institution_a, admin_a):
    catalog_from_sim(institution_a, sim)
    add_entry(institution_a, 501)
    sync(institution_a)
    return institution_a


def open_lms_settings(page) -> None:
    login(page, "alice@alpha.test")
    expect(page.get_by_role("heading", level=1)).to_have_text("Alpha University")
    page.wait_for_load_state("load")
    open_global_settings(page)
    page.get_by_role("link", name="LMS Settings").click()


def reason_group(page, title: str):
    return page.locator("details.issue-group").filter(has=page.locator("summary", has_text=title))


def test_includes_switched_off_read_on_the_run_page_and_lms_settings(page, width, synced, sim):
    sim.control(f"keys/{DEMO_KEY_ID}", {"allow_includes": False})
    run = sync(synced)

    open_lms_settings(page)
    card = page.locator("section.status-card")
    expect(card).to_contain_text("Include parameters: Canvas answers without the data")
    expect(card).to_contain_text("tick Allow Include Parameters and Save")
    looks_right(page, "lms-settings-includes-off", width)
    assert_accessible(page, "lms-settings-includes-off at " + width)

    page.goto(f"/admin-settings/lms/history/{run.id}/")
    expect(page.get_by_test_id("run-message")).to_contain_text("tick Allow Include Parameters and Save")
    group = reason_group(page, "Include parameters not allowed")
    expect(group).to_have_count(1)
    expect(group).to_contain_text("Admin > Developer Keys, find the portal's key, choose edit")
    looks_right(page, "run-includes-off", width)
    assert_accessible(page, "run-includes-off at " + width)


def test_hidden_sis_ids_read_on_the_run_page_and_lms_settings(page, width, synced, sim):
    sim.control("permissions", {"key_id": DEMO_KEY_ID, "read_sis": False})
    run = sync(synced)

    page_run = f"/admin-settings/lms/history/{run.id}/"
    open_lms_settings(page)
    card = page.locator("section.status-card")
    expect(card).to_contain_text("SIS IDs and logins: Canvas hides SIS IDs from the portal")
    expect(card).to_contain_text("SIS Data - read")
    looks_right(page, "lms-settings-sis-hidden", width)
    assert_accessible(page, "lms-settings-sis-hidden at " + width)

    page.goto(page_run)
    group = reason_group(page, "SIS IDs hidden by the authorizing user's Canvas role")
    expect(group).to_have_count(1)
    expect(group).to_contain_text("not blank in Canvas")
    expect(reason_group(page, "No value for the Student ID type")).to_have_count(0)
    expect(page.locator("table.course-results")).to_contain_text("Not synced, nothing changed")
    looks_right(page, "run-sis-hidden", width)
    assert_accessible(page, "run-sis-hidden at " + width)

    page.goto(reverse("sync-settings"))  # Select Courses: History of Science has no SIS ID the portal can see
    expect(page.locator("main")).to_contain_text("Canvas hides SIS IDs from the user who authorized the portal")
    expect(page.locator("main")).not_to_contain_text("No SIS ID in Canvas")
    looks_right(page, "select-courses-sis-hidden", width)
    assert_accessible(page, "select-courses-sis-hidden at " + width)


def test_hidden_logins_alone_are_named_as_logins_not_sis_ids(page, width, synced, sim):
    config = CanvasConfig.objects.get(institution=synced)
    config.student_id_type = StudentIdType.LOGIN
    config.save()
    sim.control("permissions", {"user_id": 1, "view_user_logins": False})
    sync(synced)

    open_lms_settings(page)
    card = page.locator("section.status-card")
    expect(card).to_contain_text("SIS IDs and logins: Canvas hides logins from the portal")
    expect(card).to_contain_text("“Users - view login IDs”")
    expect(card).not_to_contain_text("SIS Data - read")
    looks_right(page, "lms-settings-logins-hidden", width)
    assert_accessible(page, "lms-settings-logins-hidden at " + width)

    page.goto(reverse("sync-settings"))  # History of Science has no SIS ID, and Canvas shows SIS IDs
    expect(page.locator("main")).to_contain_text("No SIS ID in Canvas")
    expect(page.locator("main")).not_to_contain_text("Canvas hides SIS IDs")
    looks_right(page, "select-courses-logins-hidden", width)
