"""The client against the Canvas simulator over real HTTP."""

from __future__ import annotations

import pytest
import requests

from lms_canvas.client import ALL_COURSE_STATES, CanvasClient, StaticToken
from lms_canvas.errors import CanvasError, NotFound, ScopeMissing, TokenInvalid
from lms_canvas.http import RetryPolicy
from lms_canvas.scopes import REQUIRED_SCOPES
from lms_canvas.simulator.generator import DEMO_KEY_ID, DEMO_SECRET
from lms_canvas.throttle import ThrottleGate, fetch_concurrently

SECTIONS_SCOPE = "url:GET|/api/v1/courses/:course_id/sections"


class SimulatorRefreshToken:
    """What oauth.py does, reduced to the refresh grant: a new access token from the refresh token."""

    def __init__(self, base_url: str, token_response: dict):
        self.base_url = base_url
        self.current = token_response["access_token"]
        self.refresh_token = token_response["refresh_token"]
        self.refreshes = 0

    def access_token(self) -> str:
        return self.current

    def refreshed_after_rejection(self, rejected_token: str) -> str:
        response = requests.post(
            f"{self.base_url}/login/oauth2/token",
            data={
                "grant_type": "refresh_token",
                "client_id": str(DEMO_KEY_ID),
                "client_secret": DEMO_SECRET,
                "refresh_token": self.refresh_token,
            },
            timeout=10,
        )
        if response.status_code != 200:
            raise TokenInvalid("Canvas refused the refresh token.", refresh_may_help=False)
        self.refreshes += 1
        self.current = response.json()["access_token"]
        return self.current


@pytest.fixture
def client(sim, sim_token):
    return CanvasClient(sim.url, StaticToken(sim_token))


def test_account_help_links_and_roles_are_read(client):
    account = client.get_account()
    assert (account.name, account.parent_account_id, account.root_account_id) == ("Demo University", None, None)
    help_links = client.get_help_links()
    assert help_links.name == "Help" and help_links.default_links[0].id == "instructor_question"
    roles = {role.name: role for role in client.list_roles()}
    student, auditor = roles["StudentEnrollment"], roles["Auditor"]
    assert (student.label, student.base_role_type, student.built_in) == ("Student", "StudentEnrollment", True)
    assert (auditor.label, auditor.base_role_type, auditor.built_in) == ("Auditor", "StudentEnrollment", False)
    assert "Demo University" in {a.name for a in client.list_accounts()}


def test_account_courses_include_sub_accounts_unpublished_and_deleted(client):
    courses = {c.id: c for c in client.iter_account_courses()}

    assert set(courses) == {501, 502, 503, 504, 505}
    assert courses[503].workflow_state == "unpublished"
    assert courses[504].workflow_state == "deleted"
    assert courses[501].term.name == "Fall 2026"
    assert courses[501].sis_course_id == "LAW-101-F26" and courses[501].name == "Contracts I"


def test_pagination_reads_every_page_of_a_large_account(make_sim):
    big = make_sim(generate=350, seed=7)
    client = CanvasClient(big.url, StaticToken(big.issue_token()["access_token"]))

    params = {"per_page": 25, "state[]": list(ALL_COURSE_STATES)}
    ids = [c["id"] for c in client.paginate("/api/v1/accounts/self/courses", params)]

    assert len(ids) == len(set(ids)) == len(big.store.tables["courses"]) == 350
    assert [c.id for c in client.iter_account_courses()] == ids


def test_bookmark_pages_of_enrollments_are_followed_to_the_end(client):
    enrollments = list(client.paginate("/api/v1/courses/501/enrollments", {"per_page": 2, "state[]": ["active"]}))

    assert len(enrollments) == len({e["id"] for e in enrollments}) > 2
    assert all("user" in e for e in enrollments)


def test_sis_ids_reach_courses_and_sections(client):
    assert client.get_course("sis_course_id:LAW-101-F26").id == 501
    assert [s.id for s in client.iter_sections("sis_course_id:LAW-101-F26")] == [801, 802]
    assert client.get_section("sis_section_id:PHIL-202-F26-A").course_id == 503


def test_enrollments_carry_their_user(client):
    enrollments = list(client.iter_enrollments(501, include=("email",)))

    assert enrollments and all(e.user.id == e.user_id for e in enrollments)
    assert all(e.user.email is not None for e in enrollments)
    assert all(e.user.email is None for e in client.iter_enrollments(501))


