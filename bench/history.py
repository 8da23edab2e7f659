"""History that scales (issue 18), on the product path: nightly syncs of one institution by real
`celery -A portal worker` processes (docker-compose.yml's command) against the simulator in its own
process, with about `--change-share` of the enrollments changing between nights (through the
simulator's /_sim/mutate: each night the previous night's changes are undone and as many new
enrollments go inactive, half of the share each).

    (a) rows and bytes the history tables (runs, course results, issues, month totals) grow by per
        night: after the first night, proportional to what changed, not to the size of the roster; and
        what the night's rows are (new problems by reason, problems resolved, why each course result
        was kept). Bytes are measured after a plain VACUUM of those tables each night (never FULL), as
        production's autovacuum would have run: this server runs with autovacuum off, production's
        PostgreSQL (docker-compose.yml's image, default configuration) with it on
    (b) the Open problems page and the last run's page under `--admins` concurrent admins (gunicorn,
        each admin with their own session): p50 / p95 (target p95 < 300 ms) and the server's CPU a
        request; the history tables are ANALYZEd first, as production's autovacuum would have
    (c) the retention task (sync.runs.retention) on a year of runs: the last night copied to each day
        of the `--year-days` before it (with its course results), some problems resolved long ago

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench python -m bench history
    python -m bench.history --courses 3000 --nights 30 --admins 20            # the issue's size
    python -m bench.history --courses 40 --nights 3 --admins 4 --requests 40   # a quick look
    python -m bench.history --pages-only --admins 20   # (b) again on the database an earlier run left

Full size (3,000 courses, 30 nights, 20 admins; 2026-12-01, 41 min on 2 cores shared with other
sessions, loadavg 7-25 during the nights, 5-6.5 during the pages), after issue 18's fold:
    (a) night 1 +40,897 rows (3,000 results, 37,896 problems); nights 2-30 +751 rows a night (about
        250 course results, 500 problems, the run) for 1,062 enrollment changes, +2.99 MB a night with
        this server's autovacuum off (each night's 3,000 results written, updated and ~2,750 deleted
        stay as dead tuples); live rows about 0.3 MB a night (478 B a problem, 272 B a result)
    (b) MISSED: Open problems p50 1,953 / p95 2,538 ms, run page p50 1,391 / p95 1,576 ms (one
        request alone: 128 ms and 212 ms, mostly template rendering of 38 and 115 kB)
    (c) retention on 425 runs: 0.71 s (31 runs and 7,042 problems removed)
(b) again after the pages' caches and the course table's pages (2026-12-01, 3,000 courses, 3 nights:
the open problems are night 1's and each later night changes as much as night 30 does; then
--pages-only, twice): Open problems p50 205-227 / p95 235-299 ms at 16.6-18.7 ms of server CPU
a request (met, barely), run page p50 268 / p95 314-318 ms at 22.5-22.8 ms (MISSED by ~15 ms);
loadavg 0.5-2; before, on the same data, p95 2,448 and 2,445 ms.
(b) after fewer round trips and finer cache keys (2026-12-02, 3,000 courses, 3 nights, then --pages-only
twice under the exclusive machine lock, loadavg 0.1-0.6): Open problems p50 80-102 / p95 106-173 ms at
6.6-8.2 ms of server CPU a request, run page p50 105-116 / p95 126-144 ms at 8.9-9.8 ms (met); main
at 5eea69b on a 3,000-course / 4-night database, same lock, loadavg 5.5-5.9: p95 380 and 293 ms at
11.8 and 14.0 ms. Nights 2-3 of that run: +731 / +738 rows, +2,160 / +2,184 kB (the table space
deleted rows left free is reused: a fresh database grew 3.9-5.2 MB a night).
(a) and (c) with the nightly VACUUM (2026-12-02, on a fresh database, 14:11-14:55 UTC under nice -n 10 and
without the machine lock: rows and bytes do not depend on timing; loadavg 11-21 from other sessions):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_hist18b nice -n 10 python -m bench.history \
        --courses 3000 --nights 30 --admins 2 --requests 20    # (b) here ignored: see the next paragraph
    (a) night 1 +40,897 rows (3,000 results, 37,896 problems), +29.1 MB. Nights 2-30 +751 rows a night
        (246 course results, 504 problems, the run) for 1,062 enrollment changes, every one a change of
        that night: the problems are the enrollments made inactive that night (inactive_enrollment, one
        each, and on nights 14, 22 and 28 a roster_shrink_held for a small course the roster guard held);
        the ones made active again resolve their open item in place (about 500 a night, no new row); every
        kept result had people created / updated / deactivated / held but three, on the nights after the
        holds: the held course, nothing left to change, its held roster resolved.
        Bytes after VACUUM: 961 kB a night over nights 2-30, 886 kB over nights 4-30 (704-2,088 kB; nights
        2-3 have no free space yet, and a table or index grows by a larger step now and then). Of a night:
        course results ~590 kB (heap ~140; indexes ~450: each night's 3,000 work-queue rows put an entry in
        each of the table's 8 indexes and 2,750 are deleted, and VACUUM frees a btree page only once it is
        empty, which the 250 kept rows spread over them prevent), issues ~330 kB (heap ~260, indexes ~70).
    (c) retention on 425 runs (109,685 course results, 52,504 issues): 0.20 s; 31 runs (7,812 course
        results) and 7,038 problems resolved over 90 days ago removed, 2 month totals kept.
    (b) then on that database (night 30's run, after (c)'s year of runs), twice under the exclusive machine
        lock (14:58:50-14:59:07 UTC, loadavg 6.4 -> 5.5, the 1-minute figure still counting the lock's
        previous holder): `python -m bench.history --pages-only --admins 20`: Open problems p50 67 / 71,
        p95 77 / 93 ms at 5.5 / 6.0 ms of server CPU a request; run page p50 83 / 75, p95 100 / 97 ms at
        7.1 / 6.5 ms (met).
(a) and (c) after the kept results are rewritten after the work queue and course results lose 3 indexes
(40c13b4), then after problem rows stop copying their reason's sentence and fix (2d3db10); 2026-12-02,
fresh databases, under nice -n 19 without the machine lock (rows and bytes do not depend on timing;
loadavg 6-23 from helpers' suites and benchmarks):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_hist18c nice -n 19 python -m bench.history \
        --courses 3000 --nights 30 --admins 2 --requests 20                              # at 40c13b4
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_hist18d nice -n 19 python -m bench.history \
        --courses 3000 --nights 12 --admins 2 --requests 20 \
        --broker-url redis://127.0.0.1:6379/10 --cache-url redis://127.0.0.1:6379/11    # at 2d3db10
    (a) rows as before (nights 2-30: 751 a night, 731-776; every one a change of that night). Bytes after
        VACUUM, nights 2-30 at 40c13b4: 701 kB a night (655 over nights 4-30; was 961 and 886); nights 2-12 at
        2d3db10: 608 kB (452 over nights 4-12, 344-688): a problem row is 205 bytes, not 465. The rows
        themselves are ~170 kB of heap a night (500 problems of 205 bytes, 250 results of 271), their
        index entries about as much; the rest is btree pages not yet reusable: PostgreSQL 15 reuses a
        deleted index page only once no transaction anywhere on the server is older than its deletion,
        and this server ran other suites the whole time.
    (c) retention on 425 runs: 0.19 s (40c13b4); on 407 runs: 0.06 s (2d3db10).
    (b) then on the 2d3db10 database, under the exclusive machine lock (loadavg 0.3-0.7):
        `python -m bench.history --pages-only --admins 20`: Open problems p50 66 / p95 79 ms at 5.4 ms of
        server CPU a request, run page p50 80 / p95 94 ms at 6.8 ms (met).
Server CPU is gunicorn's and its PostgreSQL backends' (/proc), over the requests; the 20 admins'
client threads share the same 2 cores.

It needs PostgreSQL (DATABASE_URL; created if missing) and Redis; it flushes its two Redis databases
(--broker-url, --cache-url) first and stops its workers and gunicorn whatever happens. Logs:
var/bench-history/.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from bench.common import ROOT, setup_django, start_simulator
from bench.workers import Workers, compose_worker_command, cpu_seconds, loadavg, prepare_backends, worker_environment

LOGS = ROOT / "var" / "bench-history"
TABLES = ("sync_syncrun", "sync_synccourseresult", "sync_syncissue", "sync_syncmonthtotal")
RUN_TIMEOUT_S = 1800
_summary: list[str] = []


def _env(name: str, default: object) -> str:
    return os.environ.get(f"BENCH_HISTORY_{name}", str(default))


def _args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.history", description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--courses", type=int, default=int(_env("COURSES", 3000)), help="courses on the sync list")
    add("--nights", type=int, default=int(_env("NIGHTS", 30)), help="nightly syncs")
    add("--change-share", type=float, default=float(_env("CHANGE_SHARE", 0.01)), help="enrollments changed a night")
    add("--admins", type=int, default=int(_env("ADMINS", 20)), help="(b) concurrent admins")
    add("--requests", type=int, default=int(_env("REQUESTS", 400)), help="(b) requests in all, per page")
    add("--year-days", type=int, default=int(_env("YEAR_DAYS", 395)), help="(c) days of runs made for retention")
    add("--pages-only", action="store_true", help="only (b), on the institution an earlier run left in DATABASE_URL")
    add("--latency-ms", type=int, default=int(_env("LATENCY_MS", 50)))
    add("--broker-url", default=_env("BROKER_URL", "redis://127.0.0.1:6379/12"), help="flushed first")
    add("--cache-url", default=_env("CACHE_URL", "redis://127.0.0.1:6379/13"), help="cache + throttle; flushed")
    return parser.parse_args(argv)


def _target(label: str, figure: str, met: bool, target: str) -> None:
    _summary.append(f"  {'met   ' if met else 'MISSED'} {label}: {figure} (target {target})")


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))] if ordered else float("nan")


def _tables() -> dict[str, tuple[int, int]]:
    """Rows and bytes (with indexes and TOAST) of each history table."""
    from django.db import connection

    with connection.cursor() as cur:
        sizes = {}
        for table in TABLES:
            cur.execute(f"SELECT count(*), pg_total_relation_size('{table}') FROM {table}")  # noqa: S608 - our names
            sizes[table] = cur.fetchone()
    return sizes


def _vacuum() -> None:
    """What production's autovacuum does after a night: mark the space of the rows the night deleted
    (the quiet courses' results, folded at the end of the run) free for the next night's. This server
    runs with autovacuum off (`SHOW autovacuum`), production's PostgreSQL (docker-compose.yml's image,
    its default configuration) with it on; without this, bytes a night measure dead tuples production
    never keeps. Plain VACUUM: it returns no space to the OS, as autovacuum does not."""
    from django.db import connection

    with connection.cursor() as cur:
        for table in TABLES:
            cur.execute(f"VACUUM {table}")


def _growth(before: dict, after: dict) -> tuple[int, int, str]:
    rows = sum(after[t][0] - before[t][0] for t in TABLES)
    size = sum(after[t][1] - before[t][1] for t in TABLES)
    parts = ", ".join(f"{t.removeprefix('sync_sync')} +{after[t][0] - before[t][0]}" for t in TABLES)
    return rows, size, parts


def _what(run) -> str:
    """What the night's new rows are: its new problems by reason, the problems it resolved, and why each
    course result it kept was kept (something in the course changed, or only its problems did)."""
    from django.db.models import Count, Q

    from sync.models import SyncCourseResult, SyncIssue

    new = SyncIssue.objects.filter(run_id=run.id).values_list("code").annotate(n=Count("id")).order_by("code")
    resolved = SyncIssue.objects.filter(resolved_run_id=run.id).count()
    kept = SyncCourseResult.objects.filter(run_id=run.id)
    changes = Q(counts__created__gt=0) | Q(counts__updated__gt=0) | Q(counts__deactivated__gt=0) | Q(counts__held__gt=0)
    changed = kept.filter(changes).count()
    not_applied = kept.exclude(status="applied").exclude(changes).count()
    rest = kept.count() - changed - not_applied
    return (f"new problems {', '.join(f'{code} {n}' for code, n in new) or 'none'}, {resolved} resolved; course "
            f"results kept: {changed} with people changed, {not_applied} not applied, {rest} for their problems "
            f"alone; {run.quiet_courses} folded")  # fmt: skip


def _night(institution) -> object:
    """One nightly sync as beat's dispatcher starts it, waited for."""
    from sync.engine import start_sync
    from sync.models import ACTIVE_STATUSES, RunTrigger, SyncRun

    run = start_sync(institution, trigger=RunTrigger.NIGHTLY)
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while SyncRun.objects.filter(id=run.id, status__in=ACTIVE_STATUSES).exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"run {run.id} still active after {RUN_TIMEOUT_S} s")
        time.sleep(0.1)
    run.refresh_from_db()
    return run


