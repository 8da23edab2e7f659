"""The simulator's Live Events: what it sends for a change, signed how, delivered how (CANVAS_SIMULATOR.md)."""

from __future__ import annotations

import re
import time

import jwt
import pytest
import requests

from lms_canvas.simulator.live_events import ISSUER

from .live_receiver import receiving


@pytest.fixture
def hook(sim):
    with receiving() as receiver:
        sim.control("live_events/subscriptions", {"url": receiver.url, "event_types": [], "sign": True})
        yield receiver


def _by_name(events: list[dict]) -> dict[str, dict]:
    return {e["metadata"]["event_name"]: e for e in events}


def test_an_enrollment_change_is_delivered_signed_with_the_published_keys(sim, hook):
    sim.control("mutate", {"upsert": {"enrollments": [{"id": 9001, "enrollment_state": "inactive"}]}})
    hook.wait_for(2)
    keys = {k["kid"]: jwt.PyJWK(k) for k in requests.get(f"{sim.url}/_sim/jwks", timeout=5).json()["keys"]}
    assert len(keys) == 3  # previous, current and next
    for body in hook.bodies:
        kid = jwt.get_unverified_header(body)["kid"]
        claims = jwt.decode(body, keys[kid].key, algorithms=["RS256"], issuer=ISSUER)
        assert claims["metadata"]["root_account_uuid"]
    event = _by_name(hook.events())["enrollment_updated"]
    assert event["body"]["workflow_state"] == "inactive"
    # Canvas's quirks: ids are strings, global ids for enrollments (shard 2107), and no role or SIS id.
    assert event["body"]["enrollment_id"] == "21070000000009001"
    assert event["body"]["course_id"] == "21070000000000501"
    assert event["body"]["course_section_id"] == "21070000000000801"
    assert "role_id" not in event["body"] and "sis_user_id" not in event["body"]
    assert "enrollment_state_updated" in _by_name(hook.events())


def test_a_deletion_is_an_updated_event_with_workflow_state_deleted(sim, hook):
    sim.control("mutate", {"delete": {"enrollments": [9002], "sections": [], "courses": []}})
    event = _by_name(hook.wait_for(2))["enrollment_updated"]
    assert event["body"]["workflow_state"] == "deleted"
    assert not any(e["metadata"]["event_name"].endswith("_deleted") for e in hook.events())


def test_section_events_use_local_ids_and_leave_null_keys_out(sim, hook):
    sim.control("mutate", {"upsert": {"sections": [{"id": 801, "name": "Section A (renamed)"}]}})
    event = _by_name(hook.wait_for(1))["course_section_updated"]
    assert event["body"]["course_section_id"] == "801"
    assert event["body"]["course_id"] == "501"
    assert "nonxlist_course_id" not in event["body"]  # null in the data: left out, not sent as null
    assert None not in event["body"].values()


def test_a_bulk_change_carries_a_job_tag_instead_of_a_request(sim, hook):
    rows = [
        {"id": 20000 + i, "user_id": 106, "course_id": 503, "course_section_id": 805, "type": "StudentEnrollment"}
        for i in range(25)
    ]
    sim.control("mutate", {"upsert": {"enrollments": rows}})
    events = hook.wait_for(50)
    assert len(events) == 50
    assert {e["metadata"]["job_tag"] for e in events} == {"SIS::CSV::ImportRefactored#run_parallel_importer"}
    assert len({e["metadata"]["job_id"] for e in events}) == 1
    assert not any("request_id" in e["metadata"] for e in events)
    assert _by_name(events)["enrollment_created"]["metadata"]["event_name"] == "enrollment_created"
    # A background job has no context: an enrollment event names its course in its body, a state event not at all.
    assert not any("context_id" in e["metadata"] for e in events)
    state = _by_name(events)["enrollment_state_created"]
    assert "course_id" not in state["body"] and state["body"]["enrollment_id"].startswith("2107")


def test_slow_delivery_delays_every_event(sim, hook):
    sim.control("faults", {"live_events": {"delay_ms": 800}})
    started = time.monotonic()
    sim.control("mutate", {"upsert": {"courses": [{"id": 501, "name": "Slow"}]}})
    assert len(hook.wait_for(1)) == 1
    assert time.monotonic() - started >= 0.8
    sim.control("faults", {"live_events": {}})
    started = time.monotonic()
    sim.control("mutate", {"upsert": {"courses": [{"id": 501, "name": "Fast again"}]}})
    assert len(hook.wait_for(2)) == 2
    assert time.monotonic() - started < 0.8


