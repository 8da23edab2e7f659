"""Sync at scale: a generated institution (3,000 courses by default: the generator gives about 142,000 enrollments, the issue's ~150,000) served
by the simulator in its own process (50 ms latency, Canvas's default throttle), synced into the
database of DATABASE_URL (PostgreSQL for the real figures) by several worker threads sharing one
throttle gate, then a no-change re-sync, the apply rate, and a sequential canvasapi baseline.

The apply rate is enrollment rows written (Enrollment + CourseAdminEnrollment rows in the portal
afterwards) divided by the wall time of `apply_plans` alone over batches of pipeline.APPLY_BATCH
courses, into an emptied portal; the Canvas reads (planning) happen before the clock starts.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench python -m bench sync
    python -m bench.sync --courses 500 --workers 8 --baseline-sample 50
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from bench.common import connect_institution, fresh_institution, setup_django, start_simulator
from bench.refresh import _stats
from lms_canvas.throttle import CANVAS_HWM as HWM
from lms_canvas.throttle import CANVAS_OUTFLOW as OUTFLOW
from lms_canvas.throttle import CANVAS_UP_FRONT_COST as UP_FRONT


def _args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.sync")
    parser.add_argument("--courses", type=int, default=int(os.environ.get("BENCH_SYNC_COURSES", 3000)))
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--workers", type=int, default=8, help="threads (2 workers x concurrency 4 by default)")
    parser.add_argument("--baseline-sample", type=int, default=100, help="courses the canvasapi baseline times")
    return parser.parse_args(argv)


def _institution(url: str):
    from lms_canvas.models import CanvasConfig
    from portal.models import Department
    from sync.models import CatalogCourse, SyncListEntry

    inst = fresh_institution("bench-sync", "Bench Sync University")
    dept = Department.objects.create(institution=inst, name="Everything")
    conn, token = connect_institution(inst, url)
    from lms_canvas import connect

    connect.load_roles(conn)
    CanvasConfig.objects.filter(institution=inst).update(course_id_type="canvas")
    client = connect.client_for(conn)
    courses = [c for c in client.iter_account_courses(1) if c.workflow_state == "available"]
    CatalogCourse.objects.bulk_create(
        CatalogCourse(institution=inst, canvas_id=c.id, name=c.name[:255], workflow_state="available") for c in courses
    )
    SyncListEntry.objects.bulk_create(
        SyncListEntry(institution=inst, course=cat, department=dept)
        for cat in CatalogCourse.objects.filter(institution=inst)
    )
    return inst, conn, token, [c.id for c in courses]


def _rows_written() -> int:
    from django.db import connection

    if connection.vendor != "postgresql":
        return -1
    with connection.cursor() as cur:
        cur.execute("SELECT pg_stat_clear_snapshot()")
        cur.execute(
            "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables "
            "WHERE relname LIKE 'portal_%%'"
        )
        return int(cur.fetchone()[0])


_costs: list[float] = []  # X-Request-Cost of every Canvas answer the portal's client received


def _record_costs() -> None:
    """Every CanvasClient session of this process notes each answer's cost (the drain bound's input)."""
    from lms_canvas import client

    build = client.build_session

    def build_and_record():
        session = build()
        session.hooks["response"].append(lambda r, *a, **k: _costs.append(float(r.headers.get("X-Request-Cost", 0))))
        return session

    client.build_session = build_and_record


def _sync(inst, workers: int, url: str) -> dict:
    from sync.engine import run_sync, start_sync

    _costs.clear()
    before, rows_before = _stats(url), _rows_written()
    started = time.perf_counter()
    run = run_sync(start_sync(inst, enqueue=False), workers=workers)
    elapsed = time.perf_counter() - started
    time.sleep(1)  # PostgreSQL's statistics collector reports with a delay
    after = _stats(url)
    return {
        "run": run,
        "time": elapsed,
        "requests": after["total_requests"] - before["total_requests"],
        "throttled": after["throttled"] - before["throttled"],
        "rows": _rows_written() - rows_before,
        "cost": sum(_costs),
    }


def _apply_rate(inst, conn, entries) -> tuple[int, float]:
    """Plan every course (Canvas, untimed), empty the portal, then time only the writes: `apply_plans`
    over batches of courses as the run does. Returns (enrollment rows written, seconds)."""
    from concurrent.futures import ThreadPoolExecutor

    from lms_canvas import connect
    from lms_canvas.models import CanvasConfig
    from portal.models import Course, CourseAdmin, CourseAdminEnrollment, Enrollment, ExamTaker
    from sync.engine import apply_plans, plan_entry
    from sync.engine.pipeline import APPLY_BATCH

    config = CanvasConfig.objects.get(institution=inst)
    client = connect.client_for(conn)
    with ThreadPoolExecutor(16) as pool:
        plans = list(pool.map(lambda e: plan_entry(client, config, e, account_id=1), entries))
    Course.objects.filter(institution=inst).delete()
    ExamTaker.objects.filter(institution=inst).delete()
    CourseAdmin.objects.filter(institution=inst).delete()
    started = time.perf_counter()
    for start in range(0, len(plans), APPLY_BATCH):
        apply_plans(plans[start : start + APPLY_BATCH], inst)
    seconds = time.perf_counter() - started
    enrollments = (
        Enrollment.objects.filter(course__institution=inst).count()
        + CourseAdminEnrollment.objects.filter(course__institution=inst).count()
    )
    return enrollments, seconds


def _canvas_enrollments(courses: int, course_ids: list[int]) -> tuple[int, int]:
    """Enrollments (every state) of all generated courses, and of the synced (published) ones."""
    from lms_canvas.simulator.generator import generate_base, rosters_for

    base = generate_base(courses, seed=1)  # the simulator's default seed
    rosters = rosters_for(base, courses, seed=1)
    synced = sum(len(rosters.enrollments(cid)) for cid in course_ids)
    every = sum(len(rosters.enrollments(c["id"])) for c in base["courses"])
    return every, synced


def _baseline(url: str, token: str, course_ids: list[int], sample: int) -> float:
    """Sequential canvasapi: the same reads per course, one request at a time; seconds per course."""
    import logging
    import warnings

    from canvasapi import Canvas
    from canvasapi.course import Course

    logging.getLogger("canvasapi").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message="Canvas may respond unexpectedly")
    canvas = Canvas(url, token)
    requester = canvas._Canvas__requester
    states = ["active", "invited", "creation_pending", "inactive", "completed"]
    chosen = course_ids[:sample]
    started = time.perf_counter()
    for cid in chosen:
        # /accounts/1/courses/:id (the seed's scope; canvasapi's get_course uses /courses/:id)
        course = Course(requester, requester.request("GET", f"accounts/1/courses/{cid}").json())
        list(course.get_sections(per_page=100))
        list(course.get_enrollments(state=states, per_page=100))
    return (time.perf_counter() - started) / max(1, len(chosen))


def main(argv: list[str] | None = None) -> None:
    args = _args(argv if argv is not None else sys.argv[1:] if __name__ == "__main__" else [])
    proc, url = start_simulator(args.courses, args.latency_ms)
    try:
        setup_django("bench-sync", deployed=True)
        from django.db import connection

        from sync.models import SyncListEntry

        inst, conn, token, course_ids = _institution(url)
        print(
            f"simulator: {args.courses} courses generated ({len(course_ids)} published, all on the sync list), "
            f"{args.latency_ms} ms latency, Canvas default throttle; DB {connection.vendor}; {args.workers} worker threads"
        )
        _record_costs()
        first = _sync(inst, args.workers, url)
        c = first["run"].counts
        # The two bounds of CANVAS_SIMULATOR.md "Throttle", from the requests this sync made: at most
        # hwm/up_front_cost requests in flight, each one latency long; and the bucket drains only
        # `outflow` units a second of the costs Canvas charged (X-Request-Cost, summed).
        in_flight_bound = first["requests"] * args.latency_ms / 1000 / (HWM / UP_FRONT)
        drain_bound = first["cost"] / OUTFLOW
        bound = max(in_flight_bound, drain_bound)
        print(
            f"first sync: {first['time']:.1f} s, {first['requests']} requests ({first['throttled']} throttled), "
            f"status {first['run'].get_status_display()}, counts {c}"
        )
        print(
            f"  throttle-bound time for those requests: {bound:.1f} s (in flight {in_flight_bound:.1f} s, "
            f"drain {drain_bound:.1f} s of {first['cost']:.0f} cost units) -> ratio {first['time'] / bound:.2f}x "
            f"(target <= 1.3x); {first['time'] / in_flight_bound:.2f}x the in-flight bound alone (the bucket holds "
            f"{HWM:.0f} units, so finished costs only drain-limit a sync once they crowd out requests in flight)"
        )
        every, synced = _canvas_enrollments(args.courses, course_ids)
        print(f"  Canvas enrollments: {every} in all {args.courses} courses, {synced} in the {len(course_ids)} synced")
        again = _sync(inst, args.workers, url)
        c2 = again["run"].counts
        print(
            f"no-change re-sync: {again['time']:.1f} s, {again['requests']} requests, "
            f"rows written {again['rows'] if again['rows'] >= 0 else 'n/a (not PostgreSQL)'} "
            f"(created {c2['created']}, updated {c2['updated']}, deactivated {c2['deactivated']})"
        )
        entries = list(SyncListEntry.objects.filter(institution=inst).select_related("course", "section"))
        n, seconds = _apply_rate(inst, conn, entries)
        print(
            f"apply: {n} enrollments written in {seconds:.2f} s (apply_plans only, batches of courses, no Canvas) "
            f"-> {n / seconds:,.0f} enrollments/s (target >= 10,000)"
        )
        per_course = _baseline(url, token, course_ids, args.baseline_sample)
        baseline = per_course * len(course_ids)
        print(
            f"canvasapi sequential baseline: {per_course * 1000:.0f} ms per course over {min(args.baseline_sample, len(course_ids))} "
            f"courses -> {baseline:.0f} s for all (reads only) -> ours is {baseline / first['time']:.1f}x faster"
        )
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
