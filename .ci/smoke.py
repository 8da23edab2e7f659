"""The production smoke: docker-compose.yml's commands without Docker, then the README's Production steps
over HTTPS (through a stand-in TLS proxy), as the operator, support and an institution admin take them.

    .venv/bin/python .ci/smoke.py [--skip nightly,kill] [--keep] [--courses N] [--sync-courses N]

It needs PostgreSQL and Redis on this machine (SMOKE_DATABASE_URL, default derived from DATABASE_URL or
postgres://postgres@127.0.0.1:5432/portal_smoke; SMOKE_REDIS_URL, default redis://127.0.0.1:6379; it
drops and creates the database and flushes Redis databases 6 and 7). Every process it starts is
stopped when it ends, whatever happens; on a failure it prints the tail of each process's log.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback
import zoneinfo
from pathlib import Path
from urllib.parse import urlsplit

import requests
from smoke_procs import Supervisor
from smoke_report import SmokeError, Step, poll, say, started_at
from smoke_setup import HTMX, Setup
from smoke_stack import HEARTBEAT_TIMEOUT_S, Stack
from smoke_web import Page

FINISHED = ("Succeeded", "Finished with issues")


class Smoke(Setup):
    """The second half: syncs, the nightly, a killed worker."""

    def sync_now(self, why: str, timeout: float = 180, on_progress=None, every: float = 1.0) -> dict:
        """Sync Now on View History, follow the run page's progress fragment until it ends; the run page's facts."""
        a = self.admin
        page = a.get(self.portal + "/admin-settings/lms/history/")
        page = a.submit(page, page.form(action="/admin-settings/lms/sync/now/"), "Sync Now")
        found = re.search(r"/history/(\d+)/$", urlsplit(page.url).path)
        if not found:
            raise SmokeError(f"Sync Now did not open a run page: {page.url} {page.text[:800]}")
        run_id = found.group(1)
        say(f"    {why}: run #{run_id}")
        return self.follow_run(run_id, timeout, on_progress, every)

    def follow_run(self, run_id: str, timeout: float, on_progress=None, every: float = 1.0) -> dict:
        url = f"{self.portal}/admin-settings/lms/history/{run_id}/progress/"

        def ended():
            fragment = self.admin.get(url, headers=HTMX)
            if fragment.response.headers.get("HX-Refresh") == "true":
                return True
            if on_progress is not None:
                found = re.search(r"<strong>(\d+)</strong> of (\d+) courses done", fragment.html)
                if found:
                    on_progress(int(found.group(1)), int(found.group(2)))
            return False

        poll(f"run #{run_id} ended", ended, timeout, every)
        return self.run_facts(run_id)

    def run_facts(self, run_id: str) -> dict:
        page = self.admin.get(f"{self.portal}/admin-settings/lms/history/{run_id}/")
        counts_text = page.between(r"<dt>Counts</dt><dd>(.*?)</dd>")
        counts = {name: int(n) for n, name in re.findall(r"(\d+) (\w+)", re.sub("<[^>]+>", "", counts_text))}
        facts = {
            "id": run_id,
            "status": page.between(r'data-testid="run-status">([^<]+)<'),
            "trigger": page.between(r"<dt>Trigger</dt><dd>([^<]+?)(?: by [^<]*)?</dd>"),
            "message": page.between(r'data-testid="run-message">(.*?)</p>')
            if 'data-testid="run-message"' in page.html
            else "",
            "counts": counts,
            "results": re.findall(r'<tr class="result-(\w+)">', page.html),
        }
        results = {r: facts["results"].count(r) for r in sorted(set(facts["results"]))}
        say(f"    run #{run_id}: {facts['status']} ({facts['trigger']}); counts {counts}; courses {results}")
        if facts["message"]:
            say(f"    message: {facts['message'][:300]}")
        return facts

    def first_sync(self) -> None:
        with Step("admin: View History › Sync Now, until the run page says it finished"):
            run = self.sync_now("first sync")
            if run["status"] not in FINISHED:
                raise SmokeError(f"the first sync ended {run['status']}: {run['message']}")
            if not run["counts"].get("created"):
                raise SmokeError(f"the first sync created nothing: {run['counts']}")
            if len(run["results"]) != self.listed or "applied" not in run["results"]:
                raise SmokeError(f"the first sync has {len(run['results'])} course results, not {self.listed}")
            history = self.admin.get(self.portal + "/admin-settings/lms/history/")
            history.expect(f"#{run['id']}", "Sync", run["status"])
        with Step("portal rows after the first clean sync (manage.py shell against the smoke database)"):
            self.clean_rows = self.stack.portal_rows("smoke")
            empty = [
                k for k in ("courses", "sections", "exam_takers", "enrollments") if not self.clean_rows[k]["count"]
            ]
            if empty:
                raise SmokeError(f"the first sync left no {', '.join(empty)}: {self.clean_rows}")
            made = sum(v["count"] for v in self.clean_rows.values())
            if made != run["counts"]["created"]:
                # Known: a person new to two courses that different tasks sync at once is counted twice.
                say(f"NOTE: the run counts {run['counts']['created']} created; the portal holds {made} new rows")

    def assert_rows(self, when: str) -> None:
        now = self.stack.portal_rows("smoke")
        if now != self.clean_rows:
            diff = {k: (self.clean_rows[k], now[k]) for k in now if now[k] != self.clean_rows.get(k)}
            raise SmokeError(f"{when}, the portal's rows differ from the first clean sync's: {diff}")

    # -- operations endpoints ----------------------------------------------------------------------

    def health(self) -> None:
        with Step("/healthz and /readyz answer 200 through the proxy, and compose's healthchecks pass"):
            for path in ("/healthz", "/readyz"):
                r = self.admin.session.get(self.portal + path, timeout=15)
                if r.status_code != 200:
                    raise SmokeError(f"{path} answered {r.status_code}: {r.text[:500]}")
                say(f"    {path}: {r.status_code} {' '.join(r.text.split())[:200]}")
            self.stack.healthchecks()

    # -- the nightly -------------------------------------------------------------------------------

    def nightly(self) -> None:
        hour = dt.datetime.now(zoneinfo.ZoneInfo(self.tz)).hour
        with Step(f"support: Smoke University's nightly sync hour -> {hour} (now in {self.tz})"):
            page = self.support.get(self.institution_url)
            form = page.form(has="nightly_sync_hour").set("nightly_sync_hour", str(hour))
            self.support.submit(page, form, "Save").expect("was changed successfully")
        with Step("beat starts the nightly sync at its hour; View History shows a Nightly run that finishes"):
            url = self.portal + "/admin-settings/lms/history/?trigger=nightly"
            run_id = poll("a Nightly run in View History", lambda: first_run_id(self.admin.get(url)), 150, 2)
            run = self.follow_run(run_id, 180)
            if run["trigger"] != "Nightly" or run["status"] not in FINISHED:
                raise SmokeError(f"the nightly run is {run['trigger']} / {run['status']}: {run['message']}")
            self.assert_rows("after the nightly sync")

    # -- a worker killed mid-sync ---------------------------------------------------------------------

    def kill_a_worker(self) -> None:
        victim = self.stack.workers[0]
        latency = self.args.latency_ms
        with Step(f"SIGKILL {victim.name} (its whole process group) in the middle of a sync"):
            self.stack.sim_control("faults", {"latency_ms": latency, "paths": "^/api/"})
            killed: list[tuple[int, int]] = []

            def kill_midway(done: int, total: int) -> None:
                if not killed and done >= max(2, total // 5):
                    self.stack.sup.kill(victim)
                    killed.append((done, total))
                    say(f"    killed {victim.name} at {done} of {total} courses done")
                    self.stack.sim_control("faults", {})

            timeout = 3 * HEARTBEAT_TIMEOUT_S + 120
            run = self.sync_now(f"sync with {latency} ms Canvas latency", timeout, kill_midway, every=0.25)
            self.stack.sim_control("faults", {})
            if not killed:
                raise SmokeError("the sync ended before a worker could be killed; raise --latency-ms or --sync-courses")
            if run["status"] == "Failed":
                if "worker" not in run["message"].lower():
                    raise SmokeError(f"the run failed without naming the worker: {run['message']}")
                if not sum(run["counts"].values()):
                    raise SmokeError(f"the failed run lost the counts of the courses that finished: {run['counts']}")
            elif run["status"] not in FINISHED:
                raise SmokeError(f"after the kill the run ended {run['status']}: {run['message']}")
            self.assert_rows("right after the killed sync (nothing synced before may be lost)")
        with Step(f"{victim.name} back (compose's restart policy), Sync Now again: the same rows as the clean sync"):
            self.stack.restart_worker(1)
            run = self.sync_now("sync after the kill")
            if run["status"] not in FINISHED:
                raise SmokeError(f"the sync after the kill ended {run['status']}: {run['message']}")
            self.assert_rows("after the sync that followed the kill")


def first_run_id(history: Page) -> str | None:
    found = re.search(r'href="/admin-settings/lms/history/(\d+)/"', history.html)
    return found.group(1) if found else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--courses", type=int, default=200, help="courses the simulator generates")
    parser.add_argument("--sync-courses", type=int, default=40, help="courses put on the sync list")
    parser.add_argument(
        "--latency-ms",
        type=int,
        default=1000,
        help="Canvas latency during the killed sync (long enough to kill it midway)",
    )
    parser.add_argument("--skip", default="", help="comma-separated: nightly, kill")
    parser.add_argument("--keep", action="store_true", help="keep the logs, static files, database and Redis data")
    args = parser.parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}

    work = Path(tempfile.mkdtemp(prefix="portal-smoke-"))
    (work / "logs").mkdir()
    sup = Supervisor(work / "app", work / "logs")  # the image's /app, which the stack builds first
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ok = False
    stack = Stack(sup, work, args.courses)
    try:
        smoke = Smoke(args, stack)
        say(f"production smoke: portal {stack.portal} (gunicorn on http://127.0.0.1:{stack.port}), Canvas {stack.sim}")
        stack.start()
        smoke.production_settings()
        smoke.first_support_login()
        smoke.create_institution()
        smoke.admin_connects()
        smoke.refresh_and_choose()
        smoke.first_sync()
        smoke.health()
        for name, step in (("nightly", smoke.nightly), ("kill", smoke.kill_a_worker)):
            if name in skip:
                say(f"NOTE: --skip {name}: not run")
            else:
                step()
        ok = True
    except (SmokeError, RuntimeError, TimeoutError, ValueError, requests.RequestException) as exc:
        say(f"SMOKE FAILED: {exc}")
    except KeyboardInterrupt:
        say("interrupted")
    except Exception:  # noqa: BLE001 - a bug in the smoke itself: still stop everything and show the logs
        traceback.print_exc()
    finally:
        if not ok:
            for proc in (p for p in sup.procs if p.service):
                state = "running" if proc.alive() else f"exited {proc.popen.returncode}"
                print(f"\n----- {proc.name} ({state}): {' '.join(proc.argv)}\n{proc.tail()}", flush=True)
        sup.stop_all()
        if args.keep or not ok:
            say(f"logs kept in {work / 'logs'}; the database and Redis databases left as they are")
        else:
            shutil.rmtree(work, ignore_errors=True)
            stack.clean_up()
    say(f"production smoke {'passed' if ok else 'FAILED'} in {time.monotonic() - started_at:.0f}s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
