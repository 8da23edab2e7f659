"""The roster guard in a browser, at a laptop's and a phone's width: a course whose roster would shrink
drastically is held on its run's page with Approve in reach (no browser test showed that page before);
Approve applies it. SHOTS_DIR=/tmp/shots saves both states."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from portal.models import Enrollment
from tests.conftest import login
from tests.e2e.axe import assert_accessible
from tests.e2e.test_every_page import on_screen
from tests.e2e.widths import WIDTHS, looks_right
from tests.sync.engine.test_sync_run import big_course, drop
from tests.sync.engine_helpers import add_entry, catalog_from_sim, sync

pytestmark = pytest.mark.e2e


@pytest.fixture
def held(connected, sim, institution_a):
    big_course(sim)
    catalog_from_sim(institution_a, sim)
    add_entry(institution_a, 501)
    sync(institution_a)
    drop(sim, 8)  # 8 of 14 exam-takers gone at once: more than half
    return sync(institution_a)


def test_a_held_course_is_approved_from_its_run_page(page, width, admin_a, held):
    login(page, "alice@alpha.test")
    page.goto(f"/admin-settings/lms/history/{held.id}/")
    expect(page.get_by_role("heading", name=f"Sync #{held.id}")).to_be_visible()
    approve = page.get_by_role("button", name="Approve")
    on_screen(page, approve)
    expect(page.locator("main")).to_contain_text("Large roster drop held for approval")
    looks_right(page, "run-held", width)
    assert_accessible(page, f"run-held at {WIDTHS[width]}px")

    approve.click()
    expect(page.get_by_role("status").filter(has_text="Approved: ")).to_contain_text("now matches Canvas")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    assert Enrollment.objects.filter(status="active").count() == 6
    looks_right(page, "run-approved", width)
