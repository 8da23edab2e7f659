"""Sync at scale, on the product path: real `celery -A portal worker` processes (docker-compose.yml's
worker command) on Redis and the PostgreSQL database of DATABASE_URL, each run started as Sync Now
starts it (`start_sync` in autocommit: its first batches are sent as it commits) and timed until the
run is no longer active. The simulator serves a generated account in its own process (50 ms latency,
Canvas's default throttle); every institution has its own connection and token (its own bucket).

    (a) one institution of 3,000 courses (about 144,000 enrollments) with compose's worker command (1
        process, compose's --concurrency): time, requests, throttled answers, the ratio to the bound
    (b) the same with 1 and 2 worker processes sharing the token's gate through Redis (throttled share)
    (c) nightly: a 2,000-course institution and ten of 50 courses started together, in the order
        `sync.schedule.dispatch_nightly` starts them (by name: the large one first), each against its
        own time alone, the whole against the large one alone
    (d) a no-change re-sync of (a)'s institution: rows written (pg_stat_user_tables)
    (e) the apply rate: enrollments/s of `apply_plans` alone, in this process (Canvas read beforehand)
    (f) the sequential canvasapi baseline

The throttle bound (CANVAS_SIMULATOR.md, "Throttle") of a run is the larger of the in-flight bound
(admitted requests x latency / (hwm / up_front_cost)) and the drain bound (the X-Request-Cost of those
requests, summed by the simulator, / outflow). Every figure comes with the load average: on a shared
machine the absolute times are noise, the ratios less so.

Measured on the 2-core development machine (2026-12-02, exclusive lock, loadavg 2-6 at the start of
each part): (a) 45.6 s, 1.13x the bound, 9,425 requests, 0 throttled, workers 3.13 ms of CPU a request;
(b) 2 processes 1.12x, 0.00% throttled; (c) the whole 1.27x the large alone, the smalls 2.5-4.9x their
time alone (the CPU floor of the smalls alone: 2.92x; before the long run yielded to the short ones,
dispatch.py: 4.7-6.4x); (d) 0 rows; (e) 19,801 enrollments/s; (f) canvasapi 424 ms a course, 25x
slower than (a) (an earlier run; not re-measured). (c) alone again after the status-card note and the
one-turn run stopped polling (2026-12-02, main 2157237, exclusive lock, loadavg 4.4-6 from the suite that
had just ended): worst small 4.31x (floor 2.84x: the smalls alone took 7.4 CPU-s), the whole 1.19x.
(c) alone after the gate's in-process slot hand-over, the lean request prepare and the simulator's
one-send answers (2026-12-02, main ff05f8d, exclusive lock, loadavg 1.9-2.3): the smalls alone are faster
(1.3 -> 0.9-1.0 s: the simulator no longer waits up to 10 ms a request in Werkzeug's discard), so the
ratios are not the earlier ones: worst small 5.12x (3.1-5.1x; floor 3.07x: 6.1 CPU-s alone, workers
2.72 ms and the simulator 1.17 ms of CPU a request), the whole 1.17x; 7,855 requests, 0 throttled.
(c) at dfad745 on a fresh machine of the same kind (2026-12-03, nothing else running, loadavg 0.9 at
the start): worst small 5.66x (3.65-5.66x; floor 3.13x: 7.1 CPU-s alone, workers 3.17 ms and the
simulator 1.35 ms a request: this machine is slower), the whole 1.20x. The settings around it, one run
each on the same machine: `--concurrency 16` 8.61x and the whole 1.38x (every small claimed within
0.5 s, but the workers spent 37.5 CPU-s on the same run against 27.2: more processes contend for the
two cores); SYNC_BATCHES_IN_FLIGHT=1 (a small run one batch of 50) 6.61x (the seven that got a pool
slot ended in 5.0-5.9 s, the last three waited 5 s for one); SYNC_BATCHES_IN_FLIGHT=1 with
`--concurrency 6` 7.37x; PostgreSQL server-side binding (OPTIONS server_side_binding) 6.32x and no less
CPU a request. So compose's --concurrency=8 and SYNC_BATCHES_IN_FLIGHT=2 stay: what is left is the
smalls' own CPU on two cores.
(c) again at cc02945 (2026-12-03, exclusive lock, loadavg 1.2 at the start; the sync now asks the
enrollments listing for emails too): worst small 5.66x (3.30-5.66x; floor 3.02x: 7.2 CPU-s alone, workers
3.15 ms and the simulator 1.42 ms a request), the whole 1.19x (34.0 s against 28.4 s); 7,855 requests, 0
throttled.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench python -m bench sync
    python -m bench.sync --courses 300 --nightly-large 200 --nightly-small 20 --skip f
    SYNC_BATCH_COURSES=25 python -m bench.sync --skip c,d,e,f     # engine settings reach the workers

It needs PostgreSQL (DATABASE_URL; the database is created if missing) and Redis; it flushes its two
Redis databases (--broker-url, --cache-url: 8 and 9 by default) first, and stops its workers whatever
happens. Worker logs: var/bench-sync/.
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import signal
import sys
import threading
import time
from dataclasses import dataclass

from bench.common import ROOT, connect_institution, fresh_institution, setup_django, start_simulator
from bench.refresh import _api_requests, _stats, _throttle_settings
from bench.workers import (
    Workers,
    compose_worker_command,
    concurrency_of,
    cpu_seconds,
    loadavg,
    machine_cpu,
    prepare_backends,
    worker_environment,
)

PARTS = {"a": "first", "b": "processes", "c": "nightly", "d": "resync", "e": "apply", "f": "baseline"}
PG_STATS_FLUSH_S = 11  # PostgreSQL 15 backends report their table counts within 10 s of going idle
RUN_TIMEOUT_S = 1800

_summary: list[str] = []  # each figure that has a target, for the closing table


def _target(label: str, figure: str, met: bool, target: str) -> None:
    _summary.append(f"  {'met   ' if met else 'MISSED'} {label}: {figure} (target {target})")


def _env(name: str, default: object) -> str:
    return os.environ.get(f"BENCH_SYNC_{name}", str(default))


def _args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.sync", description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--courses", type=int, default=int(_env("COURSES", 3000)), help="(a,b,d,e,f) courses on the sync list")
    add("--nightly-large", type=int, default=int(_env("NIGHTLY_LARGE", 2000)), help="(c) the large institution")
    add("--nightly-small", type=int, default=int(_env("NIGHTLY_SMALL", 50)), help="(c) each small institution")
    add("--small-count", type=int, default=int(_env("SMALL_COUNT", 10)), help="(c) small institutions")
    add("--latency-ms", type=int, default=int(_env("LATENCY_MS", 50)))
    add("--processes", default=_env("PROCESSES", "1,2"), help="(b) worker process counts, comma-separated")
    add("--nightly-processes", type=int, default=int(_env("NIGHTLY_PROCESSES", 1)), help="(c) worker processes")
    add("--concurrency", type=int, default=None, help="prefork children per worker process (default: compose's)")
    add("--worker-args", default=_env("WORKER_ARGS", ""), help="more worker arguments, e.g. '--pool=threads'")
    add("--baseline-sample", type=int, default=int(_env("BASELINE_SAMPLE", 100)), help="(f) courses timed")
    add("--skip", default=_env("SKIP", ""), help="parts to leave out: letters or names, e.g. c,f or nightly")
    add("--broker-url", default=_env("BROKER_URL", "redis://127.0.0.1:6379/8"), help="flushed first")
    add("--cache-url", default=_env("CACHE_URL", "redis://127.0.0.1:6379/9"), help="cache + throttle; flushed")
    args = parser.parse_args(argv)
    names = {v: k for k, v in PARTS.items()}
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    unknown = skip - set(PARTS) - set(names)
    if unknown:
        parser.error(f"--skip: unknown part(s) {', '.join(sorted(unknown))}; parts: {PARTS}")
    args.parts = [p for p in PARTS if p not in skip and PARTS[p] not in skip]
    args.process_counts = [int(n) for n in args.processes.split(",") if n.strip()]
    return args


# -- setup ------------------------------------------------------------------------------------------------


def _generated_size(published: int) -> int:
    """Courses to generate so the account has at least `published` published ones (the simulator's
    generator, default seed: about three in four are published)."""
    from lms_canvas.simulator.generator import generate_base

    size = math.ceil(published / 0.7) + 10
    while sum(c["workflow_state"] == "available" for c in generate_base(size, seed=1)["courses"]) < published:
        size = math.ceil(size * 1.1)
    return size


def _institution(slug: str, name: str, url: str, courses: list, *, admin: bool = True):
    """A fresh institution, Verified against the simulator with its own token, with `courses` (Canvas
    Course objects) in its catalogue and all of them on its sync list; and its admin (Sync Now's user)."""
    from django.contrib.auth import get_user_model

    from lms_canvas import connect
    from lms_canvas.models import CanvasConfig
    from portal.models import Department, InstitutionAdmin
    from sync.models import CatalogCourse, SyncListEntry

    inst = fresh_institution(slug, name)
    dept = Department.objects.create(institution=inst, name="Everything")
    conn, token = connect_institution(inst, url)
    connect.load_roles(conn)
    CanvasConfig.objects.filter(institution=inst).update(course_id_type="canvas")
    catalogue = CatalogCourse.objects.bulk_create(
        CatalogCourse(institution=inst, canvas_id=c.id, name=c.name[:255], workflow_state="available") for c in courses
    )
    SyncListEntry.objects.bulk_create(SyncListEntry(institution=inst, course=cat, department=dept) for cat in catalogue)
    user = None
    if admin:
        email = f"{slug}@bench.test"
        user, _ = get_user_model().objects.get_or_create(username=email, defaults={"email": email})
        InstitutionAdmin.objects.get_or_create(user=user, institution=inst)
    return Bench(inst, conn, token, user, [c.id for c in courses])


@dataclass
class Bench:
    institution: object
    conn: object
    token: str
    user: object
    course_ids: list[int]


# -- measuring runs ---------------------------------------------------------------------------------------


class GateSampler(threading.Thread):
    """Every 50 ms, each connection's shared gate (in Redis, as the workers see it): requests in flight
    and the gate's limit."""

    def __init__(self, conns: list) -> None:
        from lms_canvas.gates import gate_for

        super().__init__(daemon=True)
        self.gates = {conn.id: getattr(gate_for(conn.id), "shared", None) for conn in conns}
        self.samples: dict[int, list[tuple[float, int, float]]] = {cid: [] for cid in self.gates}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.05):
            now = time.time()
            for cid, gate in self.gates.items():
                if gate is not None:
                    self.samples[cid].append((now, gate.in_flight, gate.limit))

    def mean(self, conn_id: int, start: float, end: float) -> tuple[float, float]:
        window = [s for s in self.samples[conn_id] if start <= s[0] <= end] or [(0.0, 0, 0.0)]
        return sum(s[1] for s in window) / len(window), sum(s[2] for s in window) / len(window)


