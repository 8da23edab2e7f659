"""A full refresh reads the names of the sub-accounts its courses sit in (one request each, never per
course), so Select Courses' Sub-account filter names them; one Canvas will not show keeps its number."""

from __future__ import annotations

from django.urls import reverse

from sync.catalog import refresh
from sync.models import CatalogAccount, RunKind, RunStatus, SyncRun
from sync.runs import lifecycle
from tests.sync.catalog_helpers import text

ACCOUNT_READS = "GET /api/v1/accounts/:id"


def _refresh(conn) -> SyncRun:
    run = lifecycle.create_run(conn.institution, RunKind.REFRESH)
    return refresh.run_refresh(run.id)


def _account_reads(sim) -> int:
    return sum(sim.control("stats")["requests"].get(ACCOUNT_READS, {}).values())


def _names(institution) -> dict[int, str]:
    return dict(CatalogAccount.objects.filter(institution=institution).values_list("canvas_id", "name"))


def test_a_refresh_stores_the_names_of_its_courses_sub_accounts(connected, sim):
    before = _account_reads(sim)

    run = _refresh(connected)

    assert run.status == RunStatus.SUCCEEDED, run.message
    assert _names(connected.institution) == {
        2: "School of Law",
        3: "College of Arts & Sciences",
        4: "Department of History",
    }
    assert _account_reads(sim) - before == 3  # one per sub-account of the 5 courses

    _refresh(connected)  # names just read are not asked for again
    assert _account_reads(sim) - before == 3


def test_the_sub_account_filter_shows_the_names_a_refresh_read(connected, client_a):
    _refresh(connected)

    body = text(client_a.get(reverse("sync-settings")))

    assert '<option value="2">School of Law: 2 courses</option>' in body
    assert '<option value="3">College of Arts & Sciences: 2 courses</option>' in body
    assert '<option value="4">Department of History: 1 course</option>' in body
    assert "Account 2" not in body


def test_an_account_the_token_cannot_read_keeps_its_number_and_the_refresh_succeeds(connected, sim, client_a):
    sim.control("faults", {"error_rate": 1.0, "error_status": 403, "paths": r"^/api/v1/accounts/3$"})

    run = _refresh(connected)

    assert run.status == RunStatus.SUCCEEDED, run.message
    assert "Fetched 5 courses and 5 sections." in run.message
    assert _names(connected.institution) == {2: "School of Law", 4: "Department of History"}
    body = text(client_a.get(reverse("sync-settings")))
    assert '<option value="3">Account 3: 2 courses</option>' in body
    assert '<option value="2">School of Law: 2 courses</option>' in body
