"""Refresh Courses at scale: a generated institution (100,000 courses by default) served by the
simulator in its own process with 50 ms latency and Canvas's default throttle, refreshed into the
database of DATABASE_URL, against a sequential canvasapi baseline on the same simulator.

    python -m bench refresh                      # 100,000 courses
    BENCH_REFRESH_COURSES=10000 python -m bench refresh
    python -m bench.refresh --courses 10000 --latency-ms 50 --baseline-sample 300
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Canvas's default throttle, as the simulator serves it (CANVAS_SIMULATOR.md, "Throttle").
HWM, UP_FRONT, OUTFLOW, BASE_COST, PER_ITEM = 700.0, 50.0, 10.0, 0.01, 0.002


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.refresh")
    parser.add_argument("--courses", type=int, default=int(os.environ.get("BENCH_REFRESH_COURSES", 100_000)))
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--baseline-sample", type=int, default=300, help="courses whose sections the baseline times")
    return parser.parse_args(argv)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_simulator(courses: int, latency_ms: int) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    cmd = [sys.executable, "-m", "lms_canvas.simulator", "serve", "--generate", str(courses)]
    cmd += ["--latency-ms", str(latency_ms), "--port", str(port), "--control"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # noqa: S603
    for line in proc.stdout:
        if "ready at" in line:
            threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
            return proc, re.search(r"ready at (\S+)", line).group(1)
    raise RuntimeError("the simulator did not start")


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    if "DATABASE_URL" not in os.environ:
        db = ROOT / "var" / "bench-refresh.sqlite3"
        db.parent.mkdir(exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{db}"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _stats(url: str) -> dict:
    import requests

    return requests.get(f"{url}/_sim/stats", timeout=30).json()


def _connect(url: str):
    from django.utils import timezone

    from lms_canvas.models import CanvasConfig, CanvasConnection, ConnectionStatus
    from lms_canvas.simulator.generator import DEMO_KEY_ID, DEMO_SECRET
    from lms_canvas.simulator.testing import RunningSimulator
    from portal.models import Institution

    Institution.objects.filter(slug="bench-refresh").delete()
    inst = Institution.objects.create(name="Bench University", slug="bench-refresh")
    token = RunningSimulator(url=url, app=None).issue_token()  # type: ignore[arg-type]
    conn = CanvasConnection.objects.create(
        institution=inst,
        server_url=url,
        client_id=str(DEMO_KEY_ID),
        client_secret=DEMO_SECRET,
        access_token=token["access_token"],
        refresh_token=token["refresh_token"],
        token_expires_at=timezone.now() + timezone.timedelta(seconds=token["expires_in"]),
        status=ConnectionStatus.VERIFIED,
        root_account_id=1,
    )
    CanvasConfig.objects.create(institution=inst)
    return conn, token["access_token"]


def _ours(conn) -> dict:
    from sync import refresh, runs
    from sync.models import RunKind

    marks: dict[str, float] = {}
    original = refresh._set_params

    def mark_courses_done(run_id: int, **values) -> None:
        marks.setdefault("courses_searchable", time.perf_counter())
        original(run_id, **values)

    refresh._set_params = mark_courses_done
    try:
        run = runs.create_run(conn.institution, RunKind.REFRESH)
        started = time.perf_counter()
        run = refresh.run_refresh(run.id)
        total = time.perf_counter() - started
    finally:
        refresh._set_params = original
    return {"run": run, "total": total, "searchable": marks.get("courses_searchable", started + total) - started}


def _baseline(url: str, token: str, sample: int) -> dict:
    import logging

    from canvasapi import Canvas

    logging.getLogger("canvasapi").setLevel(logging.WARNING)

    canvas = Canvas(url, token)
    account = canvas.get_account(1)
    states = ["created", "claimed", "available", "completed", "deleted"]
    started = time.perf_counter()
    courses = [
        (c.id, c.workflow_state)
        for c in account.get_courses(include=["term", "total_students"], state=states, per_page=100)
    ]
    courses_time = time.perf_counter() - started
    live = [cid for cid, state in courses if state != "deleted"]
    started = time.perf_counter()
    for cid in live[:sample]:
        list(_sections(canvas, cid))
    sample_time = time.perf_counter() - started
    per_course = sample_time / max(1, min(sample, len(live)))
    return {"courses": len(courses), "courses_time": courses_time, "sections_time": per_course * len(live)}


def _sections(canvas, course_id: int):
    from canvasapi.course import Course

    # Build the course locally (no extra GET /courses/:id, which the seed's scopes do not grant).
    course = Course(canvas._Canvas__requester, {"id": course_id})
    return course.get_sections(per_page=100)


def _search_timings(institution) -> list[tuple[str, float]]:
    from sync import catalog

    config = catalog.config_for(institution)
    timings = []
    for label, query in (
        ("first page, no query", ""),
        ("by name", "History"),
        ("by SIS ID", "C00050"),
        ("page 500", ""),
    ):
        started = time.perf_counter()
        page = catalog.search_courses(institution, config, query, page=500 if label == "page 500" else 1)
        list(page)
        timings.append((label, (time.perf_counter() - started) * 1000))
    return timings


def main(argv: list[str] | None = None) -> None:
    args = _args(argv if argv is not None else sys.argv[1:] if __name__ == "__main__" else [])
    proc, url = _start_simulator(args.courses, args.latency_ms)
    try:
        _setup_django()
        from django.db import connection

        conn, token = _connect(url)
        print(
            f"simulator: {args.courses} courses, {args.latency_ms} ms latency, Canvas default throttle; DB {connection.vendor}"
        )
        before = _stats(url)
        ours = _ours(conn)
        after = _stats(url)
        run = ours["run"]
        requests_made = after["total_requests"] - before["total_requests"]
        throttled = after["throttled"] - before["throttled"]
        items = run.counts.get("courses", 0) + run.counts.get("sections", 0)
        inflight_bound = requests_made / ((HWM / UP_FRONT) / (args.latency_ms / 1000))
        drain_bound = (requests_made * BASE_COST + items * PER_ITEM) / OUTFLOW
        bound = max(inflight_bound, drain_bound)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"run: {run.get_status_display()}: {run.message}")
        print(f"courses searchable after      {ours['searchable']:8.1f} s   (target <= 30 s)")
        print(f"total time                    {ours['total']:8.1f} s")
        print(f"requests                      {requests_made:8d}   ({requests_made / ours['total']:.0f} per second)")
        print(
            f"throttle-bound time           {bound:8.1f} s   (in-flight {inflight_bound:.1f} s, drain {drain_bound:.1f} s)"
        )
        print(f"share of the bound reached    {100 * bound / ours['total']:8.0f} %   (target >= 80 %)")
        print(f"throttled answers seen        {throttled:8d}")
        print(f"worker peak memory            {peak_mb:8.0f} MB  (target <= 500 MB)")
        for label, ms in _search_timings(conn.institution):
            print(f"search {label:<22} {ms:8.1f} ms")
        base = _baseline(url, token, args.baseline_sample)
        base_total = base["courses_time"] + base["sections_time"]
        print(
            f"baseline (canvasapi, sequential): courses {base['courses_time']:.1f} s, sections "
            f"{base['sections_time']:.1f} s (from {args.baseline_sample} courses, extrapolated), total {base_total:.1f} s"
        )
        print(f"ratio to baseline             {base_total / ours['total']:8.1f} x faster")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
