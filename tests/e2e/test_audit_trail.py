"""The audit trail in a browser, at desktop and phone widths: support changes the schedule in Django
admin, the admin adds a course to the sync list, and both changes are on Admin > Global Settings >
Audit trail, filterable by what. SHOTS_DIR=/tmp/shots saves full-page screenshots."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from lms_canvas.models import CanvasConfig
from tests.conftest import login, open_global_settings
from tests.e2e.widths import looks_right
from tests.sync.catalog_helpers import make_catalog

pytestmark = pytest.mark.e2e


def test_a_change_appears_on_the_audit_trail(page, width, admin_a, support_user, institution_a):
    CanvasConfig.objects.create(institution=institution_a)
    make_catalog(institution_a)

    login(page, "sam@support.test")
    page.goto(f"/support/portal/institution/{institution_a.id}/change/")
    page.get_by_label("Nightly sync hour").fill("4")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("was changed successfully")).to_be_visible()
    page.get_by_role("button", name="Log out").click()

    login(page, "alice@alpha.test")
    page.goto("/admin-settings/lms/sync/")
    page.get_by_label("Search by Course ID or name").fill("LAW-101")
    expect(page.get_by_test_id("result-count")).to_contain_text("1 course matching")
    page.get_by_role("button", name="Add Contracts I to the sync list").click()
    expect(page.get_by_role("status").filter(has_text="Added")).to_be_visible()
    page.get_by_role("button", name="Sync Now").click()  # not connected: the run is skipped, but it was asked for
    expect(page.get_by_role("heading", name="Sync #")).to_be_visible()

    open_global_settings(page)
    page.get_by_role("link", name="Audit trail").click()
    expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()
    added = page.get_by_role("row").filter(has_text="Contracts I (501)")
    expect(added).to_contain_text("alice@alpha.test")
    expect(added).to_contain_text("Sync list")
    expect(added).to_contain_text("Added")
    schedule = page.get_by_role("row").filter(has_text="sam@support.test (support)")
    expect(schedule).to_contain_text("Nightly sync hour")
    expect(schedule).to_contain_text("Schedule and notifications")
    expect(schedule.get_by_role("deletion")).to_have_text("2")
    expect(schedule.get_by_role("insertion")).to_have_text("4")
    run = page.get_by_role("row").filter(has_text="Sync Now")
    expect(run).to_contain_text("alice@alpha.test")
    run.get_by_role("link", name="Sync #").click()
    expect(page.get_by_role("heading", name="Sync #")).to_be_visible()
    page.go_back()
    looks_right(page, "audit-trail", width)

    page.get_by_label("What").select_option(label="Sync list")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("row").filter(has_text="Contracts I (501)")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="sam@support.test")).to_have_count(0)
    expect(page.get_by_role("button", name="Download CSV")).to_have_attribute(
        "href", "/admin-settings/audit/audit-trail.csv?area=sync_list"
    )
    looks_right(page, "audit-trail-filtered", width)