@dataclass
class RunFigures:
    bench: Bench
    run: object
    time: float  # from its start_sync call to its finished_at
    waited: float  # from its start_sync call to its first course claimed by a worker
    in_flight: float
    limit: float


@dataclass
class Measured:
    runs: list[RunFigures]
    whole: float
    requests: int
    throttled: int
    cost: float
    workers_cpu: float
    sim_cpu: float
    machine_busy: float  # share of every core busy, all processes of the machine
    load: str


def _measure(benches: list[Bench], ctx: Context, *, nightly: bool = False) -> Measured:
    """Start each institution's sync as Sync Now (or, `nightly`, beat's dispatcher) does, in this order,
    and wait until none is active."""
    from django.db import connection

    from sync.engine import start_sync
    from sync.models import ACTIVE_STATUSES, RunTrigger, SyncRun

    assert connection.get_autocommit(), "start_sync must run in autocommit, as in a view: its send is on commit"
    before, workers_before, sim_before = _stats(ctx.url), ctx.workers.cpu(), cpu_seconds(ctx.sim_pid)
    busy_before, total_before = machine_cpu()
    sampler = GateSampler([b.conn for b in benches])
    sampler.start()
    started: list[tuple[Bench, SyncRun, float]] = []
    first = time.time()
    for b in benches:
        at = time.time()
        if nightly:
            run = start_sync(b.institution, trigger=RunTrigger.NIGHTLY)
        else:
            run = start_sync(b.institution, trigger=RunTrigger.ADMIN, user=b.user)
        started.append((b, run, at))
    ids = [run.id for _, run, _ in started]
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while SyncRun.objects.filter(id__in=ids, status__in=ACTIVE_STATUSES).exists():
        if time.monotonic() > deadline or any(w.proc.poll() is not None for w in ctx.workers.running):
            raise RuntimeError(f"runs {ids} still active, a worker died or {RUN_TIMEOUT_S} s passed")
        time.sleep(0.05)
    sampler.done.set()
    sampler.join()
    after, busy_after, total_after = _stats(ctx.url), *machine_cpu()
    runs = []
    for b, run, at in started:
        run.refresh_from_db()
        end = run.finished_at.timestamp()
        claimed = run.course_results.exclude(claimed_at=None).order_by("claimed_at").first()
        in_flight, limit = sampler.mean(b.conn.id, at, end)
        # Quiet courses' results are folded into the run when it ends (runner.fold_quiet_results), maybe the
        # first claimed among them: the first batch's claim of the run itself (started_at) is the same moment.
        claims = [t for t in (claimed.claimed_at if claimed else None, run.started_at) if t is not None]
        waited = min(claims).timestamp() - at if claims else float("nan")
        runs.append(RunFigures(b, run, end - at, waited, in_flight, limit))
    whole = max(r.run.finished_at.timestamp() for r in runs) - first
    return Measured(
        runs=runs,
        whole=whole,
        requests=_api_requests(after) - _api_requests(before),
        throttled=after["throttled"] - before["throttled"],
        cost=after["cost"] - before["cost"],
        workers_cpu=ctx.workers.cpu() - workers_before,
        sim_cpu=cpu_seconds(ctx.sim_pid) - sim_before,
        machine_busy=(busy_after - busy_before) / max(1e-9, total_after - total_before),
        load=loadavg(),
    )


