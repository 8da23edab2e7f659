"""Two real worker processes on one token share one throttle budget through Redis: together they never
have more requests at Canvas than the gate's limit (the simulator counts them), and are not throttled."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

from tests.worker import ROOT

REQUESTS_EACH = 150


def start_load(sim, token: str, connection_id: int, redis_url: str) -> subprocess.Popen:
    env = {**os.environ, "THROTTLE_REDIS_URL": redis_url, "CANVAS_ALLOW_PRIVATE_URLS": "true"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.lms_canvas.gate_load", sim.url, token, str(connection_id), str(REQUESTS_EACH)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "ready"
    return proc


def test_two_worker_processes_on_one_token_never_exceed_the_gates_limit(
    sim, sim_token, throttle_redis_url, redis_client
):
    # Long enough requests that the gate, not the processes' speed, decides how many are in flight.
    sim.control("faults", {"latency_ms": 100})
    connection_id = random.randrange(10**9, 10**10)  # a budget of its own in the shared Redis
    procs = [start_load(sim, sim_token, connection_id, throttle_redis_url) for _ in range(2)]
    try:
        for proc in procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = [json.loads(proc.communicate(timeout=60)[0].strip().splitlines()[-1]) for proc in procs]
    finally:
        for proc in procs:
            proc.kill()
        for key in redis_client.scan_iter(f"lms:throttle:{{*:{connection_id}}}:*"):
            redis_client.delete(key)

    stats = sim.control("stats")
    assert [r["gate"] for r in results] == ["FallbackGate", "FallbackGate"]
    assert [r["errors"] for r in results] == [[], []]
    assert stats["requests"]["GET /api/v1/accounts/:account_id/courses/:id"] == {"200": 2 * REQUESTS_EACH}
    assert stats["throttled"] == 0
    # Both processes were busy at once: more in flight than either one's share, never more than the gate's.
    assert 7 < stats["peak_concurrent"] <= results[0]["max_limit"] == 14
