from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from lms_canvas.simulator.throttle import Throttle

RATE_LIMITED = "403 Forbidden (Rate Limit Exceeded)\n"


def test_parallel_requests_drive_remaining_down_and_get_throttled(sim, sim_token):
    sim.control("faults", {"latency_ms": 300})
    url = f"{sim.url}/api/v1/accounts/1/courses"

    def call(_):
        response = sim.api(sim_token).get(url)
        return response.status_code, response.headers.get("X-Rate-Limit-Remaining"), response.text

    with ThreadPoolExecutor(max_workers=24) as pool:
        results = list(pool.map(call, range(24)))
    throttled = [r for r in results if r[0] == 403]
    assert throttled, results
    assert all(r[1] == "0.0" and r[2] == RATE_LIMITED for r in throttled)
    remaining = [float(r[1]) for r in results if r[0] == 200]
    assert min(remaining) < 650
    assert sim.control("stats")["throttled"] == len(throttled)
    assert sim.control("stats")["peak_concurrent"] > 10


def test_sequential_requests_are_not_throttled(sim, sim_token):
    http = sim.api(sim_token)
    for _ in range(40):
        response = http.get(f"{sim.url}/api/v1/accounts/1/courses")
        assert response.status_code == 200
        assert float(response.headers["X-Rate-Limit-Remaining"]) > 690
        assert float(response.headers["X-Request-Cost"]) > 0


def test_stats_sum_the_cost_of_every_answer(sim, sim_token):
    """What the bucket had to drain, for a benchmark whose requests come from other processes."""
    http = sim.api(sim_token)
    before = sim.control("stats")["cost"]
    charged = [float(http.get(f"{sim.url}/api/v1/accounts/1/courses").headers["X-Request-Cost"]) for _ in range(5)]
    assert sim.control("stats")["cost"] - before == pytest.approx(sum(charged), abs=1e-3)


def test_throttle_answer_is_exact_and_can_be_429(sim, sim_token):
    sim.control("faults", {"throttle": {"hwm": 0.005, "outflow": 0}})
    http = sim.api(sim_token)
    http.get(f"{sim.url}/api/v1/accounts")
    response = http.get(f"{sim.url}/api/v1/accounts")
    assert response.status_code == 403
    assert response.text == RATE_LIMITED
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.headers["X-Rate-Limit-Remaining"] == "0.0"
    assert "X-Request-Cost" not in response.headers
    sim.control("faults", {"throttle": {"status": 429}})
    http.get(f"{sim.url}/api/v1/accounts")
    assert http.get(f"{sim.url}/api/v1/accounts").status_code == 429


def test_buckets_are_per_token(sim, sim_token):
    sim.control("faults", {"throttle": {"hwm": 0.005, "outflow": 0}})
    sim.api(sim_token).get(f"{sim.url}/api/v1/accounts")
    other = sim.issue_token()["access_token"]
    assert sim.api(other).get(f"{sim.url}/api/v1/accounts").status_code == 200


def test_bucket_drains_and_credits_up_front_cost():
    settings = {"hwm": 100.0, "outflow": 0.0, "up_front_cost": 50.0, "base_cost": 1.0, "per_item_cost": 0.5}
    throttle = Throttle(settings)
    assert throttle.begin("t") == 50.0
    assert throttle.begin("t") == 0.0
    assert throttle.begin("t") is None
    cost, remaining = throttle.end("t", items=10)
    assert cost == 6.0 and remaining == 44.0