@dataclass
class Context:
    args: argparse.Namespace
    url: str
    sim_pid: int
    workers: Workers
    throttle: dict
    concurrency: int
    courses: list  # the account's published courses, in id order


def _bounds(m: Measured, ctx: Context) -> tuple[float, float, float]:
    """(bound, in flight, drain) in seconds for the requests of `m`; throttled answers hold nothing."""
    t = ctx.throttle
    admitted = m.requests - m.throttled
    in_flight = admitted * ctx.args.latency_ms / 1000 / (float(t["hwm"]) / float(t["up_front_cost"]))
    drain = m.cost / float(t["outflow"])
    return max(in_flight, drain), in_flight, drain


def _explain(m: Measured, ctx: Context, processes: int) -> str:
    r = m.runs[0]
    cores = os.cpu_count() or 1
    return (
        f"      in flight {r.in_flight:.1f} (gate limit {r.limit:.1f} of {float(ctx.throttle['hwm']) / float(ctx.throttle['up_front_cost']):.0f}); "
        f"{m.requests / m.whole:.0f} requests/s; first course claimed after {r.waited:.2f} s; "
        f"{r.run.batch_count} batches; CPU: workers {m.workers_cpu:.1f} s ({m.workers_cpu / m.whole:.2f} cores, "
        f"{1000 * m.workers_cpu / max(1, m.requests):.2f} ms/request), simulator {m.sim_cpu:.1f} s "
        f"({m.sim_cpu / m.whole:.2f} cores), machine {100 * m.machine_busy:.0f}% of {cores} cores busy; "
        f"{processes} x {ctx.concurrency} children\n"
        f"      loadavg after: {m.load}"
    )


