"""The independent canvasapi client, unchanged, against the simulator."""

from __future__ import annotations

import pytest
from canvasapi import Canvas
from canvasapi.exceptions import Forbidden, InvalidAccessToken, RateLimitExceeded, Unauthorized

from lms_canvas.simulator.generator import DEMO_KEY_ID
from lms_canvas.simulator.scopes import ALL_SCOPES, SEED_SCOPES

pytestmark = pytest.mark.filterwarnings("ignore:Canvas may respond unexpectedly:UserWarning")


@pytest.fixture
def full_token(sim) -> str:
    sim.control(f"keys/{DEMO_KEY_ID}", {"scopes": list(ALL_SCOPES)})
    return sim.issue_token(list(ALL_SCOPES))["access_token"]


@pytest.fixture
def canvas(sim, full_token) -> Canvas:
    return Canvas(sim.url, full_token)


def test_account_and_sub_account_courses_across_many_pages(make_sim):
    sim = make_sim(generate=60, seed=7)
    sim.control(f"keys/{DEMO_KEY_ID}", {"scopes": list(ALL_SCOPES)})
    canvas = Canvas(sim.url, sim.issue_token(list(ALL_SCOPES))["access_token"])
    account = canvas.get_account(1)
    courses = list(account.get_courses(per_page=7, **{"state": ["all"]}))
    assert [c.id for c in courses] == sorted(sim.store.tables["courses"])
    sub = canvas.get_account(4)
    sub_ids = {c.id for c in sub.get_courses(per_page=5)}
    expected = {
        c["id"]
        for c in sim.store.tables["courses"].values()
        if c["account_id"] in (4, 5, 6) and c["workflow_state"] != "deleted"
    }
    assert sub_ids == expected


def test_course_by_sis_id_sections_enrollments_users_roles(canvas):
    course = canvas.get_course("LAW-101-F26", use_sis_id=True)
    assert course.id == 501 and course.name == "Contracts I"
    assert [s.name for s in course.get_sections()] == ["Section A", "Section B"]
    enrollments = list(course.get_enrollments(per_page=2))
    assert {e.user_id for e in enrollments} >= {101, 102, 201}
    users = list(course.get_users(include=["enrollments"], enrollment_type=["student"]))
    assert {u.id for u in users} == {101, 102, 103, 104}
    assert all(hasattr(u, "enrollments") for u in users)
    roles = list(canvas.get_account(1).get_roles())
    assert "Auditor" in [r.label for r in roles]
    assert {r.role: r.label for r in roles}["TeacherEnrollment"] == "Teacher"
    assert canvas.get_section(801).course_id == 501


def test_create_assignment_and_grade_submission(canvas):
    course = canvas.get_course(501)
    assignment = course.create_assignment({"name": "Final exam", "points_possible": 10, "published": True})
    assert assignment.name == "Final exam" and assignment.points_possible == 10
    submission = assignment.get_submission(101)
    submission.edit(submission={"posted_grade": "9"})
    assert submission.score == 9.0 and submission.grade == "9"
    assert course.get_assignment(assignment.id).get_submission(101).workflow_state == "graded"


def test_expired_token_raises_invalid_access_token(sim, canvas):
    sim.control("clock", {"advance_s": 3601})
    with pytest.raises(InvalidAccessToken):
        canvas.get_account(1)


def test_missing_scope_raises_unauthorized(sim):
    token = sim.issue_token(list(SEED_SCOPES))["access_token"]
    with pytest.raises(Unauthorized):
        Canvas(sim.url, token).get_course(501)


def test_throttled_request_raises_canvasapi_rate_limit_errors(sim, canvas):
    # canvasapi 3.6 raises RateLimitExceeded only for 429; Canvas's own 403 answer surfaces as
    # Forbidden carrying the "Rate Limit Exceeded" text.
    sim.control("faults", {"throttle": {"hwm": 0.005, "outflow": 0}})
    canvas.get_account(1)
    with pytest.raises(Forbidden, match="Rate Limit Exceeded"):
        canvas.get_account(1)
    sim.control("faults", {"throttle": {"status": 429}})
    canvas.get_account(1)
    with pytest.raises(RateLimitExceeded):
        canvas.get_account(1)
