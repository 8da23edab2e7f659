"""In the browser, at a laptop's and a phone's width: View History searched by a person, filtered by
dates (a bad one said beside its field) and sorted by a header; Select Courses filtered by term and
sub-account, a listed course removed and added back, sorted; Edit Sync List sorted, kept after Save;
each page's Help. Every state fits the width and axe finds nothing serious.

SHOTS_DIR=/tmp/shots saves a full-page screenshot of each state at each width."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from lms_canvas.models import CanvasConfig
from sync.models import CatalogAccount, CatalogCourse
from sync.synclist import edit
from tests.conftest import login
from tests.e2e.axe import assert_accessible
from tests.e2e.widths import WIDTHS, looks_right
from tests.sync.catalog_helpers import make_catalog
from tests.sync.runs.history_helpers import make_history

pytestmark = pytest.mark.e2e


def fits(page, name: str, width: str) -> None:
    looks_right(page, name, width)
    assert_accessible(page, f"{name} at {WIDTHS[width]}px")


def sort_link(scope, label: str, order: str):
    """A header's sort link: its label, then the order it sorts in (hidden text, read by screen readers)."""
    return scope.get_by_role("link", name=re.compile(rf"^{label}\s*, sort {order}$"))


def runs_table(page):
    return page.get_by_role("region", name="Runs").locator("tbody tr")


def test_history_searched_by_a_person_filtered_by_dates_and_sorted(page, width, admin_a, institution_a):
    runs = make_history(institution_a)
    login(page, "alice@alpha.test")
    page.goto("/admin-settings/lms/history/")
    page.get_by_text("Help: the setup guide's steps for this page").click()
    expect(page.get_by_text("Select View History to view the current sync status.")).to_be_visible()
    expect(runs_table(page)).to_have_count(4)
    fits(page, "history-filters", width)

    page.get_by_label("Search runs by course or person").fill("Ada Lovelace")
    page.get_by_role("button", name="Filter").click()
    expect(runs_table(page)).to_have_count(1)
    expect(runs_table(page).first).to_contain_text(f"#{runs['torts'].id}")
    expect(page.get_by_role("table")).to_contain_text("that touched “Ada Lovelace”")
    page.get_by_role("link", name="Clear").click()

    page.get_by_label("From").fill("2026-11-01")
    page.get_by_label("To").fill("2026-11-01")
    page.get_by_role("button", name="Filter").click()
    expect(runs_table(page)).to_have_count(1)  # 03:00 UTC on Nov 2 is Nov 1 in New York
    expect(runs_table(page).first).to_contain_text(f"#{runs['contracts'].id}")

    page.goto("/admin-settings/lms/history/?date_from=2026-02-30&q=Contracts")
    expect(page.get_by_text("Enter a date as YYYY-MM-DD, e.g. 2026-09-01")).to_be_visible()
    expect(page.get_by_label("From")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_test_id("filter-error")).to_contain_text("correct the filters marked above")
    fits(page, "history-bad-date", width)

    page.goto("/admin-settings/lms/history/?kind=sync")
    # On a phone each run is a card, and the sorts are links above them.
    sorts = page.get_by_role("navigation", name="Sort runs") if width == "phone" else page.get_by_role("table")
    sort_link(sorts, "Issues", "ascending").click()
    issues = page.locator("th[aria-sort]")
    expect(issues).to_have_text(re.compile(r"^Issues\s*, sort descending\s*▲$"))
    expect(page).to_have_url(page.url.split("?")[0] + "?kind=sync&sort=issues")
    expect(runs_table(page)).to_have_count(3)  # the kind filter kept
    expect(runs_table(page).first).to_contain_text(f"#{runs['torts'].id}")  # no issues
    sort_link(sorts, "Issues", "descending").click()
    expect(issues).to_have_text(re.compile(r"^Issues\s*, sort ascending\s*▼$"))
    expect(runs_table(page).first).to_contain_text(f"#{runs['contracts'].id}")  # three issues
    fits(page, "history-sorted", width)