def _sync_line(label: str, m: Measured, ctx: Context, processes: int) -> str:
    bound, in_flight, drain = _bounds(m, ctx)
    r = m.runs[0]
    share = 100 * m.throttled / max(1, m.requests)
    return (
        f"{label}: {m.whole:.1f} s, {r.run.get_status_display()}; {m.requests} requests, {m.throttled} throttled "
        f"({share:.2f}%{', target < 1%' if processes > 1 else ''}); bound {bound:.1f} s (in flight {in_flight:.1f} s, "
        f"drain {drain:.1f} s of {m.cost:.0f} cost units) -> {m.whole / bound:.2f}x (target <= 1.3x)\n"
        + _explain(m, ctx, processes)
    )


# -- the parts --------------------------------------------------------------------------------------------


def _first(ctx: Context, target: Bench) -> Measured:
    ctx.workers.ensure(1)
    print(f"(a) loadavg before: {loadavg()}")
    m = _measure([target], ctx)
    print(_sync_line(f"(a) sync of {len(target.course_ids)} courses, compose's worker (1 process)", m, ctx, 1))
    ratio = m.whole / _bounds(m, ctx)[0]
    _target(
        f"(a) {len(target.course_ids)} courses, 1 process: time / bound",
        f"{ratio:.2f}x ({m.whole:.1f} s)",
        ratio <= 1.3,
        "<= 1.3x",
    )
    counts = m.runs[0].run.counts
    print(f"      counts {counts}; {_enrollments(target.institution)} enrollment rows in the portal after")
    return m


