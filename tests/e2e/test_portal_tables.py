"""A department's and a course's tables after a sync, at a laptop's and a phone's width: on a phone each
row is a card whose every cell is on screen under its column's name (the Exam-takers' Section and
Status were cut off at 390 px), and on a laptop they are the tables they were, emails included.

SHOTS_DIR=/tmp/shots saves a full-page screenshot of each page at each width."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from portal.models import Course, ExamTaker
from tests.conftest import login
from tests.e2e.widths import looks_right
from tests.sync.engine_helpers import add_entry, catalog_from_sim, sync

pytestmark = pytest.mark.e2e


@pytest.fixture
def synced(connected, sim, institution_a, admin_a) -> Course:
    """Contracts I synced into Law: two exam-takers in one section, two course admins."""
    catalog_from_sim(institution_a, sim)
    add_entry(institution_a, 501)
    sync(institution_a)
    return Course.objects.get(institution=institution_a, lms_id=501)


def cut_off_cells(page) -> list[str]:
    """Each table cell, or table, that reaches past the screen's right edge or needs its box scrolled."""
    return page.evaluate(
        """() => {
        const right = window.innerWidth;
        const bad = [];
        for (const table of document.querySelectorAll('main table')) {
            const box = table.closest('.table-scroll');
            if (table.getBoundingClientRect().right > right) bad.push(`a table ends at ${table.getBoundingClientRect().right}px`);
            if (box && box.scrollWidth > box.clientWidth) bad.push(`${box.getAttribute('aria-label')} scrolls sideways`);
            for (const cell of table.querySelectorAll('td')) {
                if (cell.getBoundingClientRect().right > right) bad.push(`"${cell.innerText}" is cut off`);
            }
        }
        return bad;
    }"""
    )


def test_a_department_page_fits_its_courses(page, width, synced):
    login(page, "alice@alpha.test")
    expect(page.get_by_role("link", name="Law")).to_be_visible()
    assert cut_off_cells(page) == []  # the dashboard's departments, on the way
    page.goto(f"/departments/{synced.department_id}/")

    courses = page.get_by_role("table", name="Courses in Law")
    expect(courses.get_by_role("link", name="LAW-101-F26")).to_be_visible()
    if width == "phone":
        expect(courses.get_by_role("cell", name="Exam-takers: 2")).to_be_visible()
    else:
        expect(courses.get_by_role("columnheader", name="Exam-takers")).to_be_visible()
    assert cut_off_cells(page) == []
    looks_right(page, "department-tables", width)


def test_a_course_page_shows_every_column_of_its_people(page, width, synced):
    login(page, "alice@alpha.test")
    page.goto(f"/courses/{synced.id}/")

    takers = page.get_by_role("region", name="Exam-takers")
    admins = page.get_by_role("region", name="Course admins")
    if width == "phone":
        ada = takers.get_by_role("row").filter(has_text="S0001")
        for text in ("Email: ada@demo.edu", "Section: LAW-101-F26-A", "Status: Active"):
            expect(ada.get_by_role("cell", name=text)).to_be_visible()
        expect(admins.get_by_role("cell", name="Email: ghopper@demo.edu")).to_be_visible()
    else:
        for name in ("Email", "Section", "Status"):
            expect(takers.get_by_role("columnheader", name=name)).to_be_visible()
        expect(takers.get_by_role("row", name="S0001")).to_contain_text("ada@demo.edu")
        expect(admins.get_by_role("row", name="E0001")).to_contain_text("ghopper@demo.edu")
    assert cut_off_cells(page) == []
    looks_right(page, "course-tables", width)


def test_a_course_page_without_emails_says_so_instead_of_an_empty_column(page, width, synced):
    ExamTaker.objects.update(email="")  # as before a sync that asks Canvas for them
    login(page, "alice@alpha.test")
    page.goto(f"/courses/{synced.id}/")

    takers = page.get_by_role("region", name="Exam-takers")
    expect(takers.get_by_role("columnheader", name="Email")).to_have_count(0)
    expect(page.get_by_text("No email addresses yet")).to_be_visible()
    assert cut_off_cells(page) == []
    looks_right(page, "course-no-emails", width)
