"""Every page an admin sees, at a laptop's and a phone's width: nothing scrolls sideways, the page's
main action is on screen, axe-core finds no serious or critical accessibility violation, the favicon
and everything else a page asks for loads, and a search box has room to type in.

SHOTS_DIR=/tmp/shots saves a full-page screenshot of each page at each width."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from playwright.sync_api import expect

from portal.models import Course, Department, ExamTaker
from sync.models import SyncRun
from tests.conftest import login
from tests.e2e.axe import assert_accessible
from tests.e2e.widths import WIDTHS, looks_right
from tests.sync.engine_helpers import add_entry, catalog_from_sim, sync
from tests.sync.passback_helpers import make_exam

pytestmark = pytest.mark.e2e


@pytest.fixture
def portal(connected, sim, institution_a, admin_a):
    """An institution after a first sync with issues, and an exam with scores on a synced course."""
    catalog_from_sim(institution_a, sim)
    add_entry(institution_a, 501)
    add_entry(institution_a, 503)  # unpublished: the run has an issue
    run = sync(institution_a)
    course = Course.objects.get(institution=institution_a, lms_id=501)
    exam = make_exam(course)
    for taker in ExamTaker.objects.filter(institution=institution_a)[:2]:
        exam.scores.create(exam_taker=taker, score=42)
    return {"run": run, "course": course, "exam": exam, "department": Department.objects.get(name="Law")}


def on_screen(page, locator) -> None:
    """The element is visible and wholly inside the viewport's width (not cut off at the right)."""
    expect(locator).to_be_visible()
    box = locator.bounding_box()
    viewport = page.viewport_size["width"]
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport, f"{locator} is off screen: {box}"


def one_period_after_a_time(page) -> None:
    """A sentence that ends with a time ends with the time's own period ("7:14 a.m.", never "a.m..")."""
    text = page.locator("body").inner_text()
    assert not re.search(r"[ap]\.m\.\.", text), re.search(r".{40}[ap]\.m\.\..{0,20}", text).group()


def search_boxes_are_wide_enough(page) -> None:
    """A search box has room for what is typed in it (on Select Courses at 390 px it once shrank to 60 px)."""
    for box in page.get_by_role("searchbox").all():
        if box.is_visible():
            width = box.bounding_box()["width"]
            assert width >= 200, f"a search box is {width:.0f}px wide"


def help_texts_clear_their_fields(page) -> None:
    """A field's help text starts below the field, not over its bottom edge (Schedule's "Also email")."""
    overlaps = page.evaluate(
        """() => [...document.querySelectorAll(':is(input, select, textarea) + small')]
        .filter(help => help.offsetParent !== null)
        .map(help => [help.previousElementSibling, help.getBoundingClientRect().top])
        .filter(([field, top]) => top < field.getBoundingClientRect().bottom - 0.5)
        .map(([field, top]) => `${field.name}: ${Math.round(field.getBoundingClientRect().bottom - top)}px`)"""
    )
    assert not overlaps, f"help texts over their fields: {overlaps}"


def controls_are_whole(page) -> None:
    """Every field and button has the same four corners (Pico drew a role=search form's controls as
    pieces of one pill: square on one side, round on the other, beside fields drawn as on any form)."""
    halves = page.evaluate(
        """() => [...document.querySelectorAll('main :is(input, select, textarea, button)')]
        .filter(c => c.offsetParent !== null && !['checkbox', 'radio', 'file'].includes(c.type))
        .filter(c => { const s = getComputedStyle(c);
            return new Set([s.borderTopLeftRadius, s.borderTopRightRadius, s.borderBottomLeftRadius,
                            s.borderBottomRightRadius]).size > 1 || parseFloat(s.borderTopLeftRadius) > 8; })
        .map(c => c.name || c.textContent.trim() || c.type)"""
    )
    assert not halves, f"controls drawn as half pills or pills: {halves}"


def its_icon_loads(page) -> None:
    """The page names a favicon and it is there (without one, every page logged a 404 in the console)."""
    href = page.evaluate("() => document.querySelector('link[rel~=icon]')?.href")
    assert href, "the page names no favicon"
    icon = page.request.get(href)
    assert icon.ok and icon.headers["content-type"].startswith("image/"), f"the favicon {href}: {icon.status}"


class Walk:
    """Checks each page on the way and reports every page's problems at the end, not only the first."""

    def __init__(self, page, width: str) -> None:
        self.page, self.width, self.problems = page, width, []
        self.failed: list[str] = []  # a script, a style sheet or an image of a page that did not load
        page.on(
            "response",
            lambda r: (
                self.failed.append(f"{r.status} {r.url}")
                if r.status >= 400 and r.request.resource_type != "document"
                else None
            ),
        )

    def check(self, name: str, main_action) -> None:
        # What a page loads after it is shown (Configure's ID coverage) is part of the page looked at.
        expect(self.page.locator('[hx-trigger="load"]:empty')).to_have_count(0)
        for step in (
            lambda: on_screen(self.page, main_action),
            lambda: looks_right(self.page, name, self.width),
            lambda: assert_accessible(self.page, f"{name} at {WIDTHS[self.width]}px"),
            lambda: one_period_after_a_time(self.page),
            lambda: its_icon_loads(self.page),
            lambda: search_boxes_are_wide_enough(self.page),
            lambda: help_texts_clear_their_fields(self.page),
            lambda: controls_are_whole(self.page),
        ):
            try:
                step()
            except AssertionError as e:
                self.problems.append(f"{name}: {e}")

    def done(self) -> None:
        if self.failed:
            self.problems.append(f"what the pages asked for and did not get: {self.failed}")
        assert not self.problems, "\n\n".join(self.problems)