def _processes(ctx: Context, courses: list, first: Measured | None) -> None:
    for n in ctx.args.process_counts:
        if n == 1 and first is not None:
            print(f"(b) 1 worker process: as (a): {first.whole:.1f} s, {first.throttled} throttled")
            continue
        target = _institution(f"bench-sync-p{n}", f"Bench Sync {n} processes", ctx.url, courses)
        ctx.workers.ensure(n)
        print(f"(b) loadavg before: {loadavg()}")
        m = _measure([target], ctx)
        print(_sync_line(f"(b) {n} worker process{'es' if n > 1 else ''}, one token", m, ctx, n))
        ratio, share = m.whole / _bounds(m, ctx)[0], 100 * m.throttled / max(1, m.requests)
        _target(f"(b) {n} processes: time / bound", f"{ratio:.2f}x ({m.whole:.1f} s)", ratio <= 1.3, "<= 1.3x")
        if n > 1:
            _target(f"(b) {n} processes: throttled answers", f"{share:.2f}% of {m.requests}", share < 1, "< 1%")


def _nightly(ctx: Context) -> None:
    args = ctx.args
    large_courses = ctx.courses[: args.nightly_large]
    smalls = [
        ctx.courses[args.nightly_large + i * args.nightly_small : args.nightly_large + (i + 1) * args.nightly_small]
        for i in range(args.small_count)
    ]

    def make(tag: str) -> list[Bench]:
        # Named so that dispatch_nightly's order (by name) starts the large one first: the smalls' worst case.
        benches = [_institution(f"bench-night-{tag}-00", f"Bench Night {tag} 00 large", ctx.url, large_courses)]
        benches += [
            _institution(f"bench-night-{tag}-{i:02d}", f"Bench Night {tag} {i:02d} small", ctx.url, courses)
            for i, courses in enumerate(smalls, 1)
        ]
        return benches

    ctx.workers.ensure(args.nightly_processes)
    alone_benches = make("alone")
    print(f"(c) loadavg before the runs alone: {loadavg()}")
    alone = [_measure([b], ctx, nightly=True) for b in alone_benches]
    together_benches = make("together")
    from portal.models import Institution

    order = {
        inst.id: n
        for n, inst in enumerate(Institution.objects.filter(id__in=[b.institution.id for b in together_benches]))
    }
    together_benches.sort(key=lambda b: order[b.institution.id])  # dispatch_nightly's order
    print(f"(c) loadavg before together: {loadavg()}")
    together = _measure(together_benches, ctx, nightly=True)
    print(
        f"(c) nightly: {args.nightly_large} courses + {args.small_count} x {args.nightly_small}, "
        f"{args.nightly_processes} worker process(es) x {ctx.concurrency} children, started together in "
        f"dispatch_nightly's order (by name: the large one first)"
    )
    worst = 0.0
    for n, (a, t) in enumerate(zip(alone, together.runs, strict=True)):
        ra = a.runs[0]
        ratio = t.time / ra.time
        if n:
            worst = max(worst, ratio)
        what = "large" if n == 0 else f"small {n:2d}"
        print(
            f"      {what}: together {t.time:6.1f} s (first course claimed after {t.waited:5.2f} s), alone "
            f"{ra.time:6.1f} s (after {ra.waited:5.2f} s) -> {ratio:.2f}x{' (target <= 2x)' if n else ''}; "
            f"in flight {t.in_flight:4.1f} together, {ra.in_flight:4.1f} alone; "
            f"{t.run.get_status_display()}"
        )
    large_alone = alone[0].runs[0].time
    print(
        f"(c) every small <= 2x alone: worst {worst:.2f}x (target <= 2x); the whole {together.whole:.1f} s vs the large "
        f"alone {large_alone:.1f} s -> {together.whole / large_alone:.2f}x (target <= 1.3x)"
    )
    print(
        f"      together: {together.requests} requests, {together.throttled} throttled; CPU workers "
        f"{together.workers_cpu:.1f} s ({together.workers_cpu / together.whole:.2f} cores), simulator "
        f"{together.sim_cpu:.1f} s; machine {100 * together.machine_busy:.0f}% busy; loadavg after: {together.load}"
    )
    # However batches are dispatched, the smalls cannot all be done before their work fits on the cores:
    # the CPU they took alone (workers and simulator) over the cores is the earliest the last one can end.
    small_cpu = sum(m.workers_cpu + m.sim_cpu for m in alone[1:])
    cores = os.cpu_count() or 1
    floor = small_cpu / cores / max(m.runs[0].time for m in alone[1:]) if alone[1:] else float("nan")
    print(
        f"      CPU floor: the smalls alone took {small_cpu:.1f} CPU-s (workers + simulator); on {cores} cores the last "
        f"cannot end before {small_cpu / cores:.1f} s, so the worst small is at least {floor:.2f}x whatever the dispatch"
    )
    small_requests = max(1, sum(m.requests for m in alone[1:]))
    print(
        f"      the smalls alone, per Canvas request ({small_requests} requests): workers "
        f"{1000 * sum(m.workers_cpu for m in alone[1:]) / small_requests:.2f} ms CPU, simulator "
        f"{1000 * sum(m.sim_cpu for m in alone[1:]) / small_requests:.2f} ms CPU"
    )
    whole = together.whole / large_alone
    _target("(c) nightly: the slowest small, together / alone", f"{worst:.2f}x", worst <= 2, "<= 2x")
    _target(
        "(c) nightly: the whole / the large alone", f"{whole:.2f}x ({together.whole:.1f} s)", whole <= 1.3, "<= 1.3x"
    )


