"""The simulator hides SIS data and logins as Canvas does for a role without "SIS Data - read" or
"Users - view login IDs": the keys are absent, not null; the permissions endpoint says so."""

from __future__ import annotations

import requests

from lms_canvas.simulator.generator import DEMO_KEY_ID
from lms_canvas.simulator.scopes import ALL_SCOPES

PERMISSIONS_SCOPE = "url:GET|/api/v1/accounts/:account_id/permissions"


def get(sim, token, path, **params):
    return sim.api(token).get(f"{sim.url}/api/v1{path}", params=params)


def test_sis_fields_are_left_out_for_a_key_whose_user_may_not_read_them(sim, sim_token):
    sim.control("permissions", {"key_id": DEMO_KEY_ID, "read_sis": False})

    course = get(sim, sim_token, "/accounts/1/courses/501").json()
    section = get(sim, sim_token, "/sections/801").json()
    enrollment = get(sim, sim_token, "/courses/501/enrollments").json()[0]
    user = next(u for u in get(sim, sim_token, "/courses/501/users").json() if u["id"] == 101)

    assert "sis_course_id" not in course and "integration_id" not in course and course["name"] == "Contracts I"
    assert "sis_section_id" not in section and "sis_course_id" not in section
    assert not {"sis_user_id", "sis_course_id", "sis_section_id", "sis_account_id"} & set(enrollment)
    assert "sis_user_id" not in enrollment["user"]
    assert "sis_user_id" not in user and user["login_id"] == "ada"  # logins are another permission


def test_a_blank_sis_id_is_null_not_absent_when_the_role_may_read_it(sim, sim_token):
    course = get(sim, sim_token, "/accounts/1/courses/502").json()

    assert "sis_course_id" in course and course["sis_course_id"] is None


def test_logins_are_left_out_for_a_user_whose_role_may_not_view_them(sim, sim_token):
    sim.control("permissions", {"user_id": 1, "view_user_logins": False})

    user = next(u for u in get(sim, sim_token, "/courses/501/users").json() if u["id"] == 101)

    assert "login_id" not in user and user["sis_user_id"] == "S0001"


def test_a_role_that_may_manage_but_not_read_sis_data_sees_the_sis_fields(sim, sim_token):
    # CANVAS_API.md §5.1, §5.2, §5.5: the SIS fields appear with read_sis OR manage_sis.
    sim.control("permissions", {"key_id": DEMO_KEY_ID, "read_sis": False, "manage_sis": True})

    course = get(sim, sim_token, "/accounts/1/courses/501").json()
    user = next(u for u in get(sim, sim_token, "/courses/501/users").json() if u["id"] == 101)

    assert course["sis_course_id"] == "LAW-101-F26" and user["sis_user_id"] == "S0001"


def test_the_permissions_endpoint_answers_for_the_token(sim):
    sim.control(f"keys/{DEMO_KEY_ID}", {"scopes": list(ALL_SCOPES)})
    token = sim.issue_token(list(ALL_SCOPES))["access_token"]
    params = {"permissions[]": ["read_sis", "view_user_logins"]}
    assert get(sim, token, "/accounts/self/permissions", **params).json() == {
        "read_sis": True,
        "view_user_logins": True,
    }

    sim.control("permissions", {"key_id": DEMO_KEY_ID, "read_sis": False})

    assert get(sim, token, "/accounts/self/permissions", **params).json() == {
        "read_sis": False,
        "view_user_logins": True,
    }


def test_the_permissions_endpoint_needs_its_scope_when_scopes_are_enforced(sim, sim_token):
    response = get(sim, sim_token, "/accounts/self/permissions", **{"permissions[]": "read_sis"})

    assert response.status_code == 401 and "Insufficient scopes" in response.text


def test_an_assignments_integration_id_is_the_tools_and_stays(sim, sim_token):
    sim.control("permissions", {"key_id": DEMO_KEY_ID, "read_sis": False})
    created = sim.api(sim_token).post(
        f"{sim.url}/api/v1/courses/501/assignments",
        data={"assignment[name]": "Exam", "assignment[integration_id]": "exam-1"},
    )

    assert created.json()["integration_id"] == "exam-1"


def test_the_control_endpoint_refuses_what_it_does_not_know(sim):
    response = requests.post(
        f"{sim.url}/_sim/permissions", json={"key_id": DEMO_KEY_ID, "everything": False}, timeout=30
    )

    assert response.status_code == 400


def test_a_reset_forgets_hidden_fields(sim, sim_token):
    from lms_canvas.simulator.testing import small_dataset

    sim.control("permissions", {"key_id": DEMO_KEY_ID, "read_sis": False})
    sim.reset(small_dataset())
    token = sim.issue_token()["access_token"]

    assert get(sim, token, "/accounts/1/courses/501").json()["sis_course_id"] == "LAW-101-F26"