def _students(sim: str, token: str, course_ids: list[int]) -> list[int]:
    """Enrollment ids of the courses' active students, read from the simulator's API."""
    from bench.live import _students as students_of

    return [e for cid in course_ids for e in students_of(sim, token, cid).values()]


def _mutate(sim: str, ids: list[int], state: str) -> None:
    for start in range(0, len(ids), 500):
        rows = [{"id": i, "enrollment_state": state} for i in ids[start : start + 500]]
        requests.post(f"{sim}/_sim/mutate", json={"upsert": {"enrollments": rows}}, timeout=60).raise_for_status()


# -- (b) pages under concurrent admins -------------------------------------------------------------------


def _sessions(institution, count: int) -> list[str]:
    """`count` admins of the institution, each signed in: their session cookies."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from portal.models import InstitutionAdmin

    cookies = []
    for n in range(count):
        email = f"history-admin-{n}@bench.test"
        user, _ = get_user_model().objects.get_or_create(username=email, defaults={"email": email})
        InstitutionAdmin.objects.get_or_create(user=user, institution=institution)
        client = Client()
        client.force_login(user)
        cookies.append(f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}")
    return cookies


def _load(portal: str, path: str, cookies: list[str], total: int) -> tuple[list[float], int, list[str]]:
    """`total` GETs of `path`, from len(cookies) admins at once: latencies (ms), failures and their answers."""
    times: list[float] = []
    answers: dict[str, None] = {}
    failed = [0]
    lock = threading.Lock()
    per_admin = max(1, total // len(cookies))

    def admin(cookie: str) -> None:
        http = requests.Session()
        http.headers.update({"Cookie": cookie})
        for _ in range(per_admin):
            started = time.perf_counter()
            r = http.get(f"{portal}{path}", timeout=60, allow_redirects=False)
            took = 1000 * (time.perf_counter() - started)
            with lock:
                times.append(took)
                if r.status_code != 200:
                    failed[0] += 1
                    answers.setdefault(f"{r.status_code} {r.headers.get('Location', '')}".strip(), None)

    threads = [threading.Thread(target=admin, args=(c,)) for c in cookies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times, failed[0], list(answers)


def _cpu_all() -> dict[int, float]:
    """Each process's CPU seconds so far (the server's processes are known only after the load)."""
    return {int(proc.name): cpu_seconds(int(proc.name)) for proc in Path("/proc").glob("[0-9]*")}


def _server_pids(web_pid: int) -> set[int]:
    """gunicorn's processes (its session) and the PostgreSQL backends of this database but ours."""
    from django.db import connection

    pids = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[2]) == web_pid:  # process group
                pids.add(int(stat.parent.name))
        except (OSError, ValueError):
            continue
    with connection.cursor() as cur:
        cur.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        pids |= {pid for (pid,) in cur.fetchall()}
    return pids