def _rows_written() -> int:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT pg_stat_clear_snapshot()")
        cur.execute(
            "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables "
            "WHERE relname LIKE 'portal_%%'"
        )
        return int(cur.fetchone()[0])


def _resync(ctx: Context, target: Bench) -> None:
    ctx.workers.ensure(1)
    time.sleep(PG_STATS_FLUSH_S)  # the first sync's writes reach the statistics before counting from here
    rows_before = _rows_written()
    m = _measure([target], ctx)
    time.sleep(PG_STATS_FLUSH_S)
    rows = _rows_written() - rows_before
    c = m.runs[0].run.counts
    print(
        f"(d) no-change re-sync: {m.whole:.1f} s, {m.requests} requests; portal rows written {rows} (target 0) "
        f"(created {c['created']}, updated {c['updated']}, deactivated {c['deactivated']}); loadavg: {m.load}"
    )
    _target("(d) no-change re-sync: portal rows written", str(rows), rows == 0, "0")


def _enrollments(inst) -> int:
    from portal.models import CourseAdminEnrollment, Enrollment

    return (
        Enrollment.objects.filter(course__institution=inst).count()
        + CourseAdminEnrollment.objects.filter(course__institution=inst).count()
    )


def _apply_rate(target: Bench) -> None:
    """Plan every course (Canvas, untimed), empty the portal, then time only the writes: `apply_plans`
    over batches of SYNC_BATCH_COURSES courses, as a batch task writes them."""
    from concurrent.futures import ThreadPoolExecutor

    from django.conf import settings

    from lms_canvas import connect
    from lms_canvas.models import CanvasConfig
    from portal.models import Course, CourseAdmin, ExamTaker
    from sync.engine import apply_plans, plan_entry
    from sync.models import SyncListEntry

    inst, conn = target.institution, target.conn
    entries = list(SyncListEntry.objects.filter(institution=inst).select_related("course", "section"))
    config = CanvasConfig.objects.get(institution=inst)
    client = connect.client_for(conn)
    with ThreadPoolExecutor(16) as pool:
        plans = list(
            pool.map(
                lambda e: plan_entry(client, config, e, account_id=conn.account_ref, server_url=conn.server_url),
                entries,
            )
        )
    Course.objects.filter(institution=inst).delete()
    ExamTaker.objects.filter(institution=inst).delete()
    CourseAdmin.objects.filter(institution=inst).delete()
    size = settings.SYNC_BATCH_COURSES
    started = time.perf_counter()
    for start in range(0, len(plans), size):
        apply_plans(plans[start : start + size], inst)
    seconds = time.perf_counter() - started
    n = _enrollments(inst)
    print(
        f"(e) apply: {n} enrollments written in {seconds:.2f} s (apply_plans only, batches of {size} courses, in "
        f"this process) -> {n / seconds:,.0f} enrollments/s (target >= 10,000); loadavg: {loadavg()}"
    )
    _target("(e) apply rate", f"{n / seconds:,.0f} enrollments/s", n / seconds >= 10_000, ">= 10,000/s")


