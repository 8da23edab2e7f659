from __future__ import annotations

import time

import requests

from lms_canvas.simulator.testing import run_simulator, small_dataset


def test_control_endpoints_are_off_without_control():
    with run_simulator(small_dataset(), control=False) as sim:
        assert requests.post(f"{sim.url}/_sim/reset", json={}).status_code == 404
        assert requests.get(f"{sim.url}/_sim/stats").status_code == 404


def test_reset_with_generate_replaces_data(sim):
    assert sim.control("reset", {"generate": 12, "seed": 2})["courses"] == 12
    assert 1001 in sim.store.tables["courses"]


def test_reset_rejects_a_bad_dataset(sim):
    dataset = small_dataset()
    dataset["sections"][0]["course_id"] = 1
    response = requests.post(f"{sim.url}/_sim/reset", json=dataset)
    assert response.status_code == 400
    assert "sections id 801: field course_id refers to missing courses id 1" in response.json()["errors"]


def test_error_faults_on_matching_paths(sim, sim_token):
    sim.control("faults", {"error_rate": 1.0, "error_status": 503, "paths": "/sections"})
    http = sim.api(sim_token)
    assert http.get(f"{sim.url}/api/v1/courses/501/sections").status_code == 503
    assert http.get(f"{sim.url}/api/v1/accounts").status_code == 200
    sim.control("faults", {})
    assert http.get(f"{sim.url}/api/v1/courses/501/sections").status_code == 200


def test_error_repeat_max_lets_a_request_through_after_that_many_errors_in_a_row(sim, sim_token):
    sim.control("faults", {"error_rate": 1.0, "error_status": 503, "paths": "/sections", "error_repeat_max": 2})
    http = sim.api(sim_token)
    sections, other = f"{sim.url}/api/v1/courses/501/sections", f"{sim.url}/api/v1/courses/502/sections"
    assert [http.get(sections).status_code for _ in range(6)] == [503, 503, 200, 503, 503, 200]
    assert http.get(other).status_code == 503  # counted per request, not for all


def test_latency_fault_delays_answers(sim, sim_token):
    sim.control("faults", {"latency_ms": 200})
    started = time.monotonic()
    sim.api(sim_token).get(f"{sim.url}/api/v1/accounts")
    assert time.monotonic() - started >= 0.2


def test_timeout_fault_outlasts_the_client(sim, sim_token):
    sim.control("faults", {"timeout_rate": 1.0, "timeout_s": 2})
    try:
        sim.api(sim_token).get(f"{sim.url}/api/v1/accounts", timeout=0.3)
    except requests.Timeout:
        pass
    else:
        raise AssertionError("expected a read timeout")


def test_malformed_json_and_looping_pagination(sim, sim_token):
    sim.control("faults", {"malformed_json_rate": 1.0})
    response = sim.api(sim_token).get(f"{sim.url}/api/v1/accounts/1/courses")
    try:
        response.json()
    except ValueError:
        pass
    else:
        raise AssertionError("expected a malformed body")
    sim.control("faults", {"loop_pagination": True})
    looped = sim.api(sim_token).get(f"{sim.url}/api/v1/accounts/1/courses", params={"per_page": 1})
    assert looped.links["next"]["url"] == looped.links["current"]["url"]


def test_mutate_changes_what_the_api_returns(sim, sim_token):
    sim.control(
        "mutate",
        {
            "upsert": {
                "enrollments": [
                    {"id": 9001, "enrollment_state": "completed"},
                    {
                        "id": 9100,
                        "user_id": 103,
                        "course_id": 502,
                        "course_section_id": 803,
                        "type": "StudentEnrollment",
                        "enrollment_state": "active",
                    },
                ],
                "users": [{"id": 101, "name": "Ada King"}],
            },
            "delete": {"enrollments": [9002]},
        },
    )
    users = sim.api(sim_token).get(f"{sim.url}/api/v1/courses/501/users").json()
    assert 101 not in [u["id"] for u in users] and 102 not in [u["id"] for u in users]
    enrollments = sim.api(sim_token).get(f"{sim.url}/api/v1/courses/502/enrollments").json()
    added = next(e for e in enrollments if e["id"] == 9100)
    assert added["role_id"] == 3
    assert sim.store.user(101)["name"] == "Ada King" and sim.store.user(101)["sis_user_id"] == "S0001"


def test_stats_count_requests_by_endpoint_and_status(sim, sim_token):
    sim.api(sim_token).get(f"{sim.url}/api/v1/courses/501/sections")
    sim.api(sim_token).get(f"{sim.url}/api/v1/courses/999/sections")
    stats = sim.control("stats")
    assert stats["requests"]["GET /api/v1/courses/:course_id/sections"] == {"200": 1, "404": 1}
    assert stats["tokens_issued"] == 1 and stats["tokens_refreshed"] == 0


def test_lost_grade_write_fault_answers_200_with_the_grade_and_saves_nothing(sim, sim_token):
    # canvas-lms issue 1434: a submission PUT answered 200 whose grade was never saved.
    http = sim.api(sim_token)
    base = f"{sim.url}/api/v1/courses/501/assignments"
    assignment = http.post(base, data={"assignment[name]": "Exam", "assignment[points_possible]": "10",
                                       "assignment[published]": "true"}).json()  # fmt: skip
    url = f"{base}/{assignment['id']}/submissions/101"
    sim.control("faults", {"lost_grade_write_rate": 1.0, "paths": "/submissions/101$"})
    lost = http.put(url, data={"submission[posted_grade]": "7"})
    assert lost.status_code == 200 and lost.json()["score"] == 7.0 and lost.json()["grade"] == "7"
    assert http.get(url).json()["score"] is None
    other = http.put(f"{base}/{assignment['id']}/submissions/102", data={"submission[posted_grade]": "6"})
    assert http.get(other.url).json()["score"] == 6.0  # the fault's paths limit it to student 101
    sim.control("faults", {})
    http.put(url, data={"submission[posted_grade]": "7"})
    assert http.get(url).json()["score"] == 7.0