def _pages(args: argparse.Namespace, env: dict, institution, run) -> None:
    from django.db import connection
    from django.urls import reverse

    from bench.live import _start_web, _stop

    # Production's autovacuum analyses the tables the nights grew; this server's is off, and without
    # statistics the planner sorts every open problem for a page of them.
    with connection.cursor() as cur:
        for table in (*TABLES, "sync_catalogcourse"):
            cur.execute(f"ANALYZE {table}")
    cookies = _sessions(institution, args.admins)
    # As the image does (Dockerfile): DEBUG off serves the collected files through their manifest.
    env = {**env, "STATIC_ROOT": str(LOGS / "static")}
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)  # noqa: S603
    web, portal = _start_web(env)
    try:
        for label, path in (
            ("Open problems", reverse("sync-problems")),
            (f"run page (Sync #{run.id})", reverse("sync-run", args=[run.id])),
        ):
            _load(portal, path, cookies[:3], 6)  # warm each gunicorn worker's imports and caches
            before = _cpu_all()
            times, failed, answers = _load(portal, path, cookies, args.requests)
            after, server = _cpu_all(), _server_pids(web.pid)
            cpu_ms = sum(after[p] - before.get(p, 0) for p in server if p in after) * 1000 / len(times)
            p50, p95 = _percentile(times, 0.5), _percentile(times, 0.95)
            print(f"(b) {label}: {len(times)} requests from {len(cookies)} admins, {failed} not 200; "
                  f"p50 {p50:.0f} ms, p95 {p95:.0f} ms; server CPU {cpu_ms:.1f} ms a request (gunicorn and its "
                  f"PostgreSQL backends){'; answered ' + ', '.join(answers) if answers else ''}; "
                  f"loadavg {loadavg()}")  # fmt: skip
            _target(f"(b) {label} p95, {len(cookies)} admins", f"{p95:.0f} ms", p95 < 300 and not failed, "< 300 ms")
    finally:
        _stop(web)