def test_unknown_sis_id_is_not_found(client):
    with pytest.raises(NotFound):
        client.get_course("sis_course_id:NO-SUCH-COURSE")


def test_course_users_carry_their_enrollments(client):
    users = {u.user.id: u for u in client.iter_course_users(501)}

    student = users[101]
    assert student.user.sis_user_id == "S0001"
    assert student.enrollments[0].type == "StudentEnrollment"
    assert all(e.user is student.user and e.user_id == 101 for e in student.enrollments)


def test_a_grade_is_posted_and_read_back(client):
    assignment = client.create_assignment(501, name="Final exam", points_possible=20, published=True)
    client.grade_submission(501, assignment.id, "sis_user_id:S0001", "13.5")

    submission = client.get_submission(501, assignment.id, 101)
    assert (submission.score, submission.grade, submission.excused) == (13.5, "13.5", False)


def test_assignments_are_listed(client):
    created = client.create_assignment(501, name="Midterm", points_possible=10)

    assert created.id in {a.id for a in client.iter_assignments(501)}
    assert created.name == "Midterm" and created.workflow_state


def test_each_verify_probe_finds_a_first_item(client):
    for name in ("accounts", "roles", "courses"):
        assert client.probe(name).first_id is not None, name
    for name in ("sections", "enrollments", "users"):
        assert client.probe(name, course_id=501).first_id is not None, name
    assert client.probe("courses").includes_honoured is True
    assert client.probe("roles").includes_honoured is None


def test_a_missing_scope_is_named(sim):
    token = sim.issue_token(scopes=[s for s in REQUIRED_SCOPES if s != SECTIONS_SCOPE])["access_token"]
    client = CanvasClient(sim.url, StaticToken(token))

    with pytest.raises(ScopeMissing) as raised:
        list(client.iter_sections(501))

    assert raised.value.scope == SECTIONS_SCOPE
    assert SECTIONS_SCOPE in raised.value.fix


def test_an_expired_pasted_token_is_token_invalid(sim, client):
    sim.control("clock", {"advance_s": 3700})

    with pytest.raises(TokenInvalid) as raised:
        client.get_account()
    assert not raised.value.refresh_may_help


def test_an_expired_token_is_refreshed_transparently(sim):
    tokens = SimulatorRefreshToken(sim.url, sim.issue_token())
    client = CanvasClient(sim.url, tokens)
    client.get_account()
    sim.control("clock", {"advance_s": 3700})

    assert client.get_account().id == 1
    assert tokens.refreshes == 1


def test_a_revoked_token_that_cannot_be_refreshed_is_token_invalid(sim):
    tokens = SimulatorRefreshToken(sim.url, sim.issue_token())
    sim.control("tokens/revoke")

    with pytest.raises(TokenInvalid):
        CanvasClient(sim.url, tokens).get_account()


def test_a_gated_concurrent_run_at_canvas_settings_is_never_throttled(sim, client):
    sim.control("faults", {"latency_ms": 40})
    courses = [501, 502, 503, 505] * 40

    outcomes = list(fetch_concurrently(lambda c: list(client.iter_sections(c)), courses, max_workers=24))

    assert not [o for _, o in outcomes if isinstance(o, CanvasError)]
    stats = sim.control("stats")
    assert stats["throttled"] == 0
    assert 4 < stats["peak_concurrent"] <= 14


def test_throttled_answers_under_concurrency_are_absorbed_without_failures(sim, sim_token):
    # A bucket much smaller than the gate assumes: the first burst is throttled for sure.
    sim.control("faults", {"latency_ms": 40, "throttle": {"hwm": 250, "outflow": 50}})
    client = CanvasClient(
        sim.url,
        StaticToken(sim_token),
        throttle=ThrottleGate(initial_limit=14, outflow=50),
        retry=RetryPolicy(throttled_base_delay=0.1, throttled_max_delay=1.0),
    )
    courses = [501, 502, 503, 505] * 40

    outcomes = list(fetch_concurrently(lambda c: list(client.iter_sections(c)), courses, max_workers=24))

    assert len(outcomes) == len(courses)
    assert not [o for _, o in outcomes if isinstance(o, CanvasError)]
    assert sim.control("stats")["throttled"] > 0
    assert client.throttle.limit < 14