def test_pages_before_logging_in(page, width, admin_a):
    walk = Walk(page, width)
    page.goto("/login/")
    walk.check("login", page.get_by_role("button", name="Log in"))
    page.goto("/password-reset/")
    walk.check("password-reset", page.get_by_role("button", name="Email me a link"))
    page.get_by_label("Email").fill("alice@alpha.test")
    page.get_by_role("button", name="Email me a link").click()
    walk.check("password-reset-sent", page.get_by_role("link", name="Back to log in"))

    uid = urlsafe_base64_encode(force_bytes(admin_a.pk))
    page.goto(f"/welcome/{uid}/{default_token_generator.make_token(admin_a)}/")
    walk.check("set-password", page.get_by_role("button", name="Set password"))
    page.get_by_label("New password", exact=True).fill("a brand new passphrase 42")
    page.get_by_label("New password again").fill("something else")
    page.get_by_role("button", name="Set password").click()
    walk.check("set-password-error", page.get_by_role("button", name="Set password"))
    page.goto(f"/password-reset/{uid}/not-a-token/")
    walk.check("link-used", page.get_by_role("button", name="Email me a new link"))

    locked = page.get_by_role("heading", name="Too many attempts")
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):  # the wrong password until the account is locked
        login(page, "alice@alpha.test", "not the password")
        if locked.is_visible():
            break
    walk.check("locked-out", locked)
    walk.done()


def test_every_page_of_an_admin(page, width, portal):
    run: SyncRun = portal["run"]
    walk = Walk(page, width)
    login(page, "alice@alpha.test")
    header = page.get_by_role("banner")
    walk.check("dashboard", page.get_by_role("link", name="Law"))
    if width == "phone":  # the menu is folded behind its button
        header.get_by_role("button", name="Menu").click()
    walk.check("header", header.get_by_role("button", name="Log out"))

    pages = [
        ("global-settings", "/admin-settings/", page.get_by_role("link", name="LMS Settings")),
        ("lms-settings", "/admin-settings/lms/", page.get_by_role("button", name="Save")),
        ("configure", "/admin-settings/lms/configure/", page.get_by_role("button", name="Save")),
        ("select-courses", "/admin-settings/lms/sync/", page.get_by_role("button", name="Refresh Courses")),
        ("select-courses-search", "/admin-settings/lms/sync/?q=LAW", page.get_by_role("button", name="Search")),
        ("select-courses-too-long", f"/admin-settings/lms/sync/?q={'x' * 300}", page.get_by_test_id("search-error")),
        ("edit-sync-list", "/admin-settings/lms/sync/?tab=list", page.get_by_role("button", name="Save")),
        ("view-history", "/admin-settings/lms/history/", page.get_by_role("button", name="Sync Now")),
        (
            "run",
            f"/admin-settings/lms/history/{run.id}/",
            page.get_by_role("heading", name=f"Sync #{run.id}"),
        ),
        ("open-problems", "/admin-settings/lms/problems/", page.get_by_role("button", name="Filter")),
        ("sync-errors", "/admin-settings/lms/sync-errors/", page.get_by_role("heading", name="LMS Sync Errors")),
        ("why", "/admin-settings/lms/why/?q=Philosophy", page.get_by_role("button", name="Explain")),
        ("why-too-long", f"/admin-settings/lms/why/?q={'x' * 300}", page.get_by_test_id("search-error")),
        ("exams", "/exams/", page.get_by_role("button", name="Create exam")),
        ("exam", f"/exams/{portal['exam'].id}/", page.get_by_role("button", name="Post scores to Canvas")),
        (
            "post-grades",
            f"/exams/{portal['exam'].id}/post/confirm/",
            page.get_by_role("button", name=re.compile(r"^Post \d+ grades?$")),
        ),
        ("department", f"/departments/{portal['department'].id}/", page.get_by_role("button", name="Search")),
        (
            "department-too-long",
            f"/departments/{portal['department'].id}/?q={'x' * 300}",
            page.get_by_test_id("search-error"),
        ),
        ("course", f"/courses/{portal['course'].id}/", page.get_by_role("heading", name="Exam-takers")),
        ("schedule", "/admin-settings/schedule/", page.get_by_role("button", name="Save").first),
        ("audit-trail", "/admin-settings/audit/", page.get_by_role("button", name="Filter")),
        ("setup-guide", "/admin-settings/setup-guide/", page.get_by_role("heading", name="Setup guide")),
    ]
    for name, url, main_action in pages:
        page.goto(url)
        expect(page.get_by_role("navigation", name="breadcrumb")).to_be_visible()
        walk.check(name, main_action)

    page.goto("/admin-settings/lms/sync/?tab=list")
    page.get_by_label("CSV file").set_input_files(
        {"name": "list.csv", "mimeType": "text/csv", "buffer": b"Canvas Course Id\n503\n"}
    )
    page.get_by_label("Remove: remove the listed courses").check()
    page.get_by_role("button", name="Preview import").click()
    walk.check("import-preview", page.get_by_role("button", name="Apply import"))
    walk.done()


def test_the_keyboard_focus_is_visible(page, width, admin_a):
    login(page, "alice@alpha.test")
    expect(page.get_by_role("heading", name="Alpha University")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Tab")
    brand = page.get_by_role("link", name="LMS Sync Portal")
    expect(brand).to_be_focused()
    outline = brand.evaluate("e => [getComputedStyle(e).outlineStyle, getComputedStyle(e).outlineWidth]")
    assert outline == ["solid", "3px"]
    looks_right(page, "focus", width)
