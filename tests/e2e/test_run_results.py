"""A run with hundreds of issues in a browser, at a laptop's and a phone's width: its issues folded by
reason with counts, a reason opened shows who and which course, "Show all" opens that reason alone;
and “Why isn't this synced?” answers a person left out of many courses once. Nothing scrolls sideways.
SHOTS_DIR=/tmp/shots saves full-page screenshots."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from sync.runs.readable import GROUP_PREVIEW
from tests.conftest import login
from tests.e2e.axe import assert_accessible
from tests.e2e.widths import looks_right
from tests.sync.runs.run_helpers import run_with_many_issues

pytestmark = pytest.mark.e2e


def test_a_run_with_many_issues_reads_by_reason(page, width, admin_a, institution_a):
    run = run_with_many_issues(institution_a)
    login(page, "alice@alpha.test")
    page.goto(f"/admin-settings/lms/history/{run.id}/")

    expect(page.get_by_test_id("issue-summary")).to_contain_text("485 issues, grouped by reason (8 reasons)")
    pending = page.locator("details.issue-group").filter(has=page.locator("summary", has_text="Pending invitation"))
    table = pending.get_by_role("table", name="Pending invitation")
    expect(pending.locator("summary")).to_contain_text("96 people in 12 courses")
    expect(table).to_be_hidden()
    looks_right(page, "run-folded", width)

    pending.locator("summary").click()
    expect(table).to_be_visible()
    expect(table.get_by_role("row")).to_have_count(GROUP_PREVIEW + 1)
    expect(table.get_by_role("row").nth(1)).to_contain_text("Catalogue course 0 (CAT-000)")
    expect(pending.get_by_text("Ask the person to accept the course invitation")).to_be_visible()
    failed = page.locator("details.issue-group").filter(has=page.locator("summary", has_text="Unexpected error"))
    failed.locator("summary").click()
    expect(failed.get_by_role("row").filter(has_text="Broken Course")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("IntegrityError")
    looks_right(page, "run-open", width)
    assert_accessible(page, "run")

    pending.get_by_role("link", name="Show all 96 people in 12 courses").click()
    expect(page.get_by_label("Reason")).to_have_value("pending_invitation")
    expect(page.locator("details.issue-group")).to_have_count(1)
    expect(page.get_by_test_id("issue-summary")).to_have_text(
        "Pending invitation: 96 people in 12 courses, of 485 issues in this run."
    )
    expect(page.get_by_role("table", name="Pending invitation").get_by_role("row")).to_have_count(51)
    expect(page.get_by_role("navigation", name="Issue pages")).to_contain_text("Page 1 of 2")
    looks_right(page, "run-one-reason", width)

    page.get_by_role("link", name="Why isn't this synced?").click()
    page.get_by_role("searchbox").fill("p3@example.edu")
    page.get_by_role("button", name="Explain").click()
    expect(page.get_by_role("heading", name="Person: Person 3")).to_have_count(1)
    expect(page.get_by_text("left out of 12 courses")).to_be_visible()
    expect(page.get_by_role("listitem").filter(has_text="Catalogue course 11 (CAT-011)")).to_have_count(1)
    expect(page.get_by_text("Nothing found")).to_have_count(0)
    looks_right(page, "why", width)
    assert_accessible(page, "why")