def test_only_the_subscribed_event_types_are_sent(sim):
    with receiving() as receiver:
        sim.control("live_events/subscriptions", {"url": receiver.url, "event_types": ["course_updated"]})
        sim.control("mutate", {"upsert": {"enrollments": [{"id": 9001, "enrollment_state": "inactive"}]}})
        sim.control("mutate", {"upsert": {"courses": [{"id": 501, "name": "Contracts I (2026)"}]}})
        assert sim.app.live_events.wait_idle()
        assert [e["metadata"]["event_name"] for e in receiver.events()] == ["course_updated"]


def test_rotation_signs_with_the_next_key_and_publishes_a_new_one(sim, hook):
    before = [k["kid"] for k in requests.get(f"{sim.url}/_sim/jwks", timeout=5).json()["keys"]]
    sim.control("live_events/rotate")
    after = [k["kid"] for k in requests.get(f"{sim.url}/_sim/jwks", timeout=5).json()["keys"]]
    assert after[:2] == before[1:] and after[2] not in before
    sim.control("mutate", {"upsert": {"courses": [{"id": 501, "name": "Renamed"}]}})
    hook.wait_for(1)
    assert jwt.get_unverified_header(hook.bodies[0])["kid"] == before[2]


def test_a_failed_delivery_is_retried_three_times_then_counted_failed(sim, hook):
    sim.app.live_events.retry_s = (0.05, 0.05, 0.05)
    hook.fail_first = 2
    sim.control("mutate", {"upsert": {"courses": [{"id": 501, "name": "Renamed"}]}})
    assert sim.app.live_events.wait_idle()
    assert len(hook.bodies) == 1
    hook.fail_first = 10
    sim.control("mutate", {"upsert": {"courses": [{"id": 501, "name": "Renamed again"}]}})
    assert sim.app.live_events.wait_idle()
    stats = sim.control("stats")["live_events"]
    assert stats["retried"] == 5 and stats["failed"] == 1 and stats["delivered"] == 1


def test_faults_drop_and_duplicate_deliveries(sim, hook):
    sim.control("faults", {"live_events": {"drop_rate": 1.0}})
    sim.control("mutate", {"upsert": {"courses": [{"id": 501, "name": "Dropped"}]}})
    assert sim.app.live_events.wait_idle()
    assert hook.bodies == []
    sim.control("faults", {"live_events": {"duplicate_rate": 1.0}})
    sim.control("mutate", {"upsert": {"courses": [{"id": 501, "name": "Twice"}]}})
    assert len(hook.wait_for(2)) == 2
    assert hook.events()[0]["body"] == hook.events()[1]["body"]
    stats = sim.control("stats")["live_events"]
    assert stats["dropped"] == 1 and stats["duplicated"] == 1


def test_an_unknown_fault_or_event_type_is_refused(sim):
    with pytest.raises(requests.HTTPError):
        sim.control("faults", {"live_events": {"lose_everything": True}})
    answer = requests.post(
        f"{sim.url}/_sim/live_events/subscriptions",
        json={"url": "http://x/", "event_types": ["grade_change"]},
        timeout=5,
    )
    assert answer.status_code == 400 and "grade_change" in answer.text


def test_reorder_delivers_a_burst_out_of_order(sim, hook):
    sim.control("faults", {"live_events": {"reorder": True, "seed": 7}})
    rows = [{"id": 501, "name": f"Name {i}"} for i in range(30)]
    for row in rows:  # one mutate each: 30 course_updated events in the order they happened
        sim.control("mutate", {"upsert": {"courses": [row]}})
    names = [e["body"]["name"] for e in hook.wait_for(30)]
    assert sorted(names) == sorted(r["name"] for r in rows)
    assert names != [r["name"] for r in rows]


def test_a_change_on_the_people_page_sends_its_events(sim, hook):
    http = requests.Session()
    form = http.get(f"{sim.url}/login/canvas", timeout=5).text
    token = re.search(r'name="authenticity_token" value="([^"]+)"', form).group(1)
    http.post(
        f"{sim.url}/login/canvas",
        data={"unique_id": "canvas-admin", "password": "canvas-admin", "authenticity_token": token},
        timeout=5,
    )
    people = http.get(f"{sim.url}/courses/501/users", timeout=5)
    assert "Seán O&#x27;Brien" in people.text or "Seán O'Brien" in people.text
    token = re.search(r'name="authenticity_token" value="([^"]+)"', people.text).group(1)
    http.post(
        f"{sim.url}/courses/501/enrollments/9002",
        data={"action": "deactivate", "authenticity_token": token},
        timeout=5,
    )
    assert sim.store.enrollment(9002)["enrollment_state"] == "inactive"
    event = _by_name(hook.wait_for(2))["enrollment_updated"]
    assert event["body"]["enrollment_id"] == "21070000000009002"
    assert event["body"]["workflow_state"] == "inactive"
