"""Refresh Courses at scale: a generated institution (100,000 courses by default) served by the
simulator in its own process with 50 ms latency and Canvas's default throttle, refreshed into the
database of DATABASE_URL, against a sequential canvasapi baseline on the same simulator.

    python -m bench refresh                      # 100,000 courses
    BENCH_REFRESH_COURSES=10000 python -m bench refresh
    python -m bench.refresh --courses 10000 --latency-ms 50 --baseline-sample 300 --profile /tmp/refresh.prof

Besides the issue's figures it prints what explains them: requests in flight (sampled from the
client's throttle gate), CPU per request of the worker and of the simulator (/proc), the load
average (other work on the machine competes for the same cores), and Select Courses search timings.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import resource
import sys
import threading
import time
from pathlib import Path

from bench.common import connect_institution, fresh_institution, setup_django, start_simulator

PAGE_SIZE = 50


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.refresh")
    parser.add_argument("--courses", type=int, default=int(os.environ.get("BENCH_REFRESH_COURSES", 100_000)))
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--baseline-sample", type=int, default=300, help="courses whose sections the baseline times")
    parser.add_argument("--baseline-course-pages", type=int, default=10, help="course pages the baseline times")
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of our refresh to FILE")
    return parser.parse_args(argv)


def _stats(url: str) -> dict:
    import requests

    return requests.get(f"{url}/_sim/stats", timeout=30).json()


def _throttle_settings(url: str) -> dict:
    """The simulator's throttle as it serves it (Canvas's default unless changed): an empty fault
    update answers with it (and leaves no fault set, which is how the bench runs anyway)."""
    import requests

    return requests.post(f"{url}/_sim/faults", json={}, timeout=30).json()["throttle"]


def _api_requests(stats: dict) -> int:
    return sum(sum(codes.values()) for endpoint, codes in stats["requests"].items() if " /_sim/" not in endpoint)


def _bounds(throttle: dict, latency_s: float, admitted: int, items: int) -> tuple[float, float]:
    """CANVAS_SIMULATOR.md, "Throttle": the in-flight bound (hwm / up_front_cost requests held for
    the latency each) and the drain bound (every admitted request's cost drained at `outflow`)."""
    in_flight = admitted * latency_s / (float(throttle["hwm"]) / float(throttle["up_front_cost"]))
    cost = admitted * float(throttle["base_cost"]) + items * float(throttle["per_item_cost"])
    return in_flight, cost / float(throttle["outflow"])


def _connect(url: str):
    from lms_canvas.models import CanvasConfig

    inst = fresh_institution("bench-refresh", "Bench University")
    conn, token = connect_institution(inst, url)
    CanvasConfig.objects.create(institution=inst)
    return conn, token


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (/proc/<pid>/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class GateSampler(threading.Thread):
    """Samples the client's gate every 10 ms: requests in flight and the gate's limit."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.gate = None
        self.samples: list[tuple[int, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.01):
            if self.gate is not None:
                self.samples.append((self.gate.in_flight, self.gate.limit))

    def mean(self) -> tuple[float, float]:
        busy = self.samples or [(0, 0.0)]
        return sum(s[0] for s in busy) / len(busy), sum(s[1] for s in busy) / len(busy)


def _reset_peak_memory() -> None:
    """Start the worker's peak memory from now (Linux: writing 5 to clear_refs resets VmHWM), so
    deleting the last run's 100,000 courses in setup does not count as the refresh's."""
    Path("/proc/self/clear_refs").write_text("5")


def _peak_memory_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _ours(conn, profile: str | None) -> dict:
    from sync.catalog import refresh
    from sync.models import RunKind
    from sync.runs import lifecycle

    marks: dict[str, float] = {}
    original_params, original_client_for = refresh._set_params, refresh.client_for
    sampler = GateSampler()

    def mark_courses_done(run_id: int, **values) -> None:
        marks.setdefault("courses_searchable", time.perf_counter())
        original_params(run_id, **values)

    def sampled_client_for(connection, **kwargs):
        client = original_client_for(connection, **kwargs)
        sampler.gate = client.throttle
        return client

    refresh._set_params, refresh.client_for = mark_courses_done, sampled_client_for
    profiler = cProfile.Profile() if profile else None
    try:
        run = lifecycle.create_run(conn.institution, RunKind.REFRESH)
        _reset_peak_memory()
        sampler.start()
        cpu_before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        run = refresh.run_refresh(run.id)
        if profiler:
            profiler.disable()
        total = time.perf_counter() - started
        cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    finally:
        sampler.stop.set()
        refresh._set_params, refresh.client_for = original_params, original_client_for
    if profiler:
        profiler.dump_stats(profile)
    cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    in_flight, limit = sampler.mean()
    return {
        "run": run,
        "total": total,
        "searchable": marks.get("courses_searchable", started + total) - started,
        "cpu": cpu,
        "in_flight": in_flight,
        "limit": limit,
    }


def _baseline(url: str, token: str, *, course_pages: int, sample: int, courses: int, live: int) -> dict:
    """The canvasapi way, one request at a time: the course listing's first `course_pages` pages and
    the sections of `sample` live courses, timed and extrapolated to `courses` and `live` courses.
    (canvasapi parses every string attribute as a possible date: about 40 ms per course here, so a
    full listing of 100,000 courses would take an hour; the time per course is the same on every page.)"""
    import logging

    from canvasapi import Canvas

    logging.getLogger("canvasapi").setLevel(logging.WARNING)

    canvas = Canvas(url, token)
    account = canvas.get_account(1)
    states = ["created", "claimed", "available", "completed", "deleted"]
    listed: list[tuple[int, str]] = []
    started = time.perf_counter()
    for course in account.get_courses(include=["term", "total_students"], state=states, per_page=100):
        listed.append((course.id, course.workflow_state))
        if len(listed) >= course_pages * 100:
            break
    courses_time = (time.perf_counter() - started) * courses / max(1, len(listed))
    sampled = [cid for cid, state in listed if state != "deleted"][:sample]
    started = time.perf_counter()
    for cid in sampled:
        list(_sections(canvas, cid))
    per_course = (time.perf_counter() - started) / max(1, len(sampled))
    return {
        "listed": len(listed),
        "sampled": len(sampled),
        "courses_time": courses_time,
        "sections_time": per_course * live,
    }


def _sections(canvas, course_id: int):
    from canvasapi.course import Course

    # Build the course locally (no extra GET /courses/:id, which the seed's scopes do not grant).
    course = Course(canvas._Canvas__requester, {"id": course_id})
    return course.get_sections(per_page=100)


def _search_timings(institution) -> list[tuple[str, float, int]]:
    """Select Courses searches at this catalogue size: (label, median ms of 3, matches)."""
    import statistics

    from sync.catalog import search
    from sync.models import CatalogCourse

    config = search.config_for(institution)
    courses = CatalogCourse.objects.filter(institution=institution).exclude(sis_course_id="").order_by("pk")
    sample = courses[courses.count() // 2]
    last_page = search.search_courses(institution, config, "").paginator.num_pages
    searches = [
        ("first page, no query", "", 1),
        (f"deep page ({last_page})", "", last_page),
        (f"by Canvas id ({sample.canvas_id})", str(sample.canvas_id), 1),
        (f"by SIS ID ({sample.sis_course_id})", sample.sis_course_id, 1),
        (f"by SIS ID prefix ({sample.sis_course_id[:6]})", sample.sis_course_id[:6], 1),
        (f"by name ({sample.name.split()[0]})", sample.name.split()[0], 1),
        (f"by name ({sample.name})", sample.name, 1),
        ("by name, no match", "Quantum Basket Weaving", 1),
    ]
    timings = []
    for label, query, page in searches:
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            result = search.search_courses(institution, config, query, page=page)
            list(result)
            runs.append((time.perf_counter() - started) * 1000)
        timings.append((label, statistics.median(runs), result.paginator.count))
    return timings


def main(argv: list[str] | None = None) -> None:
    args = _args(argv if argv is not None else sys.argv[1:] if __name__ == "__main__" else [])
    proc, url = start_simulator(args.courses, args.latency_ms)
    try:
        setup_django("bench-refresh", deployed=True)
        from django.db import connection

        conn, token = _connect(url)
        throttle = _throttle_settings(url)
        print(
            f"simulator: {args.courses} courses, {args.latency_ms} ms latency, throttle {throttle}; DB {connection.vendor}"
        )
        print("load average at the start     " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
        before = _stats(url)
        sim_cpu_before = _cpu_seconds(proc.pid)
        ours = _ours(conn, args.profile)
        sim_cpu = _cpu_seconds(proc.pid) - sim_cpu_before
        after = _stats(url)
        run = ours["run"]
        print(
            "load average after ours       "
            + " ".join(f"{x:.2f}" for x in os.getloadavg())
            + "  (1, 5, 15 min; 2 cores)"
        )
        requests_made = _api_requests(after) - _api_requests(before)
        throttled = after["throttled"] - before["throttled"]
        items = run.counts.get("courses", 0) + run.counts.get("sections", 0)
        # Throttled answers come back at once, holding nothing: the bound counts admitted requests.
        inflight_bound, drain_bound = _bounds(throttle, args.latency_ms / 1000, requests_made - throttled, items)
        bound = max(inflight_bound, drain_bound)
        peak_mb = _peak_memory_mb()
        print(f"run: {run.get_status_display()}: {run.message}")
        print(f"courses searchable after      {ours['searchable']:8.1f} s   (target <= 30 s)")
        print(f"total time                    {ours['total']:8.1f} s")
        print(f"requests                      {requests_made:8d}   ({requests_made / ours['total']:.0f} per second)")
        print(
            f"throttle-bound time           {bound:8.1f} s   (in-flight {inflight_bound:.1f} s, drain {drain_bound:.1f} s)"
        )
        print(f"share of the bound reached    {100 * bound / ours['total']:8.0f} %   (target >= 80 %)")
        print(f"throttled answers seen        {throttled:8d}")
        print(
            f"requests in flight (mean)     {ours['in_flight']:8.1f}   (gate limit {ours['limit']:.1f}; Canvas holds {float(throttle['hwm']) / float(throttle['up_front_cost']):.0f})"
        )
        print(
            f"CPU per request               {1000 * ours['cpu'] / max(1, requests_made):8.2f} ms worker, "
            f"{1000 * sim_cpu / max(1, requests_made):.2f} ms simulator "
            f"({100 * ours['cpu'] / ours['total']:.0f} % and {100 * sim_cpu / ours['total']:.0f} % of a core)"
        )
        print(f"worker peak memory            {peak_mb:8.0f} MB  (target <= 500 MB)")
        print(f"search at {run.counts.get('courses', 0)} courses (median of 3, page of {PAGE_SIZE}):")
        for label, ms, matches in _search_timings(conn.institution):
            print(f"  {label:<40} {ms:8.1f} ms  ({matches} matches)")
        live = run.counts.get("courses", 0) - conn.institution.catalog_courses.filter(workflow_state="deleted").count()
        base = _baseline(
            url,
            token,
            course_pages=args.baseline_course_pages,
            sample=args.baseline_sample,
            courses=run.counts.get("courses", 0),
            live=live,
        )
        base_total = base["courses_time"] + base["sections_time"]
        print(
            f"baseline (canvasapi, sequential): courses {base['courses_time']:.1f} s (from {base['listed']} courses), "
            f"sections {base['sections_time']:.1f} s (from {base['sampled']} courses), extrapolated; "
            f"total {base_total:.1f} s"
        )
        print(f"ratio to baseline             {base_total / ours['total']:8.1f} x faster")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
