"""The fault matrix, sync side: a real Sync Now against the simulator over HTTP with a fault injected.

Each case syncs the first half of the courses cleanly (the records a failed run must not lose), then
runs a sync of every course with the fault, then checks: the run ended with a status and message
that tell the truth; every applied course equals Canvas and every other course is exactly as before
(nothing half-written, nothing lost, nothing duplicated); and once the fault is gone, a clean re-run
leaves the portal equal to a clean sync of the same Canvas into a second institution.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import pytest
from django.core import mail

from lms_canvas import oauth
from lms_canvas.models import CanvasConnection, ConnectionStatus
from lms_canvas.simulator.generator import DEMO_KEY_ID
from lms_canvas.simulator.scopes import SEED_SCOPES
from sync.models import CourseResultStatus, RunStatus, SyncRun
from tests.faults.helpers import (
    Truth,
    assert_converged,
    assert_run_truthful,
    course_ids,
    put_on_sync_list,
    records,
    truth,
)
from tests.sync.engine_helpers import sync

pytestmark = [pytest.mark.faults, pytest.mark.django_db]
# A token renewed or refused mid-run is written from the thread that met it, on its own database
# connection, as in a worker: these tests commit, so that thread sees (and may lock) the rows.
TOKEN_WRITES = pytest.mark.django_db(transaction=True)

ENROLLMENTS_SCOPE = "url:GET|/api/v1/courses/:course_id/enrollments"


@dataclass
class Case:
    run: SyncRun
    before: dict
    truth: Truth
    ids: list[int]


@pytest.fixture
def half_synced(conn_a, big_sim, institution_a):
    """The first half of the courses synced cleanly; the second half just added to the sync list."""
    ids = course_ids(big_sim)
    put_on_sync_list(institution_a, big_sim, ids[: len(ids) // 2])
    first = sync(institution_a)
    assert first.status in (RunStatus.SUCCEEDED, RunStatus.WITH_ISSUES), first.message
    put_on_sync_list(institution_a, big_sim, ids[len(ids) // 2 :])
    return ids


def run_with_fault(institution_a, institution_b, big_sim, ids, clear=lambda: None) -> Case:
    before = records(institution_a)
    run = sync(institution_a)
    big_sim.control("faults", {})
    clear()
    expected = truth(institution_b, big_sim, ids)
    assert_run_truthful(run, before, expected)
    return Case(run, before, expected, ids)


def statuses(run: SyncRun) -> dict[str, int]:
    out: dict[str, int] = {}
    for status in run.course_results.values_list("status", flat=True):
        out[status] = out.get(status, 0) + 1
    return out


def failed_messages(run: SyncRun) -> list[str]:
    return list(run.course_results.filter(status=CourseResultStatus.FAILED).values_list("message", flat=True))


def test_5xx_on_a_tenth_of_requests_is_absorbed_by_retries(half_synced, big_sim, institution_a, institution_b):
    # At most 2 errors in a row for one request: the client's 3 retries then always absorb them, where a
    # random 10% alone fails some request on all 4 attempts about one run in a hundred.
    faults = {"error_rate": 0.1, "error_status": 503, "paths": "^/api/", "seed": 11, "error_repeat_max": 2}
    big_sim.control("faults", faults)
    case = run_with_fault(institution_a, institution_b, big_sim, half_synced)

    errors = sum(codes.get("503", 0) for codes in big_sim.control("stats")["requests"].values())
    assert errors >= 5  # the fault really happened
    assert case.run.status == case.truth.status, case.run.message
    assert CourseResultStatus.FAILED not in statuses(case.run)
    assert records(institution_a) == case.truth.courses
    assert_converged(institution_a, case.truth)


def test_5xx_that_outlast_the_retries_fail_only_that_course_and_say_so(
    half_synced, big_sim, institution_a, institution_b
):
    victim = half_synced[3]  # synced before: its records must survive
    big_sim.control("faults", {"error_rate": 1.0, "error_status": 502, "paths": f"^/api/v1/courses/{victim}/"})
    case = run_with_fault(institution_a, institution_b, big_sim, half_synced)

    assert case.run.status == RunStatus.WITH_ISSUES
    assert "1 failed" in case.run.message
    [message] = failed_messages(case.run)
    assert "HTTP 502" in message and "What to do" in message
    assert records(institution_a)[victim] == case.before[victim]
    assert_converged(institution_a, case.truth)


def test_read_timeouts_are_retried(half_synced, big_sim, institution_a, institution_b):
    big_sim.control("faults", {"timeout_rate": 0.08, "timeout_s": 0.6, "paths": "/enrollments", "seed": 5})
    case = run_with_fault(institution_a, institution_b, big_sim, half_synced)

    assert case.run.status == case.truth.status, case.run.message
    assert CourseResultStatus.FAILED not in statuses(case.run)
    assert_converged(institution_a, case.truth)


def test_a_course_that_always_times_out_fails_with_the_reason(half_synced, big_sim, institution_a, institution_b):
    second_half = half_synced[len(half_synced) // 2 :]
    available = [c for c in second_half if big_sim.store.tables["courses"][c].get("workflow_state") == "available"]
    victim = available[0]  # never synced: it must stay absent, not half-written
    big_sim.control(
        "faults", {"timeout_rate": 1.0, "timeout_mode": "drop", "paths": f"^/api/v1/courses/{victim}/enrollments"}
    )
    case = run_with_fault(institution_a, institution_b, big_sim, half_synced)

    assert case.run.status == RunStatus.WITH_ISSUES
    [message] = failed_messages(case.run)
    assert "Canvas" in message and "What to do" in message
    assert victim not in records(institution_a)
    assert_converged(institution_a, case.truth)


class NoisyNeighbour:
    """Another integration using the portal's token flat out, which fills Canvas's bucket for it."""

    def __init__(self, sim, token: str, threads: int = 3) -> None:
        self.sim, self.token, self.threads = sim, token, threads
        self.stop = threading.Event()
        self.workers: list[threading.Thread] = []

    def start(self, seconds: float) -> None:
        for _ in range(self.threads):
            worker = threading.Thread(target=self._hammer, daemon=True)
            worker.start()
            self.workers.append(worker)
        threading.Timer(seconds, self.stop.set).start()

    def _hammer(self) -> None:
        api = self.sim.api(self.token)
        while not self.stop.is_set():
            if api.get(f"{self.sim.url}/api/v1/accounts/self", timeout=5).status_code == 403:
                time.sleep(0.005)

    def join(self) -> None:
        self.stop.set()
        for worker in self.workers:
            worker.join(5)


def test_a_throttling_storm_slows_the_sync_but_loses_nothing(
    half_synced, big_sim, institution_a, institution_b, after_requests, caplog
):
    caplog.set_level(logging.INFO, logger="lms_canvas.client")
    # A tight bucket (three requests in flight fill it) that a noisy neighbour keeps full for 1.5 s.
    big_sim.control("faults", {"throttle": {"hwm": 120, "up_front_cost": 50, "outflow": 10}, "latency_ms": 20})
    token = CanvasConnection.objects.get(institution=institution_a).access_token
    neighbour = NoisyNeighbour(big_sim, token)
    after_requests.at(10, lambda: neighbour.start(1.5))
    try:
        case = run_with_fault(institution_a, institution_b, big_sim, half_synced)
    finally:
        neighbour.join()

    retried = [r for r in caplog.records if "throttled; retrying" in r.getMessage()]
    assert retried, "the storm never reached the sync: the case tests nothing"
    assert case.run.status == case.truth.status, case.run.message
    assert CourseResultStatus.FAILED not in statuses(case.run)
    assert_converged(institution_a, case.truth)


@TOKEN_WRITES
def test_the_access_token_expiring_mid_run_is_renewed(
    half_synced, big_sim, institution_a, institution_b, after_requests
):
    after_requests.at(40, lambda: big_sim.control("clock", {"advance_s": 3700}))
    case = run_with_fault(institution_a, institution_b, big_sim, half_synced)

    assert after_requests.fired == [40]
    assert big_sim.control("stats")["tokens_refreshed"] >= 1
    assert case.run.status == case.truth.status, case.run.message
    assert CourseResultStatus.FAILED not in statuses(case.run)
    assert CanvasConnection.objects.get(institution=institution_a).status == ConnectionStatus.VERIFIED
    assert_converged(institution_a, case.truth)


def reauthorize(institution, sim) -> None:
    """What the admin does after a loss of access: Generate Key again (a fresh OAuth round trip)."""
    token = sim.issue_token()
    CanvasConnection.objects.filter(institution=institution).update(
        access_token=token["access_token"],
        refresh_token=token["refresh_token"],
        status=ConnectionStatus.VERIFIED,
        status_reason="",
        reauth_notified_at=None,
    )


@TOKEN_WRITES
def test_the_refresh_token_revoked_mid_run_fails_the_run_and_asks_for_reauthorization(
    half_synced, big_sim, institution_a, institution_b, after_requests, admin_a
):
    after_requests.at(40, lambda: big_sim.control("tokens/revoke"))
    mail.outbox.clear()
    case = run_with_fault(institution_a, institution_b, big_sim, half_synced)

    conn = CanvasConnection.objects.get(institution=institution_a)
    assert conn.status == ConnectionStatus.NEEDS_REAUTH
    assert len(mail.outbox) == 1 and "re-authorization" in mail.outbox[0].subject
    assert case.run.status == RunStatus.FAILED, case.run.message
    assert "Generate Key" in case.run.message
    reauthorize(institution_a, big_sim)
    assert_converged(institution_a, case.truth)


@TOKEN_WRITES
def test_the_key_switched_off_mid_run_fails_the_run_naming_the_key(
    half_synced, big_sim, institution_a, institution_b, after_requests
):
    after_requests.at(40, lambda: big_sim.control(f"keys/{DEMO_KEY_ID}", {"state": "off"}))
    case = run_with_fault(
        institution_a,
        institution_b,
        big_sim,
        half_synced,
        clear=lambda: big_sim.control(f"keys/{DEMO_KEY_ID}", {"state": "on"}),
    )

    assert case.run.status == RunStatus.FAILED, case.run.message
    assert "switched OFF" in case.run.message and "State to ON" in case.run.message
    reauthorize(institution_a, big_sim)
    assert_converged(institution_a, case.truth)


@TOKEN_WRITES
def test_a_scope_removed_from_the_key_mid_run_fails_the_run_and_names_the_scope(
    half_synced, big_sim, institution_a, institution_b, after_requests
):
    # Canvas deletes a key's tokens when scopes are removed from it, so the portal loses access; the
    # next Generate Key (its preflight) names the missing scope.
    fewer = [s for s in SEED_SCOPES if s != ENROLLMENTS_SCOPE]
    after_requests.at(40, lambda: big_sim.control(f"keys/{DEMO_KEY_ID}", {"scopes": fewer}))
    case = run_with_fault(
        institution_a,
        institution_b,
        big_sim,
        half_synced,
        clear=lambda: big_sim.control(f"keys/{DEMO_KEY_ID}", {"scopes": list(SEED_SCOPES)}),
    )

    assert case.run.status == RunStatus.FAILED, case.run.message
    assert "Generate Key" in case.run.message
    conn = CanvasConnection.objects.get(institution=institution_a)
    assert conn.status == ConnectionStatus.NEEDS_REAUTH
    big_sim.control(f"keys/{DEMO_KEY_ID}", {"scopes": fewer})
    [finding] = oauth.preflight(conn)  # what Generate Key says before the admin leaves for Canvas
    assert ENROLLMENTS_SCOPE in finding.message
    big_sim.control(f"keys/{DEMO_KEY_ID}", {"scopes": list(SEED_SCOPES)})
    reauthorize(institution_a, big_sim)
    assert_converged(institution_a, case.truth)


@TOKEN_WRITES
def test_a_token_that_loses_a_scope_mid_run_fails_naming_the_scope(
    half_synced, big_sim, institution_a, institution_b, after_requests
):
    def narrow() -> None:  # the token itself no longer carries the enrollments scope
        conn = CanvasConnection.objects.get(institution=institution_a)
        record = big_sim.app.auth.lookup(conn.access_token)
        record.scopes = [s for s in record.scopes if s != ENROLLMENTS_SCOPE]

    after_requests.at(40, narrow)
    case = run_with_fault(
        institution_a, institution_b, big_sim, half_synced, clear=lambda: reauthorize(institution_a, big_sim)
    )

    assert case.run.status == RunStatus.FAILED, case.run.message
    assert ENROLLMENTS_SCOPE in case.run.message and "Developer Keys" in case.run.message
    assert all(ENROLLMENTS_SCOPE in m for m in failed_messages(case.run))
    assert_converged(institution_a, case.truth)


def test_malformed_json_is_retried_or_reported_never_half_applied(half_synced, big_sim, institution_a, institution_b):
    big_sim.control("faults", {"malformed_json_rate": 0.1, "paths": "^/api/", "seed": 3})
    case = run_with_fault(institution_a, institution_b, big_sim, half_synced)

    assert case.run.status == case.truth.status, case.run.message
    assert CourseResultStatus.FAILED not in statuses(case.run), failed_messages(case.run)
    assert_converged(institution_a, case.truth)


def test_a_pagination_loop_fails_the_course_naming_it(half_synced, big_sim, institution_a, institution_b):
    big_sim.control("faults", {"loop_pagination": True, "paths": "/enrollments"})
    case = run_with_fault(institution_a, institution_b, big_sim, half_synced)

    failed = failed_messages(case.run)
    assert failed, "no course has a second page of enrollments: the case tests nothing"
    assert all("links back to a page already read" in m for m in failed), failed
    assert case.run.status in (RunStatus.WITH_ISSUES, RunStatus.FAILED)
    assert_converged(institution_a, case.truth)