def _baseline(ctx: Context, target: Bench, seconds: float | None) -> None:
    """Sequential canvasapi: the same reads per course, one request at a time."""
    import logging
    import warnings

    from canvasapi import Canvas
    from canvasapi.course import Course

    logging.getLogger("canvasapi").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message="Canvas may respond unexpectedly")
    canvas = Canvas(ctx.url, target.token)
    requester = canvas._Canvas__requester
    states = ["active", "invited", "creation_pending", "inactive", "completed"]
    chosen = target.course_ids[: ctx.args.baseline_sample]
    started = time.perf_counter()
    for cid in chosen:
        # /accounts/1/courses/:id (the seed's scope; canvasapi's get_course uses /courses/:id)
        course = Course(requester, requester.request("GET", f"accounts/1/courses/{cid}").json())
        list(course.get_sections(per_page=100))
        list(course.get_enrollments(state=states, per_page=100))
    per_course = (time.perf_counter() - started) / max(1, len(chosen))
    total = per_course * len(target.course_ids)
    versus = f" -> (a) is {total / seconds:.1f}x faster" if seconds else ""
    print(
        f"(f) canvasapi sequential baseline: {per_course * 1000:.0f} ms per course over {len(chosen)} courses -> "
        f"{total:.0f} s for {len(target.course_ids)} (reads only){versus}; loadavg: {loadavg()}"
    )


