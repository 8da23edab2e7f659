"""Support's pages in Django admin (/support/), at a laptop's and a phone's width: the admin index, an
institution and from it its Canvas connection (no secret or token anywhere in the page), its sync issues,
its runs and one run with its per-course results and issues, and the actions support re-runs work with,
clicked through to what they answer. Each page: its main element shown, nothing scrolls sideways, axe-core finds no serious
or critical violation. SHOTS_DIR=/tmp/shots saves a full-page screenshot of each page at each width."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from lms_canvas.models import CanvasConnection
from sync.models import RunKind, RunTrigger, SyncRun
from tests.conftest import login
from tests.e2e.axe import assert_accessible
from tests.e2e.widths import WIDTHS, looks_right
from tests.sync.engine_helpers import add_entry, catalog_from_sim, sync

pytestmark = pytest.mark.e2e


class Walk:
    """Checks each page on the way and reports every page's problems at the end, not only the first."""

    def __init__(self, page, width: str, secrets: dict[str, str]) -> None:
        self.page, self.width, self.secrets, self.problems = page, width, secrets, []

    def check(self, name: str, what) -> None:
        main = self.page.get_by_role("main")
        for step in (
            lambda: expect(main).to_be_visible(),
            lambda: expect(what).to_be_visible(),
            lambda: looks_right(self.page, f"support-{name}", self.width),
            lambda: assert_accessible(self.page, f"support's {name} at {WIDTHS[self.width]}px"),
            self.shows_no_secret,
        ):
            try:
                step()
            except AssertionError as e:
                self.problems.append(f"{name}: {e}")

    def shows_no_secret(self) -> None:
        html = self.page.content()
        shown = [what for what, secret in self.secrets.items() if secret in html]  # named: no part of one printed
        assert not shown, f"the page's HTML holds the connection's {', '.join(shown)}"

    def done(self) -> None:
        assert not self.problems, "\n\n".join(self.problems)


@pytest.fixture
def run(connected, sim, institution_a) -> SyncRun:
    """A sync with per-course results and an issue (503 is unpublished)."""
    catalog_from_sim(institution_a, sim)
    add_entry(institution_a, 501)
    add_entry(institution_a, 503)
    return sync(institution_a)


def secrets_of(conn: CanvasConnection) -> dict[str, str]:
    conn.refresh_from_db()
    secrets = {
        "client secret": conn.client_secret,
        "access token": conn.access_token,
        "refresh token": conn.refresh_token,
    }
    assert all(secrets.values())  # real values on the connection, or searching the page for them proves nothing
    return secrets


def test_every_page_support_uses(page, width, support_user, connected, run, institution_a):
    walk = Walk(page, width, secrets_of(connected))
    login(page, "sam@support.test")
    page.goto("/support/")
    walk.check("index", page.get_by_role("link", name="Canvas connections"))

    # From the institution, as support looks into one: its connection, its runs, its issues.
    institution = f"/support/portal/institution/{institution_a.id}/change/"
    page.goto(institution)
    walk.check("institution", page.get_by_role("button", name="Save", exact=True))
    tools = page.get_by_role("main")  # the institution's own links, not the sidebar's of the same names
    tools.get_by_role("link", name="Canvas connection", exact=True).click()
    walk.check("connection", page.get_by_text("•••• (set, never shown)").first)

    page.goto(institution)
    tools.get_by_role("link", name="Sync issues", exact=True).click()
    walk.check("issues", page.get_by_role("row").filter(has_text="course_unpublished"))

    page.goto(institution)
    tools.get_by_role("link", name="Sync runs", exact=True).click()
    walk.check("runs", page.get_by_role("link", name=str(run.id), exact=True))
    page.get_by_role("link", name=str(run.id), exact=True).click()
    problems = page.locator(".field-problems")
    walk.check("run", problems.get_by_role("link", name="1 course_unpublished", exact=True))
    expect(problems).to_contain_text(
        re.compile(r"\d+ first seen in this run: .*1 course_unpublished.*; 0 resolved by it")
    )
    problems.get_by_role("link", name="1 course_unpublished", exact=True).click()
    walk.check("run-problems", page.get_by_role("row").filter(has_text="course_unpublished"))
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    page.go_back()
    expect(page.locator(".field-course_results")).to_contain_text("2 courses: 1 synced, 1 not synced")
    page.get_by_role("link", name="2 courses").click()
    synced = page.get_by_role("row").filter(has_text="Contracts I").filter(has_text="Synced")
    walk.check("run-course-results", synced)
    synced.get_by_role("link").click()
    walk.check("run-course-result", page.get_by_role("heading", name="Contracts I: Synced"))

    # Re-verify: a live call to Canvas, answered on the list of connections.
    page.goto("/support/lms_canvas/canvasconnection/")
    page.get_by_role("checkbox", name="Select this object for an action").first.check()
    page.get_by_label("Action:").select_option(label="Re-verify (live call to Canvas and capability check)")
    page.get_by_role("button", name="Go").click()
    walk.check("reverified", page.get_by_text("Alpha University: Verified (all checks passed)"))

    # A new access token: the new one is not shown either.
    page.get_by_role("checkbox", name="Select this object for an action").first.check()
    page.get_by_label("Action:").select_option(label="Refresh the access token now")
    page.get_by_role("button", name="Go").click()
    expect(page.get_by_text("Alpha University: token refreshed.")).to_be_visible()
    walk.secrets = secrets_of(connected)
    page.goto(f"/support/lms_canvas/canvasconnection/{connected.id}/change/")
    walk.check("connection-new-token", page.get_by_text("•••• (set, never shown)").first)
    page.get_by_role("main").get_by_role("link", name="History").click()
    walk.check("connection-history", page.get_by_role("heading", name="Change history: Canvas for Alpha University"))
    page.goto("/support/audit/auditentry/")
    walk.check("audit-entries", page.get_by_role("button", name="Search"))
    page.get_by_role("row").filter(has_text="Canvas for Alpha University").first.get_by_role("link").first.click()
    walk.check("audit-entry-connection", page.get_by_role("cell", name="(set, not shown)"))

    # Sync now from the sync list: a run by support, queued for a worker (none runs here).
    page.goto("/support/sync/synclistentry/")
    page.get_by_role("checkbox", name="Select all objects on this page for an action").check()
    page.get_by_label("Action:").select_option(label="Sync now (the institutions of the selected entries)")
    page.get_by_role("button", name="Go").click()
    walk.check("sync-now", page.get_by_text(re.compile(r"^Alpha University: sync #\d+ queued\.$")))
    queued = SyncRun.objects.get(trigger=RunTrigger.SUPPORT, kind=RunKind.SYNC)
    assert queued.requested_by == support_user
    expect(page.get_by_text(f"Alpha University: sync #{queued.id} queued.")).to_be_visible()

    # Refresh courses from the connection: a refresh run, queued for a worker.
    page.goto("/support/lms_canvas/canvasconnection/")
    page.get_by_role("checkbox", name="Select this object for an action").first.check()
    page.get_by_label("Action:").select_option(label="Refresh courses now")
    page.get_by_role("button", name="Go").click()
    walk.check("refresh-courses", page.get_by_text(re.compile(r"^Alpha University: refresh queued as run #\d+\.$")))
    refresh = SyncRun.objects.get(trigger=RunTrigger.SUPPORT, kind=RunKind.REFRESH)
    expect(page.get_by_text(f"Alpha University: refresh queued as run #{refresh.id}.")).to_be_visible()
    walk.done()
