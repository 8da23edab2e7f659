"""20 admins browsing while a sync runs: a bounded load test on loopback that stops by itself.

The Canvas simulator (300 generated courses, 20 ms latency) and the portal (gunicorn, 1 worker x 4
threads) run in their own processes on free loopback ports, over the database of DATABASE_URL
(PostgreSQL: give your own database name) or a fresh SQLite file under var/. The portal is seeded
with an institution connected to the simulator through a real OAuth round trip, a refreshed
catalogue and a sync list of every published course. A sync starts in its own process
(`manage.py canvas_sync`); meanwhile 20 threads, each its own admin with a requests.Session logged
in through the login form (CSRF and all), browse the dashboard, LMS Settings, Edit Sync Settings,
course searches, View History, the sync's run page and a department page for a fixed time.

    python -m bench load
    python -m bench.load --admins 20 --seconds 30
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_load python -m bench.load

Reports requests, errors (any status that is not 2xx or 3xx, or no answer, each listed), p50/p95/max
page time per page and overall, the sync's outcome, and the machine's load average.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

from bench.common import ROOT, connect_institution, free_port, fresh_institution, setup_django, start_simulator

PASSWORD = "load-test-password"  # noqa: S105 (a throwaway account in a throwaway database)
SEARCH_TERMS = ["law", "bio", "101", "intro", "history", "zzz-none", "2", "sci"]
REQUEST_TIMEOUT = 30
SYNC_TIMEOUT = 300
SLUG = "bench-load"


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.load")
    parser.add_argument("--admins", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the admins browse")
    parser.add_argument("--courses", type=int, default=300, help="courses the simulator generates")
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads (one worker)")
    return parser.parse_args(argv)


def _seed(sim_url: str, admins: int) -> dict:
    """An institution connected to the simulator, its catalogue refreshed, every published course listed."""
    from django.contrib.auth import get_user_model

    from lms_canvas import connect
    from lms_canvas.models import CanvasConfig
    from portal.models import Department, InstitutionAdmin
    from sync.catalog import refresh
    from sync.models import CatalogCourse, RunKind, SyncListEntry
    from sync.runs import lifecycle

    get_user_model().objects.filter(username__endswith="@load.test").delete()
    inst = fresh_institution(SLUG, "Load Test University")
    departments = [Department.objects.create(institution=inst, name=n) for n in ("Law", "Science", "Arts")]
    conn, _ = connect_institution(inst, sim_url)
    connect.load_roles(conn)
    CanvasConfig.objects.filter(institution=inst).update(course_id_type="canvas", section_id_type="canvas")
    started = time.perf_counter()
    run = refresh.run_refresh(lifecycle.create_run(inst, RunKind.REFRESH).id)
    refresh_s = time.perf_counter() - started
    courses = CatalogCourse.objects.filter(institution=inst, workflow_state="available", gone_at__isnull=True)
    SyncListEntry.objects.bulk_create(
        SyncListEntry(institution=inst, course=c, department=departments[i % len(departments)])
        for i, c in enumerate(courses.order_by("id"))
    )
    user_model = get_user_model()
    for n in range(admins):
        email = f"admin{n}@load.test"
        user = user_model.objects.create_user(username=email, email=email, password=PASSWORD)
        InstitutionAdmin.objects.create(user=user, institution=inst)
    return {
        "institution": inst,
        "departments": [d.id for d in departments],
        "refresh": f"{run.status if run else '?'} in {refresh_s:.1f} s, {CatalogCourse.objects.filter(institution=inst).count()} courses",
        "listed": SyncListEntry.objects.filter(institution=inst).count(),
    }


def _start_portal(threads: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    cmd = [str(Path(sys.executable).parent / "gunicorn"), "portal.wsgi", "--bind", f"127.0.0.1:{port}"]
    cmd += ["--workers", "1", "--threads", str(threads), "--timeout", "60", "--log-level", "warning"]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # noqa: S603
    url = f"http://127.0.0.1:{port}"
    import requests

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {proc.stderr.read()[-2000:]}")
        try:
            requests.get(f"{url}/login/", timeout=10)
            threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
            return proc, url
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError("the portal did not start within 60 s")


def _start_sync() -> subprocess.Popen:
    cmd = [sys.executable, "manage.py", "canvas_sync", "--institution", SLUG]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # noqa: S603


def _sync_run_id(timeout: float = 30) -> int:
    from sync.models import RunKind, SyncRun

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = SyncRun.objects.filter(institution__slug=SLUG, kind=RunKind.SYNC).order_by("-id").first()
        if run is not None:
            return run.id
        time.sleep(0.1)
    raise RuntimeError("the sync did not create its run within 30 s")


class Admin(threading.Thread):
    """One admin: logs in through the form, then walks the pages in turn until the time is up."""

    def __init__(self, n: int, url: str, pages: list[tuple[str, str]], until: float, results: list) -> None:
        super().__init__(daemon=True)
        self.n, self.url, self.pages, self.until, self.results = n, url, pages, until, results

    def run(self) -> None:
        import requests

        http = requests.Session()
        try:
            self._login(http)
        except Exception as exc:  # recorded as the error it is; the report lists it
            self.results.append(("login", 0.0, f"{type(exc).__name__}: {exc}"))
            return
        step = self.n  # admins start on different pages
        while time.monotonic() < self.until:
            name, path = self.pages[step % len(self.pages)]
            step += 1
            started = time.perf_counter()
            try:
                r = http.get(self.url + path, timeout=REQUEST_TIMEOUT, allow_redirects=False)
                error = "" if r.status_code < 400 else f"{r.status_code} {path}"
            except requests.RequestException as exc:
                error = f"{type(exc).__name__} {path}"
            self.results.append((name, time.perf_counter() - started, error))

    def _login(self, http) -> None:
        started = time.perf_counter()
        form = http.get(f"{self.url}/login/", timeout=REQUEST_TIMEOUT)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
        r = http.post(
            f"{self.url}/login/",
            data={"username": f"admin{self.n}@load.test", "password": PASSWORD, "csrfmiddlewaretoken": token},
            headers={"Referer": f"{self.url}/login/"},
            timeout=REQUEST_TIMEOUT,
            allow_redirects=False,
        )
        if r.status_code != 302 or "sessionid" not in http.cookies:
            raise RuntimeError(f"login answered {r.status_code}")
        self.results.append(("login", time.perf_counter() - started, ""))


def _pages(run_id: int, departments: list[int]) -> list[tuple[str, str]]:
    pages = [
        ("dashboard", "/dashboard/"),
        ("lms settings", "/admin-settings/lms/"),
        ("edit sync settings", "/admin-settings/lms/sync/"),
        ("view history", "/admin-settings/lms/history/"),
        ("run page", f"/admin-settings/lms/history/{run_id}/"),
        ("department", f"/departments/{departments[0]}/"),
    ]
    pages += [("course search", f"/admin-settings/lms/sync/courses/?q={term}") for term in SEARCH_TERMS]
    return pages


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def _report(results: list, seconds: float) -> None:
    by_page: dict[str, list[float]] = defaultdict(list)
    errors = [(name, error) for name, _, error in results if error]
    for name, elapsed, error in results:
        if not error:
            by_page[name].append(elapsed)
    print(f"requests: {len(results)} in {seconds:.0f} s ({len(results) / seconds:.1f}/s), errors: {len(errors)}")
    print(f"  {'page':<20} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    # Logging in is a password hash per admin, paid once; "all pages" is the browsing.
    every = [t for name, times in by_page.items() if name != "login" for t in times]
    for name, times in [*sorted(by_page.items()), ("all pages", every)]:
        if times:
            print(
                f"  {name:<20} {len(times):>6} {_percentile(times, 50) * 1000:>8.0f} "
                f"{_percentile(times, 95) * 1000:>8.0f} {max(times) * 1000:>8.0f}"
            )
    for name, error in errors[:50]:
        print(f"  error: {name}: {error}")
    if len(errors) > 50:
        print(f"  ... and {len(errors) - 50} more errors")


def _load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} CPUs"


def main(argv: list[str] | None = None) -> None:
    args = _args(argv if argv is not None else [])
    procs: list[subprocess.Popen] = []
    try:
        print(f"before: {_load_average()}")
        sim, sim_url = start_simulator(args.courses, args.latency_ms)
        procs.append(sim)
        setup_django("bench-load", deployed=False)
        seeded = _seed(sim_url, args.admins)
        print(f"seeded: refresh {seeded['refresh']}; {seeded['listed']} courses on the sync list")
        portal, url = _start_portal(args.threads)
        procs.append(portal)
        sync_started = time.perf_counter()
        sync = _start_sync()
        procs.append(sync)
        run_id = _sync_run_id()
        results: list = []
        until = time.monotonic() + args.seconds
        admins = [Admin(n, url, _pages(run_id, seeded["departments"]), until, results) for n in range(args.admins)]
        browse_started = time.perf_counter()
        for admin in admins:
            admin.start()
        for admin in admins:
            admin.join(timeout=args.seconds + REQUEST_TIMEOUT + 30)
        browsed = time.perf_counter() - browse_started
        load = _load_average()
        _report(results, browsed)
        try:
            out, _ = sync.communicate(timeout=SYNC_TIMEOUT)
            sync_s = time.perf_counter() - sync_started
            last = out.strip().splitlines()[-1] if out.strip() else "(no output)"
            overlap = min(browsed, sync_s) / browsed * 100
            print(f"sync: {last} ({sync_s:.1f} s; browsing overlapped the sync for {overlap:.0f}% of its time)")
        except subprocess.TimeoutExpired:
            print(f"sync: still running after {SYNC_TIMEOUT} s; stopped")
        print(f"during: {load}")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


if __name__ == "__main__":
    main(sys.argv[1:])
