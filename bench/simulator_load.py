"""Load benchmark for the Canvas simulator (not a test).

Starts `python -m lms_canvas.simulator serve --generate 2000 --control` in its own process, makes
the throttle generous (so this measures throughput, not Canvas's rate limit), gets a token through
the OAuth flow, and drives concurrent clients (threads, one requests.Session each, loopback only)
over a mix of list endpoints for a bounded time. Prints requests/s, errors and latency.

    .venv/bin/python bench/simulator_load.py [--clients 50] [--seconds 20] [--courses 2000]
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lms_canvas.simulator.generator import DEMO_KEY_ID, DEMO_REDIRECT_URIS, DEMO_SECRET  # noqa: E402
from lms_canvas.simulator.scopes import SEED_SCOPES  # noqa: E402
from lms_canvas.simulator.testing import USER_AGENT, browser_authorize  # noqa: E402


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_simulator(courses: int, port: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "lms_canvas.simulator", "serve", "--generate", str(courses),
               "--port", str(port), "--control"]  # fmt: skip
    # Our own fixed command line; stderr stays visible so server errors show.
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)  # noqa: S603
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/login/canvas", timeout=1)
            return process
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("simulator did not start")


def issue_token(base: str) -> str:
    query = {"client_id": DEMO_KEY_ID, "response_type": "code", "redirect_uri": DEMO_REDIRECT_URIS[0],
             "state": "bench", "scope": " ".join(SEED_SCOPES)}  # fmt: skip
    url = requests.Request("GET", f"{base}/login/oauth2/auth", params=query).prepare().url
    code = browser_authorize(base, url)["code"]
    response = requests.post(
        f"{base}/login/oauth2/token",
        data={"grant_type": "authorization_code", "code": code, "client_id": DEMO_KEY_ID, "client_secret": DEMO_SECRET},
        timeout=10,
    )
    return response.json()["access_token"]


def live_course_ids(http: requests.Session, base: str) -> list[int]:
    ids: list[int] = []
    url: str | None = f"{base}/api/v1/accounts/1/courses?per_page=100"
    while url:
        response = http.get(url, timeout=10)
        ids += [course["id"] for course in response.json()]
        url = response.links.get("next", {}).get("url")
    return ids


def paths(rng: random.Random, course_ids: list[int], course_pages: int) -> str:
    course = rng.choice(course_ids)
    return rng.choice(
        (
            f"/api/v1/accounts/1/courses?page={rng.randint(1, course_pages)}&per_page=50",
            f"/api/v1/courses/{course}/users?include[]=enrollments&per_page=50",
            f"/api/v1/courses/{course}/enrollments?per_page=50",
            f"/api/v1/courses/{course}/sections",
            "/api/v1/accounts/1/roles",
        )
    )


def client(base: str, token: str, course_ids: list[int], stop: float, results: list, seed: int) -> None:
    rng = random.Random(seed)
    http = requests.Session()
    http.headers.update({"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT})
    course_pages = max(1, len(course_ids) // 50)
    latencies, errors = [], 0
    while time.monotonic() < stop:
        started = time.monotonic()
        try:
            response = http.get(base + paths(rng, course_ids, course_pages), timeout=30)
            errors += response.status_code != 200
        except requests.RequestException:
            errors += 1
        latencies.append(time.monotonic() - started)
    results.append((latencies, errors))


def run_clients(base: str, token: str, course_ids: list[int], stop: float, first: int, count: int) -> list:
    """One process's share of the clients: `count` threads, each its own requests.Session."""
    results: list = []
    threads = [
        threading.Thread(target=client, args=(base, token, course_ids, stop, results, first + n)) for n in range(count)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--courses", type=int, default=2000)
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="spread the client threads over processes (one Python client "
        "process tops out near 330 requests/s of its own CPU)",
    )
    args = parser.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = start_simulator(args.courses, port)
    try:
        requests.post(f"{base}/_sim/faults", json={"throttle": {"hwm": 1e12}}, timeout=10)
        token = issue_token(base)
        warm = requests.Session()
        warm.headers.update({"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT})
        course_ids = live_course_ids(warm, base)
        share = [args.clients // args.processes + (n < args.clients % args.processes) for n in range(args.processes)]
        started, server_cpu = time.monotonic(), cpu_seconds(process.pid)
        stop = started + args.seconds
        with ProcessPoolExecutor(max_workers=args.processes) as pool:
            futures = [
                pool.submit(run_clients, base, token, course_ids, stop, sum(share[:n]), share[n])
                for n in range(args.processes)
            ]
            results = [item for future in futures for item in future.result()]
        elapsed = time.monotonic() - started
        server_cpu = cpu_seconds(process.pid) - server_cpu
        latencies = sorted(value for lat, _ in results for value in lat)
        errors = sum(err for _, err in results)
        stats = requests.get(f"{base}/_sim/stats", timeout=10).json()
        print(f"clients={args.clients} processes={args.processes} courses={args.courses} seconds={elapsed:.1f}")
        print(f"requests={len(latencies)} errors={errors} rate={len(latencies) / elapsed:.0f} req/s")
        print(
            f"latency median={statistics.median(latencies) * 1000:.0f} ms "
            f"p95={latencies[int(len(latencies) * 0.95)] * 1000:.0f} ms "
            f"peak_concurrent={stats['peak_concurrent']} throttled={stats['throttled']}"
        )
        print(
            f"server cpu={server_cpu:.1f}s ({server_cpu / elapsed:.0%} of one core), "
            f"{server_cpu / max(1, len(latencies)) * 1000:.2f} ms per request"
        )
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    main()