# -- main -------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    args = _args(argv if argv is not None else sys.argv[1:] if __name__ == "__main__" else [])
    # `timeout` or a supervisor's SIGTERM ends this process through its `finally`, which stops the workers.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    env = worker_environment(args.broker_url, args.cache_url)
    why_not = prepare_backends(args.broker_url, args.cache_url)
    if why_not:
        print(f"sync: skipped, {why_not}")
        return
    single = [p for p in args.parts if p != "c"]
    needed = max(
        args.courses if single else 0,
        args.nightly_large + args.small_count * args.nightly_small if "c" in args.parts else 0,
    )
    generated = _generated_size(needed)
    proc, url = start_simulator(generated, args.latency_ms)
    argv_worker = compose_worker_command(args.concurrency) + shlex.split(args.worker_args)
    workers = Workers(argv_worker, env, ROOT / "var" / "bench-sync")
    try:
        setup_django("bench-sync", deployed=True)
        from django.conf import settings
        from django.db import connection

        from lms_canvas import connect

        throttle = _throttle_settings(url)
        probe = _institution("bench-sync-catalogue", "Bench Sync catalogue", url, [], admin=False)
        courses = sorted(
            (c for c in connect.client_for(probe.conn).iter_account_courses(1) if c.workflow_state == "available"),
            key=lambda c: c.id,
        )
        ctx = Context(args, url, proc.pid, workers, throttle, concurrency_of(argv_worker), courses)
        print(
            f"simulator: {generated} courses generated ({len(courses)} published), {args.latency_ms} ms latency, "
            f"throttle {throttle}; DB {connection.vendor} {connection.settings_dict['NAME']}; broker "
            f"{args.broker_url}, cache and throttle gate {args.cache_url}"
        )
        print(
            f"worker process: `{' '.join(argv_worker)}` (docker-compose.yml's) -n bench-N@%h: "
            f"one main process and {ctx.concurrency} pool slots (prefork children unless --pool); SYNC_BATCH_COURSES {settings.SYNC_BATCH_COURSES}, "
            f"SYNC_BATCHES_IN_FLIGHT {settings.SYNC_BATCHES_IN_FLIGHT}; parts {','.join(args.parts)}; loadavg {loadavg()}"
        )
        target = None
        if single:
            target = _institution("bench-sync", "Bench Sync University", url, courses[: args.courses])
        first = None
        if "a" in args.parts:
            first = _first(ctx, target)
        elif {"d", "e"} & set(args.parts):
            ctx.workers.ensure(1)
            _measure([target], ctx)  # (d) re-syncs a synced institution; (e) replaces its rows
        if "d" in args.parts:
            _resync(ctx, target)
        if "b" in args.parts:
            _processes(ctx, courses[: args.courses], first)
        if "c" in args.parts:
            _nightly(ctx)
        workers.stop_all()
        if "e" in args.parts:
            _apply_rate(target)
        if "f" in args.parts:
            _baseline(ctx, target, first.whole if first else None)
        print("targets:\n" + "\n".join(_summary) + f"\n  loadavg at the end: {loadavg()}")
    except BaseException:
        if workers.running:
            print(f"worker logs (tails):\n{workers.tails()}")
        raise
    finally:
        workers.stop_all()
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
