"""The Canvas simulator's CPU per request for the requests a course sync makes (not a test).

Starts `python -m lms_canvas.simulator serve --generate N --control` in its own process, gets a token
through the OAuth flow, then reads each of the first `--courses` published courses once, as
sync/engine/plan.py does (the course with its includes, its sections, its enrollments page by page),
from `--clients` threads with one requests.Session each, plus an OAuth token refresh every 50
courses. The throttle is made generous (the bookkeeping still runs) so nothing is refused. Prints the
simulator process's CPU seconds (from /proc) over the requests it answered, and optionally writes
every response (status, headers without Date and X-Rate-Limit-Remaining, which vary with timing, body) to a file so two versions can be compared byte
for byte (`--dump`).

    .venv/bin/python bench/simulator_cpu.py [--courses 400] [--clients 4] [--generate 2500] [--dump FILE]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.simulator_load import cpu_seconds, free_port, start_simulator  # noqa: E402
from lms_canvas.simulator.generator import DEMO_KEY_ID, DEMO_REDIRECT_URIS, DEMO_SECRET  # noqa: E402
from lms_canvas.simulator.scopes import SEED_SCOPES  # noqa: E402
from lms_canvas.simulator.testing import USER_AGENT, browser_authorize  # noqa: E402

STATES = ("active", "invited", "creation_pending", "inactive", "completed")
COURSE_INCLUDES = ("term", "total_students", "all_courses")


def tokens(base: str) -> dict:
    query = {"client_id": DEMO_KEY_ID, "response_type": "code", "redirect_uri": DEMO_REDIRECT_URIS[0],
             "state": "bench", "scope": " ".join(SEED_SCOPES)}  # fmt: skip
    url = requests.Request("GET", f"{base}/login/oauth2/auth", params=query).prepare().url
    code = browser_authorize(base, url)["code"]
    grant = {"grant_type": "authorization_code", "code": code, "client_id": DEMO_KEY_ID, "client_secret": DEMO_SECRET}
    return requests.post(f"{base}/login/oauth2/token", data=grant, timeout=10).json()


class Replay:
    def __init__(self, base: str, dump: bool) -> None:
        self.base, self.dump = base, dump
        self.lock = threading.Lock()
        self.requests = 0
        self.records: dict[str, str] = {}

    def note(self, label: str, response: requests.Response) -> None:
        with self.lock:
            self.requests += 1
            if self.dump:
                headers = sorted(
                    (k, v) for k, v in response.headers.items() if k.lower() not in ("date", "x-rate-limit-remaining")
                )
                self.records[label] = f"{response.status_code} {headers} {hashlib.sha256(response.content).hexdigest()}"

    def refresh(self, http: requests.Session, grant: dict) -> None:
        data = {"grant_type": "refresh_token", "refresh_token": grant["refresh_token"],
                "client_id": DEMO_KEY_ID, "client_secret": DEMO_SECRET}  # fmt: skip
        response = http.post(f"{self.base}/login/oauth2/token", data=data, timeout=10)
        with self.lock:
            self.requests += 1
        token = response.json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"

    def listing(self, http: requests.Session, label: str, url: str, params: dict | None) -> None:
        page = 0
        while url:
            response = http.get(url, params=params, timeout=30)
            response.raise_for_status()
            self.note(f"{label}#{page}", response)
            url, params, page = response.links.get("next", {}).get("url"), None, page + 1

    def course(self, http: requests.Session, course_id: int) -> None:
        response = http.get(
            f"{self.base}/api/v1/accounts/self/courses/{course_id}", params={"include[]": COURSE_INCLUDES}, timeout=30
        )
        self.note(f"course {course_id}", response)
        self.listing(http, f"sections {course_id}", f"{self.base}/api/v1/courses/{course_id}/sections",
                     {"per_page": 100})  # fmt: skip
        self.listing(http, f"enrollments {course_id}", f"{self.base}/api/v1/courses/{course_id}/enrollments",
                     {"per_page": 100, "state[]": STATES})  # fmt: skip

    def client(self, course_ids: list[int], grant: dict) -> None:
        """One token per client, as each institution has its own."""
        http = requests.Session()
        http.headers.update({"Authorization": f"Bearer {grant['access_token']}", "User-Agent": USER_AGENT})
        for n, course_id in enumerate(course_ids):
            if n and n % 50 == 0:
                self.refresh(http, grant)
            self.course(http, course_id)


def published_courses(base: str, token: str, count: int) -> list[int]:
    http = requests.Session()
    http.headers.update({"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT})
    ids: list[int] = []
    url: str | None = f"{base}/api/v1/accounts/self/courses?per_page=100&published=true"
    while url and len(ids) < count:
        response = http.get(url, timeout=30)
        ids += [course["id"] for course in response.json()]
        url = response.links.get("next", {}).get("url")
    return ids[:count]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--generate", type=int, default=2500)
    parser.add_argument("--courses", type=int, default=400)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--dump", help="write each response's status, headers and body hash here")
    parser.add_argument("--port", type=int, help="a fixed port (bodies and links name it), for --dump")
    args = parser.parse_args()
    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}"
    process = start_simulator(args.generate, port)
    try:
        requests.post(f"{base}/_sim/faults", json={"throttle": {"hwm": 1e12}}, timeout=10)
        grant = tokens(base)
        course_ids = published_courses(base, grant["access_token"], args.courses)
        replay = Replay(base, bool(args.dump))
        shares = [course_ids[n :: args.clients] for n in range(args.clients)]
        grants = [tokens(base) for _ in shares]
        threads = [threading.Thread(target=replay.client, args=pair) for pair in zip(shares, grants, strict=True)]
        started, cpu = time.monotonic(), cpu_seconds(process.pid)
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed, cpu = time.monotonic() - started, cpu_seconds(process.pid) - cpu
        print(f"courses={len(course_ids)} clients={args.clients} requests={replay.requests} seconds={elapsed:.2f}")
        print(f"simulator cpu={cpu:.2f}s  {1000 * cpu / replay.requests:.3f} ms per request")
        if args.dump:
            Path(args.dump).write_text("".join(f"{k} {v}\n" for k, v in sorted(replay.records.items())))
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    main()