# -- (c) retention on a year of runs -----------------------------------------------------------------------


def _a_year_of_runs(institution, days: int) -> None:
    """Each day of the last `days` a copy of the institution's last run with its course results (the
    oldest first, so ids grow with time as they do in production); half the resolved problems
    resolved 100 days ago."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT max(id) FROM sync_syncrun WHERE institution_id = %s", [institution.id])
        runs = [cur.fetchone()[0]]  # the last night, once a day: a nightly sync a day for a year
        for day in range(days, 0, -1):
            for run_id in runs:
                cur.execute(
                    """INSERT INTO sync_syncrun (institution_id, kind, trigger, requested_by_id, status, phase, done,
                         total, counts, params, message, cancel_requested, batch_count, batches_sent, quiet_courses,
                         created_at, started_at, finished_at, heartbeat_at)
                       SELECT institution_id, kind, trigger, requested_by_id, status, phase, done, total, counts, params,
                         message, cancel_requested, batch_count, batches_sent, quiet_courses,
                         created_at - %s * interval '1 day',
                         started_at - %s * interval '1 day', finished_at - %s * interval '1 day', NULL
                       FROM sync_syncrun WHERE id = %s RETURNING id""",
                    [day, day, day, run_id],
                )
                copy = cur.fetchone()[0]
                cur.execute(
                    """INSERT INTO sync_synccourseresult (run_id, entry_id, canvas_course_id, canvas_section_id, label,
                         batch, status, counts, message, details, claimed_at, finished_at, approved_by_id)
                       SELECT %s, entry_id, canvas_course_id, canvas_section_id, label, batch, status, counts, message,
                         details, claimed_at, finished_at, approved_by_id FROM sync_synccourseresult WHERE run_id = %s""",
                    [copy, run_id],
                )
        cur.execute(
            """UPDATE sync_syncissue SET resolved_at = now() - interval '100 days'
               WHERE institution_id = %s AND resolved_at IS NOT NULL AND id %% 2 = 0""",
            [institution.id],
        )


def _retention(args: argparse.Namespace, institution) -> None:
    from sync.runs.retention import remove_old_history

    started = time.perf_counter()
    _a_year_of_runs(institution, args.year_days)
    made = time.perf_counter() - started
    before = _tables()
    started = time.perf_counter()
    removed = remove_old_history()
    took = time.perf_counter() - started
    after = _tables()
    print(f"(c) a year of runs made in {made:.1f} s: {before['sync_syncrun'][0]} runs, "
          f"{before['sync_synccourseresult'][0]} course results, {before['sync_syncissue'][0]} issues")  # fmt: skip
    print(f"(c) retention: {took:.2f} s; removed {removed.runs} runs "
          f"({before['sync_synccourseresult'][0] - after['sync_synccourseresult'][0]} course results) and "
          f"{removed.problems} problems resolved over 90 days ago; {after['sync_syncmonthtotal'][0]} month totals")  # fmt: skip
    _summary.append(f"  (c) retention on {before['sync_syncrun'][0]} runs: {took:.2f} s, {removed.runs} runs removed")


# -- the nights ------------------------------------------------------------------------------------------


def _nights(args: argparse.Namespace, sim: str, bench) -> object:
    from portal.models import Enrollment

    first_before = _tables()
    run = _night(bench.institution)
    unvacuumed = _tables()
    _vacuum()
    rows, size, parts = _growth(first_before, _tables())
    enrollments = Enrollment.objects.filter(course__institution=bench.institution).count()
    print(
        "history: after each night the history tables are VACUUMed (plain), as production's autovacuum would: "
        "this server runs with autovacuum off, production's PostgreSQL (docker-compose.yml's image) with it on"
    )
    print(f"night 1: {run.get_status_display()} {run.counts}; history +{rows} rows, +{size / 1024:.0f} kB after VACUUM "
          f"(+{_growth(first_before, unvacuumed)[1] / 1024:.0f} kB before) ({parts}); {enrollments} enrollments in "
          f"the portal; {_what(run)}")  # fmt: skip
    rng = random.Random(18)
    # The changes come from a sample of the courses (reading every roster back from Canvas would cost
    # more than the nights): a tenth of them, a fifth of whose students change each night at 1%.
    sample = rng.sample(bench.course_ids, max(1, len(bench.course_ids) // 10))
    students = _students(sim, bench.token, sample)
    per_night = max(1, round(enrollments * args.change_share / 2))
    changed: list[int] = []
    growth = []
    for night in range(2, args.nights + 1):
        _mutate(sim, changed, "active")
        changed = rng.sample(students, min(per_night, len(students)))
        _mutate(sim, changed, "inactive")
        before = _tables()
        run = _night(bench.institution)
        unvacuumed = _tables()
        _vacuum()
        rows, size, parts = _growth(before, _tables())
        growth.append((rows, size))
        print(f"night {night}: {len(changed)} enrollments went inactive, as many back; {run.get_status_display()} "
              f"{run.counts}; history +{rows} rows, +{size / 1024:.0f} kB after VACUUM "
              f"(+{_growth(before, unvacuumed)[1] / 1024:.0f} kB before) ({parts}); {_what(run)}")  # fmt: skip
    if growth:
        mean_rows = sum(g[0] for g in growth) / len(growth)
        mean_kb = sum(g[1] for g in growth) / len(growth) / 1024
        changes = 2 * per_night
        _target(
            f"(a) history growth a night, {changes} enrollment changes of {enrollments}",
            f"{mean_rows:.0f} rows, {mean_kb:.0f} kB (VACUUMed, as autovacuum would)",
            mean_rows <= 3 * changes + 10,
            "proportional to what changed: <= 3 rows a change (its issue, its course's result) + the run",
        )
    return run


def _pages_only(args: argparse.Namespace, env: dict) -> None:
    """(b) alone, on the institution and the last night an earlier run of this bench left in the database."""
    setup_django("bench-history", deployed=True)
    from portal.models import Institution
    from sync.models import RunKind, SyncRun

    institution = Institution.objects.get(slug="bench-history")
    # (c) copies the last night to earlier days with higher ids: the last night is the newest by date.
    run = SyncRun.objects.filter(institution=institution, kind=RunKind.SYNC).latest("created_at")
    print(f"history --pages-only: {institution.name}, last night Sync #{run.id}; loadavg {loadavg()}")
    _pages(args, env, institution, run)
    print("history: targets\n" + "\n".join(_summary))


def main(argv: list[str] | None = None) -> None:
    args = _args(argv if argv is not None else sys.argv[1:] if __name__ == "__main__" else [])
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    env = worker_environment(args.broker_url, args.cache_url)
    why_not = prepare_backends(args.broker_url, args.cache_url)
    if why_not:
        print(f"history: skipped, {why_not}")
        return
    if args.pages_only:
        _pages_only(args, env)
        return
    from bench.sync import _generated_size, _institution

    sim_proc, sim = start_simulator(_generated_size(args.courses), args.latency_ms)
    workers = Workers(compose_worker_command(), env, LOGS)
    try:
        setup_django("bench-history", deployed=True)
        from lms_canvas import connect

        probe = _institution("bench-history-catalogue", "Bench History catalogue", sim, [], admin=False)
        published = sorted(
            (c for c in connect.client_for(probe.conn).iter_account_courses(1) if c.workflow_state == "available"),
            key=lambda c: c.id,
        )[: args.courses]
        bench = _institution("bench-history", "Bench History", sim, published)
        workers.ensure(1)
        print(f"history: {len(published)} courses, {args.nights} nights, {args.change_share:.1%} changing a night; "
              f"loadavg {loadavg()}")  # fmt: skip
        run = _nights(args, sim, bench)
        _pages(args, env, bench.institution, run)
        _retention(args, bench.institution)
    finally:
        workers.stop_all()
        sim_proc.terminate()
        sim_proc.wait(timeout=20)
    print("history: targets\n" + "\n".join(_summary))


if __name__ == "__main__":
    main()
