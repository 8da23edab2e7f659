"""Refresh Courses at scale, on the product path: a generated institution (100,000 courses by default)
served by the simulator in its own process with 50 ms latency and Canvas's default throttle, refreshed
as the admin's Refresh Courses starts it (`sync.catalog.refresh.start_refresh`: the run written, its
Celery task sent on commit) by a real `celery -A portal worker` process (docker-compose.yml's worker
command) on Redis, into the PostgreSQL database of DATABASE_URL, and timed until the run ends; then
Select Courses' searches, and a sequential canvasapi baseline on the same simulator.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench python -m bench refresh   # 100,000 courses
    BENCH_REFRESH_COURSES=10000 python -m bench refresh
    python -m bench.refresh --courses 10000 --baseline-sample 0 --profile /tmp/refresh.prof

"Courses searchable" is when the courses phase ends (every course written and the catalogue prepared
for search: the run's `sections_started_at`), "total" when the run ends, both from the moment Refresh
Courses was asked for, by the clocks of the worker's rows. Besides them it prints what explains them:
requests in flight (sampled from the token's gate in Redis, which the worker's refresh uses), CPU per
request of the worker, the simulator and the whole machine (/proc), and the load average (other work on
the machine competes for the same cores); the ratio to the throttle bound is the figure that carries
over to another machine. It flushes its two Redis databases (--broker-url, --cache-url: 13 and 14)
first and always stops its worker. Worker log: var/bench-refresh/. `--profile` runs the same worker
with the refresh task's thread profiled (cProfile) into FILE.

Figures (2026-12-02, this 2-core machine under the exclusive machine lock, load 0.5 -> 1.2, main with
the gate's room in its ceiling, fetch_concurrently on a queue, requests prepared before the gate):
100,000 courses, courses searchable after 12.5 s (target < 20 s), total 412.1 s for 97,056 requests,
bound 346.6 s (in flight; drain 170.0 s) -> 1.19x (target <= 1.25x), 3 throttled answers (all in the
course listing, which is drain-bound: pages of 100 cost 0.21 against a drain of 10/s), 13.6 of 14.0
in flight in the sections phase, CPU per request 2.02 ms worker, 1.23 ms simulator, 0.12 ms
PostgreSQL, worker peak 110 MB; the canvasapi baseline (extrapolated) 5,755 s, 14.0x slower. The same
run before those three commits (load 7 -> 2.5): 14.5 s searchable, 438.2 s, 1.26x, 2.47 ms worker CPU
per request. 20,000 courses: 2.1-2.6 s searchable, 82.9-83.6 s, 1.19-1.20x; at cc02945 (2026-12-03, the
sub-accounts' names read at the end, load 0.3 -> 1.2): 1.7 s searchable, 78.2 s, 1.13x, 0 throttled,
1.80 ms worker and 1.03 ms simulator CPU per request.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import threading
import time
from pathlib import Path

from bench.common import ROOT, connect_institution, fresh_institution, setup_django, start_simulator
from bench.workers import (
    Workers,
    compose_worker_command,
    cpu_seconds,
    loadavg,
    machine_cpu,
    prepare_backends,
    process_tree,
    worker_environment,
)

PAGE_SIZE = 50
RUN_TIMEOUT_S = 3600


def _args(argv: list[str] | None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m bench.refresh")
    parser.add_argument("--courses", type=int, default=int(env("BENCH_REFRESH_COURSES", 100_000)))
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=None, help="prefork children (default: compose's)")
    parser.add_argument("--baseline-sample", type=int, default=300, help="courses whose sections the baseline times")
    parser.add_argument("--baseline-course-pages", type=int, default=10, help="course pages the baseline times")
    parser.add_argument("--broker-url", default=env("BENCH_REFRESH_BROKER_URL", "redis://127.0.0.1:6379/13"))
    parser.add_argument("--cache-url", default=env("BENCH_REFRESH_CACHE_URL", "redis://127.0.0.1:6379/14"))
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the worker's refresh task to FILE")
    parser.add_argument(
        "--until",
        choices=["end", "searchable"],
        default="end",
        help="searchable: cancel the run (as an admin would) once its courses are searchable, and skip the rest",
    )
    return parser.parse_args(argv)


# -- what the other benches read too --------------------------------------------------------------------


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


def _bounds(throttle: dict, latency_s: float, admitted: int, cost: float) -> tuple[float, float]:
    """CANVAS_SIMULATOR.md, "Throttle": the in-flight bound (hwm / up_front_cost requests held for
    the latency each) and the drain bound (the X-Request-Cost the simulator charged, drained at `outflow`)."""
    in_flight = admitted * latency_s / (float(throttle["hwm"]) / float(throttle["up_front_cost"]))
    return in_flight, cost / float(throttle["outflow"])


# -- setup ------------------------------------------------------------------------------------------------


def _connect(url: str):
    from django.db import connection

    from lms_canvas.models import CanvasConfig
    from sync.models import CatalogCourse, CatalogSection

    inst = fresh_institution("bench-refresh", "Bench University")
    conn, token = connect_institution(inst, url)
    CanvasConfig.objects.create(institution=inst)
    # The last run's 100,000 rows were just deleted: vacuum them away, so every run writes into the
    # same tables (a live catalogue is never emptied at once like that).
    with connection.cursor() as cursor:
        for model in (CatalogSection, CatalogCourse):
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return conn, token


def _worker_argv(args: argparse.Namespace) -> list[str]:
    argv = compose_worker_command(args.concurrency)
    if args.profile:
        return [sys.executable, "-m", "bench.profiled_worker", *argv[1:]]
    return argv


# -- measuring ----------------------------------------------------------------------------------------------


class GateSampler(threading.Thread):
    """Samples the token's gate in Redis every 20 ms while the run is active: requests in flight, limit."""

    def __init__(self, connection_id: int) -> None:
        super().__init__(daemon=True)
        from lms_canvas.gates import gate_for

        self.gate = getattr(gate_for(connection_id), "shared", None)  # None: no shared gate to read
        self.samples: list[tuple[float, int, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while self.gate is not None and not self.stop.wait(0.02):
            self.samples.append((time.time(), self.gate.in_flight, self.gate.limit))

    def mean(self, start: float = float("-inf"), end: float = float("inf")) -> tuple[float, float] | None:
        """Mean requests in flight and gate limit over the samples taken between `start` and `end`."""
        chosen = [s for s in self.samples if start <= s[0] < end]
        if not chosen:
            return None
        return sum(s[1] for s in chosen) / len(chosen), sum(s[2] for s in chosen) / len(chosen)


def _reset_peak_memory(pid: int) -> None:
    """Peak memory from now on (Linux: writing 5 to clear_refs resets VmHWM)."""
    for each in process_tree(pid):
        Path(f"/proc/{each}/clear_refs").write_text("5")


def _peak_memory_mb(pid: int) -> float:
    """The largest peak resident memory of the worker's processes (the child that ran the refresh)."""
    peaks = [0]
    for each in process_tree(pid):
        for line in Path(f"/proc/{each}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]))
    return max(peaks) / 1024


class DatabaseCpu:
    """CPU of the PostgreSQL backends serving this database but this process's own (the worker's: Celery
    closes them after each task, so they are read while the run goes on)."""

    def __init__(self) -> None:
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.read()
        self.first = dict(self.last)  # backends already there count from now; later ones from 0

    def read(self) -> None:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            for (pid,) in cursor.fetchall():
                self.last[pid] = max(self.last.get(pid, 0.0), cpu_seconds(pid))

    def seconds(self) -> float:
        return sum(cpu - self.first.get(pid, 0.0) for pid, cpu in self.last.items())


def _refresh(conn, workers: Workers, *, until: str) -> dict:
    """Refresh Courses as the admin starts it, timed until the run is no longer active (or cancelled
    once its courses are searchable)."""
    from sync.catalog import refresh
    from sync.runs import lifecycle

    sampler = GateSampler(conn.id)
    worker_pid = workers.running[0].proc.pid
    _reset_peak_memory(worker_pid)
    cpu_before, database = workers.cpu(), DatabaseCpu()
    sampler.start()
    asked = time.time()
    run = refresh.start_refresh(conn.institution)  # autocommit: the task is sent as the run is written
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while run.is_active:
        if time.monotonic() > deadline or not all(w.proc.poll() is None for w in workers.running):
            raise RuntimeError(f"the refresh did not end (run #{run.id} {run.status}):\n{workers.tails()}")
        time.sleep(0.1)
        database.read()
        run.refresh_from_db()
        if until == "searchable" and "sections_started_at" in run.params and not run.cancel_requested:
            lifecycle.request_cancel(run)
    sampler.stop.set()

    def since_asked(when: dt.datetime | None) -> float:
        return when.timestamp() - asked if when else float("nan")

    courses_done = run.params.get("sections_started_at")
    searchable = since_asked(dt.datetime.fromisoformat(courses_done) if courses_done else run.finished_at)
    return {
        "run": run,
        "queued": since_asked(run.started_at),
        "searchable": searchable,
        "total": since_asked(run.finished_at),
        "cpu": workers.cpu() - cpu_before,
        "database_cpu": database.seconds(),
        "gate": sampler.mean(),
        "gate_phases": (sampler.mean(end=asked + searchable), sampler.mean(start=asked + searchable)),
        "peak_mb": _peak_memory_mb(worker_pid),
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


def _report(args, throttle: dict, ours: dict, before: dict, after: dict, sim_cpu: float, machine) -> None:
    run = ours["run"]
    requests_made = _api_requests(after) - _api_requests(before)
    throttled = after["throttled"] - before["throttled"]
    # Throttled answers come back at once, holding nothing: the bound counts admitted requests.
    cost = after["cost"] - before["cost"]
    inflight_bound, drain_bound = _bounds(throttle, args.latency_ms / 1000, requests_made - throttled, cost)
    bound = max(inflight_bound, drain_bound)
    total = ours["total"]
    busy, elapsed = machine
    print(f"run #{run.id}: {run.get_status_display()}: {run.message}")
    print(f"picked up by the worker after  {ours['queued']:8.2f} s")
    print(f"courses searchable after       {ours['searchable']:8.1f} s   (target < 20 s)")
    print(f"total time                     {total:8.1f} s")
    print(f"requests                       {requests_made:8d}   ({requests_made / total:.0f} per second)")
    print(
        f"throttle-bound time            {bound:8.1f} s   (in-flight {inflight_bound:.1f} s, drain {drain_bound:.1f} s)"
    )
    print(f"total / bound                  {total / bound:8.2f} x   (target <= 1.25 x)")
    print(f"throttled answers seen         {throttled:8d}")
    gate = ours["gate"]
    hold = float(throttle["hwm"]) / float(throttle["up_front_cost"])
    if gate:
        print(f"requests in flight (mean)      {gate[0]:8.1f}   (gate limit {gate[1]:.1f}; Canvas holds {hold:.0f})")
        phases = [
            f"{name} {m[0]:.1f} of {m[1]:.1f}"
            for name, m in zip(("courses", "then"), ours["gate_phases"], strict=True)
            if m
        ]
        print(f"  by phase                     {'; '.join(phases)}")
    print(
        f"CPU per request                {1000 * ours['cpu'] / max(1, requests_made):8.2f} ms worker, "
        f"{1000 * sim_cpu / max(1, requests_made):.2f} ms simulator, "
        f"{1000 * ours['database_cpu'] / max(1, requests_made):.2f} ms PostgreSQL "
        f"({100 * ours['cpu'] / total:.0f} %, {100 * sim_cpu / total:.0f} % and "
        f"{100 * ours['database_cpu'] / total:.0f} % of a core); "
        f"machine {100 * busy / elapsed:.0f} % busy ({os.cpu_count()} cores)"
    )
    print(f"worker peak memory             {ours['peak_mb']:8.0f} MB  (target <= 500 MB)")


def main(argv: list[str] | None = None) -> None:
    args = _args(argv if argv is not None else sys.argv[1:] if __name__ == "__main__" else [])
    env = worker_environment(args.broker_url, args.cache_url)
    problem = prepare_backends(args.broker_url, args.cache_url)
    if problem:
        print(f"refresh bench skipped: {problem}")
        return
    proc, url = start_simulator(args.courses, args.latency_ms)
    workers = None
    try:
        setup_django("bench-refresh", deployed=True)
        conn, token = _connect(url)
        throttle = _throttle_settings(url)
        if args.profile:
            env["BENCH_PROFILE"] = str(Path(args.profile).resolve())
        workers = Workers(_worker_argv(args), env, ROOT / "var" / "bench-refresh")
        workers.ensure(1)
        print(
            f"simulator: {args.courses} courses, {args.latency_ms} ms latency, throttle {throttle}; "
            f"worker: {' '.join(workers.argv[1:])}"
        )
        print(f"load average at the start      {loadavg()}")
        before, sim_cpu_before, machine_before = _stats(url), cpu_seconds(proc.pid), machine_cpu()
        ours = _refresh(conn, workers, until=args.until)
        machine_after = machine_cpu()
        sim_cpu = cpu_seconds(proc.pid) - sim_cpu_before
        after = _stats(url)
        print(f"load average after the refresh {loadavg()}  (1, 5, 15 min)")
        machine = (machine_after[0] - machine_before[0], machine_after[1] - machine_before[1])
        run = ours["run"]
        if args.until == "searchable":
            busy, elapsed = machine
            print(f"run #{run.id}: {run.get_status_display()}: {run.message}")
            print(f"courses searchable after       {ours['searchable']:8.1f} s   (target < 20 s; then cancelled)")
            print(
                f"CPU until cancelled            {ours['cpu']:8.1f} s worker, {sim_cpu:.1f} s simulator, "
                f"{ours['database_cpu']:.1f} s PostgreSQL; "
                f"machine {100 * busy / elapsed:.0f} % busy ({os.cpu_count()} cores)"
            )
            return
        _report(args, throttle, ours, before, after, sim_cpu, machine)
        print(f"search at {run.counts.get('courses', 0)} courses (median of 3, page of {PAGE_SIZE}):")
        for label, ms, matches in _search_timings(conn.institution):
            print(f"  {label:<40} {ms:8.1f} ms  ({matches} matches)")
        if args.baseline_sample:
            live = (
                run.counts.get("courses", 0) - conn.institution.catalog_courses.filter(workflow_state="deleted").count()
            )
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
            print(f"ratio to baseline              {base_total / ours['total']:8.1f} x faster")
    finally:
        if workers is not None:
            workers.stop_all()
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
