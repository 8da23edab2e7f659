"""In the browser: Sync Now with live progress, Preview then Apply, View History, a run page, its CSV,
and a department page that matches the simulator's roster (seed steps 20-23)."""

from __future__ import annotations

import re
import threading
import time

import pytest
from django.db import connection, connections
from playwright.sync_api import expect

from sync.engine import sync_batch
from sync.models import SyncRun
from tests.conftest import login
from tests.e2e.widths import WIDTHS, looks_right
from tests.sync.engine_helpers import add_entry, catalog_from_sim

pytestmark = pytest.mark.e2e


@pytest.fixture
def background_worker(monkeypatch):
    """A run's batches run on a thread, one every half second, so the page can show progress."""
    threads: list[threading.Thread] = []
    # pytest's SQLite test database lives in memory: share this connection, as the live server does.
    shared = connections["default"] if connection.vendor == "sqlite" else None

    def enqueue(run_id: int) -> None:
        def work() -> None:
            if shared is not None:
                connections["default"] = shared
            try:
                for number in range(1, SyncRun.objects.get(id=run_id).batch_count + 1):
                    time.sleep(0.5)
                    sync_batch(run_id, number)
            finally:
                if shared is None:
                    connection.close()

        thread = threading.Thread(target=work, daemon=True)
        threads.append(thread)
        thread.start()

    monkeypatch.setattr("sync.engine.runner.send_first", enqueue)
    monkeypatch.setattr("sync.engine.dispatch._send", lambda *sent: None)  # this thread sends them
    if shared is not None:
        shared.inc_thread_sharing()
    yield
    for thread in threads:
        thread.join(timeout=30)
    if shared is not None:
        shared.dec_thread_sharing()


@pytest.fixture
def listed(connected, sim, institution_a, admin_a, background_worker):
    catalog_from_sim(institution_a, sim)
    add_entry(institution_a, 501)
    add_entry(institution_a, 503)  # unpublished since it was added
    return institution_a


def test_sync_now_shows_progress_then_the_run_and_the_department_matches_canvas(page, listed, tmp_path):
    login(page, "alice@alpha.test")
    page.goto("/admin-settings/lms/history/")
    page.get_by_role("button", name="Sync Now").click()

    # The card says "Waiting to start" until the worker takes the run, then "Syncing" (a quick run may be
    # past the first before the page shows it).
    expect(page.locator("#progress-heading")).to_have_text(re.compile(r"^(Waiting to start|Syncing)$"))
    expect(page.get_by_role("progressbar")).to_be_visible()
    expect(page.get_by_test_id("run-status")).to_have_text("Finished with issues", timeout=20_000)
    results = page.locator("table.course-results")
    expect(results.get_by_role("row", name="Contracts I")).to_contain_text("Synced")
    expect(results.get_by_role("row", name="Philosophy II")).to_contain_text("unpublished")

    pending = page.locator("details.issue-group").filter(has=page.locator("summary", has_text="Pending invitation"))
    pending.locator("summary").click()
    expect(pending.get_by_role("table", name="Pending invitation")).to_contain_text("José García")
    page.get_by_label("Reason").select_option(label="Pending invitation (1)")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("table", name="Pending invitation").get_by_role("row")).to_have_count(2)
    page.get_by_role("link", name="More about this reason").click()
    expect(page.locator("#pending_invitation")).to_contain_text("Pending invitation")
    page.go_back()

    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    path = tmp_path / "issues.csv"
    download.value.save_as(path)
    assert "pending_invitation" in path.read_text()

    page.get_by_role("link", name="Dashboard").click()
    page.get_by_role("link", name="Law").click()
    page.get_by_role("link", name="LAW-101-F26").click()
    expect(page.get_by_text("LAW-101-F26-A — Section A")).to_be_visible()
    takers = page.locator("table").last
    for name in ("Ada Lovelace", "Seán O'Brien"):
        expect(takers).to_contain_text(name)
    expect(takers.get_by_role("row")).to_have_count(3)
    for name in ("Grace Hopper", "Alan Turing"):
        expect(page.get_by_role("cell", name=name)).to_be_visible()


def test_preview_then_apply_and_history(page, listed):
    login(page, "alice@alpha.test")
    page.goto("/admin-settings/lms/history/")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("heading", name="Apply these changes?")).to_be_visible(timeout=20_000)
    page.get_by_text("People", exact=True).first.click()
    expect(page.get_by_text("Ada Lovelace")).to_be_visible()
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_test_id("run-status")).to_have_text("Finished with issues", timeout=20_000)

    page.get_by_role("link", name="View History").click()
    rows = page.locator("table.history tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Sync")
    expect(rows.last).to_contain_text("(preview)")
    expect(page.locator("#history-chart")).to_be_visible()
    page.get_by_label("Status").select_option("succeeded")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)


@pytest.mark.parametrize("width", list(WIDTHS))
def test_sync_now_on_an_empty_list_says_where_courses_are_added(page, width, admin_a, connected):
    page.set_viewport_size({"width": WIDTHS[width], "height": 800})
    login(page, "alice@alpha.test")
    page.goto("/admin-settings/lms/history/")
    page.get_by_role("button", name="Sync Now").click()

    expect(page.get_by_text("Your sync list is empty, so there is nothing to sync yet.")).to_be_visible()
    expect(page.get_by_role("tab", name="Select Courses")).to_be_visible()
    looks_right(page, "sync-now-empty-list", width)
    assert not SyncRun.objects.exists()