@pytest.fixture
def catalog(institution_a):
    """make_catalog's Fall 2026 courses in account 1 (its name not read yet); Evidence in Spring 2027 and
    sub-account 7, School of Law, on the list."""
    config = CanvasConfig.objects.create(institution=institution_a)
    make_catalog(institution_a)
    CatalogCourse.objects.filter(institution=institution_a).update(account_id=1)
    evidence = CatalogCourse.objects.create(
        institution=institution_a,
        canvas_id=506,
        name="Evidence",
        sis_course_id="LAW-201-S27",
        workflow_state="available",
        term_name="Spring 2027",
        account_id=7,
    )
    edit.add_course(institution_a, config, evidence.id)
    CatalogAccount.objects.create(institution=institution_a, canvas_id=7, name="School of Law")
    return institution_a


def course_rows(page):
    return page.get_by_role("region", name="Courses found").locator("tbody tr:not(.sections-row)")


def test_select_courses_filtered_by_term_and_sub_account_with_remove_and_sort(page, width, admin_a, catalog):
    login(page, "alice@alpha.test")
    page.goto("/admin-settings/lms/sync/")
    expect(course_rows(page)).to_have_count(6)
    page.get_by_label("Term", exact=True).select_option("Spring 2027")
    expect(course_rows(page)).to_have_count(1)
    row = course_rows(page).first
    expect(row).to_contain_text("Evidence")
    expect(row).to_contain_text("On the list")
    fits(page, "select-courses-term", width)

    row.get_by_role("button", name="Remove Evidence from the sync list").click()
    expect(row.get_by_role("status")).to_have_text("Removed")
    row.get_by_role("button", name="Add Evidence to the sync list").click()
    expect(row.get_by_role("status")).to_have_text("Added")
    expect(row.get_by_role("button", name="Remove Evidence from the sync list")).to_be_visible()

    page.get_by_label("Term", exact=True).select_option("")
    page.get_by_label("Sub-account").select_option(label="School of Law: 1 course")
    expect(course_rows(page)).to_have_count(1)
    expect(course_rows(page).first).to_contain_text("Evidence")
    fits(page, "select-courses-named-account", width)
    expect(page.get_by_text("1 course. Greyed courses")).to_be_visible()
    page.get_by_label("Sub-account").select_option(label="Account 1: 5 courses")
    expect(course_rows(page)).to_have_count(5)
    fits(page, "select-courses-account", width)

    # A page load: works without JavaScript. On a phone the headers fold into cards, the sorts into links above.
    sorts = page.get_by_role("navigation", name="Sort courses") if width == "phone" else page.get_by_role("table")
    sort_link(sorts, "Name", "descending").click()
    expect(page.get_by_role("columnheader", name="Name")).to_have_attribute("aria-sort", "descending")
    expect(page.get_by_label("Sub-account")).to_have_value("1")
    expect(course_rows(page)).to_have_count(5)
    expect(course_rows(page).first).to_contain_text("Torts (old)")
    fits(page, "select-courses-sorted", width)

    page.goto("/admin-settings/lms/sync/?term=Winter+1999")
    expect(page.get_by_test_id("search-error")).to_contain_text("“Winter 1999” is not a term of the courses")
    fits(page, "select-courses-bad-term", width)


def test_edit_sync_list_sorted_and_kept_after_save(page, width, admin_a, catalog, institution_a):
    config = CanvasConfig.objects.get(institution=institution_a)
    edit.add_course(institution_a, config, CatalogCourse.objects.get(canvas_id=501).id)
    login(page, "alice@alpha.test")
    page.goto("/admin-settings/lms/sync/?tab=list")
    page.get_by_text("Help: the setup guide's steps for this page").click()
    expect(page.get_by_text("This may be done in bulk: check the boxes on the left")).to_be_visible()
    # On a phone the headers fold into cards, the sorts into links above them.
    sorts = page.get_by_role("navigation", name="Sort the sync list") if width == "phone" else page.get_by_role("table")
    sort_link(sorts, "Course", "descending").click()
    expect(page.locator("th[aria-sort=descending]")).to_have_text(re.compile(r"^Course\s*, sort ascending\s*▼$"))
    names = page.locator("table.sync-list tbody td.course")
    expect(names.first).to_contain_text("Evidence")
    page.get_by_role("button", name="Save").first.click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    expect(names.first).to_contain_text("Evidence")
    assert "sort=-course" in page.url
    fits(page, "edit-sync-list-sorted", width)
