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
import json
import os
import re
import secrets
import shutil
import signal
import sys
import tempfile
import time
import traceback
import zoneinfo
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests
from smoke_procs import Supervisor, compose_services, free_port, read_dockerfile, wait_for_port
from smoke_web import Browser, Page, SmokeError

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # the venv's bin: python, gunicorn and celery resolve here first
REDIS_DBS = {"0": "6", "1": "7"}  # compose's broker and cache databases -> ones the tests never use
HEARTBEAT_TIMEOUT_S = 20  # RUN_HEARTBEAT_TIMEOUT_SECONDS for every process: a dead worker is noticed fast
FINISHED = ("Succeeded", "Finished with issues")
SUPPORT = "support@smoke.test"
ADMIN = "admin@smoke.test"
DEPARTMENTS = ["School of Law", "Undergraduate Studies"]

started_at = time.monotonic()


def say(message: str) -> None:
    print(f"[{time.monotonic() - started_at:6.1f}s] {message}", flush=True)


class Step:
    def __init__(self, title: str) -> None:
        self.title = title

    def __enter__(self) -> Step:
        self.t0 = time.monotonic()
        say(f"{self.title} ...")
        return self

    def __exit__(self, kind, exc, tb) -> None:
        took = time.monotonic() - self.t0
        if kind is None:
            say(f"    ok ({took:.1f}s)")
        else:
            say(f"    FAILED after {took:.1f}s")


def poll(what: str, check, timeout: float, every: float = 1.0):
    """Call `check` until it returns something truthy; SmokeError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise SmokeError(f"{what}: still not after {timeout:.0f}s")
        time.sleep(every)


# -- the machine: database, Redis, environment --------------------------------------------------------


def database_url() -> str:
    if url := os.environ.get("SMOKE_DATABASE_URL"):
        return url
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        base = "postgres://postgres@127.0.0.1:5432/portal"
    return urlunsplit(urlsplit(base)._replace(path="/portal_smoke"))


def fresh_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        db.execute(f'CREATE DATABASE "{name}"')


def fresh_redis(base: str) -> None:
    import redis

    for db in REDIS_DBS.values():
        redis.Redis.from_url(f"{base}/{db}").flushdb()


def dotenv_values(port: int) -> dict[str, str]:
    """What README's Production section has the operator write in `.env`, for this machine."""
    from cryptography.fernet import Fernet

    site = f"https://127.0.0.1:{port}"
    return {
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "CSRF_TRUSTED_ORIGINS": site,
        "SITE_URL": site,
        "POSTGRES_PASSWORD": secrets.token_urlsafe(16),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        # The Canvas here is the simulator on loopback; a real deployment leaves this false.
        "CANVAS_ALLOW_PRIVATE_URLS": "true",
    }


def localize(env: dict[str, str], db_url: str, redis_base: str, static_root: Path) -> dict[str, str]:
    """Compose's environment with the addresses that exist only in compose's network pointed here."""
    env = dict(env)
    compose_db = urlsplit(env["DATABASE_URL"])
    if compose_db.hostname != "postgres":
        raise SmokeError(f"docker-compose.yml's DATABASE_URL is not on the postgres service: {env['DATABASE_URL']}")
    env["DATABASE_URL"] = db_url
    for key in ("CELERY_BROKER_URL", "REDIS_URL"):
        found = re.fullmatch(r"redis://redis:6379/(\d+)", env[key])
        if not found or found.group(1) not in REDIS_DBS:
            raise SmokeError(f"docker-compose.yml's {key} is not a database of the redis service: {env[key]}")
        env[key] = f"{redis_base}/{REDIS_DBS[found.group(1)]}"
    env["STATIC_ROOT"] = str(static_root)  # the image's /app/staticfiles, here a temporary directory
    env["RUN_HEARTBEAT_TIMEOUT_SECONDS"] = str(HEARTBEAT_TIMEOUT_S)
    return env


def base_env(dockerfile_env: dict[str, str]) -> dict[str, str]:
    path = f"{BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}"
    keep = {k: os.environ[k] for k in ("HOME", "LANG", "TMPDIR") if k in os.environ}
    return {**keep, **dockerfile_env, "PATH": path}


# -- the smoke -----------------------------------------------------------------------------------------


class Smoke:
    def __init__(self, args: argparse.Namespace, sup: Supervisor, work: Path) -> None:
        self.args = args
        self.sup = sup
        self.work = work
        self.port = free_port()
        self.sim_port = free_port()
        while self.sim_port == self.port:
            self.sim_port = free_port()
        self.portal = f"https://127.0.0.1:{self.port}"
        self.sim = f"http://127.0.0.1:{self.sim_port}"
        self.support_password = secrets.token_urlsafe(18)
        self.admin_password = secrets.token_urlsafe(18)
        self.tz = pick_timezone()

    # 1. the processes, as compose and the Dockerfile give them -----------------------------------

    def build_and_start(self) -> None:
        docker = read_dockerfile(ROOT / "Dockerfile")
        services = compose_services(ROOT / "docker-compose.yml", dotenv_values(self.port))
        db_url, redis_base = database_url(), os.environ.get("SMOKE_REDIS_URL", "redis://127.0.0.1:6379")
        static_root = self.work / "staticfiles"
        base = base_env(docker.env)
        self.envs = {
            name: {**base, **localize(service.environment, db_url, redis_base, static_root)}
            for name, service in services.items()
        }
        self.env = self.envs["web"]  # manage.py commands run as `docker compose exec web ...` would

        with Step(f"Dockerfile build step, DEBUG off: {docker.collectstatic}"):
            out = self.sup.run(
                "collectstatic", ["sh", "-c", docker.collectstatic], {**base, "STATIC_ROOT": str(static_root)}
            )
            if not (static_root / "staticfiles.json").exists():
                raise SmokeError(f"collectstatic wrote no manifest in {static_root}:\n{out[-2000:]}")

        with Step(
            f"fresh PostgreSQL database {urlsplit(db_url).path[1:]}, Redis databases {', '.join(REDIS_DBS.values())}"
        ):
            fresh_database(db_url)
            fresh_redis(redis_base)

        web = services["web"]
        command = [arg.replace("0.0.0.0:8000", f"127.0.0.1:{self.port}") for arg in web.command]
        if command == web.command:
            raise SmokeError(f"the web command binds no 0.0.0.0:8000 to replace: {web.command}")
        with Step(f"web: {' '.join(command)}"):
            self.web = self.sup.start("web", command, self.env)
            wait_for_port(self.port, 120, self.web.alive)
            say(f"    gunicorn: {self.web_workers()} worker processes, as compose's --workers")

        self.worker_command = services["worker"].command
        self.services = services
        with Step(f"2 workers ({' '.join(self.worker_command)} -n celery@smoke-worker-N), beat, the Canvas simulator"):
            self.workers = [self.start_worker(n) for n in (1, 2)]
            self.beat = self.sup.start("beat", services["beat"].command, self.envs["beat"])
            sim_cmd = ["python", "-m", "lms_canvas.simulator", "serve", "--generate", str(self.args.courses)]
            sim_cmd += ["--port", str(self.sim_port), "--control"]
            self.simulator = self.sup.start("simulator", sim_cmd, base)
            wait_for_port(self.sim_port, 60, self.simulator.alive)
            for worker in self.workers:
                poll(f"{worker.name} ready", lambda w=worker: " ready." in w.log.read_text(errors="replace"), 60, 0.3)
            poll("beat started", lambda: "beat: Starting" in self.beat.log.read_text(errors="replace"), 30, 0.3)

    def start_worker(self, n: int):
        """A worker named as in its own container (celery@<hostname>): two on one host need distinct names."""
        argv = [*self.worker_command, "-n", f"celery@smoke-worker-{n}"]
        return self.sup.start(f"worker-{n}", argv, self.envs["worker"])

    def web_workers(self) -> int:
        wanted = re.search(r"--workers[ =](\d+)", " ".join(self.web.argv))
        booted = poll("gunicorn workers booted", lambda: self.web.log.read_text().count("Booting worker"), 30, 0.3)
        if wanted and booted != int(wanted.group(1)):
            time.sleep(2)
            booted = self.web.log.read_text().count("Booting worker")
        if wanted and booted != int(wanted.group(1)):
            raise SmokeError(f"gunicorn booted {booted} workers, compose says {wanted.group(1)}")
        return booted

    def manage(self, name: str, *args: str, env: dict | None = None) -> str:
        return self.sup.run(name, ["python", "manage.py", *args], {**self.env, **(env or {})})

    # 2-3. operator, support, admin ----------------------------------------------------------------

    def production_settings(self) -> None:
        with Step("production settings: check --deploy, http -> https redirect, HSTS, Secure cookies, hashed static"):
            self.manage("check-deploy", "check", "--deploy", "--fail-level", "WARNING")
            r = requests.get(f"http://127.0.0.1:{self.port}/login/", allow_redirects=False, timeout=10)
            if r.status_code != 301 or not r.headers.get("Location", "").startswith("https://"):
                raise SmokeError(f"plain http /login/ answered {r.status_code} {r.headers.get('Location')}, not https")
            self.support = Browser("support", self.portal)
            page = self.support.get(self.portal + "/support/login/")
            if "max-age" not in page.response.headers.get("Strict-Transport-Security", ""):
                raise SmokeError("no Strict-Transport-Security header on https")
            cookie = page.response.headers.get("Set-Cookie", "")
            if "csrftoken" not in cookie or "Secure" not in cookie:
                raise SmokeError(f"the login page sets no Secure csrftoken cookie: {cookie}")
            login = self.support.get(self.portal + "/login/")
            css = login.between(r'<link rel="stylesheet" href="(/static/css/portal\.[0-9a-f]{12}\.css)"')
            r = self.support.session.get(self.portal + css, timeout=10)
            if r.status_code != 200 or "immutable" not in r.headers.get("Cache-Control", ""):
                raise SmokeError(f"{css} answered {r.status_code} {r.headers.get('Cache-Control')}")
            say(f"    {css}: {r.status_code}, {r.headers.get('Cache-Control')}")

    def first_support_login(self) -> None:
        with Step("operator: manage.py createsuperuser --noinput (the first support login)"):
            self.manage(
                "createsuperuser",
                "createsuperuser",
                "--noinput",
                env={
                    "DJANGO_SUPERUSER_USERNAME": SUPPORT,
                    "DJANGO_SUPERUSER_EMAIL": SUPPORT,
                    "DJANGO_SUPERUSER_PASSWORD": self.support_password,
                },
            )
        with Step("support: log in to Django admin at /support/ (a wrong password first)"):
            page = self.support.get(self.portal + "/support/login/?next=/support/")
            form = page.form(has="username").set("username", SUPPORT).set("password", "not-" + self.support_password)
            self.support.submit(page, form).expect("Please enter the correct username and password")
            page = self.support.get(self.portal + "/support/login/?next=/support/")
            page = self.support.submit(
                page, page.form(has="username").set("username", SUPPORT).set("password", self.support_password)
            )
            page.expect("LMS Sync Portal support", "Institutions", "Users")
            session = [c for c in self.support.session.cookies if c.name == "sessionid"]
            if len(session) != 1 or not session[0].secure or not session[0].has_nonstandard_attr("HttpOnly"):
                raise SmokeError("no Secure, HttpOnly sessionid cookie after logging in")

    def create_institution(self) -> None:
        s, admin = self.support, self.portal + "/support/"
        with Step(f"support: the institution admin's user {ADMIN} (Users › Add user)"):
            page = s.get(admin + "auth/user/add/")
            form = page.form(has="username").set("username", ADMIN)
            form.set("password1", self.admin_password).set("password2", self.admin_password)
            if form.has("usable_password"):
                form.set("usable_password", "true")
            page = s.submit(page, form, "Save")
            found = re.search(r"/auth/user/(\d+)/change/", page.url)
            if not found:
                raise SmokeError(f"adding the user did not lead to its change page: {page.url} {page.text[:800]}")
            self.admin_user_id = found.group(1)
            form = page.form(has="email").set("email", ADMIN).set("first_name", "Ada").set("last_name", "Admin")
            s.submit(page, form, "Save").expect("was changed successfully")

        hour = 23  # later today in the chosen time zone: no nightly sync is due before step 4 sets it
        with Step(f"support: Institutions › Add: Smoke University ({self.tz}, nightly at {hour}:00) with its admin"):
            page = s.get(admin + "portal/institution/add/")
            form = page.form(has="name").set("name", "Smoke University").set("slug", "smoke")
            form.set("timezone", self.tz).set("nightly_sync_hour", str(hour))
            form.set("admins-TOTAL_FORMS", "1").set("admins-0-user", self.admin_user_id)
            page = s.submit(page, form, "Save")
            page.expect("was added successfully")
            page = s.get(admin + "portal/institution/?q=smoke")
            self.institution_url = page.link("Smoke University")
            self.institution_id = re.search(r"/institution/(\d+)/", self.institution_url).group(1)
            s.get(self.institution_url).expect(ADMIN)

        with Step(f"support: Departments › Add: {', '.join(DEPARTMENTS)}"):
            for name in DEPARTMENTS:
                page = s.get(admin + "portal/department/add/")
                form = page.form(has="name").set("institution", self.institution_id).set("name", name)
                s.submit(page, form, "Save").expect("was added successfully")

    def admin_connects(self) -> None:
        self.admin = Browser("admin", self.portal)
        a = self.admin
        with Step("admin: first login, Global Settings › LMS Settings"):
            page = a.get(self.portal + "/")
            page = a.submit(page, page.form(has="username").set("username", ADMIN).set("password", self.admin_password))
            page.expect("Smoke University")
            page = a.get(page.link("Global Settings"))
            page = a.get(page.link("LMS Settings")).expect("LMS Settings", "Not configured")
            redirect_uri = page.between(r'data-testid="redirect-uri">([^<]+)<')
            if redirect_uri != self.portal + "/lms/canvas/callback/":
                raise SmokeError(f"LMS Settings names the redirect URI {redirect_uri}, not SITE_URL's callback")
            scopes = page.between(r'<textarea id="required-scopes"[^>]*>(.*?)</textarea>').split()
            say(f"    redirect URI {redirect_uri}; {len(scopes)} scopes to enable")

        client_id, secret = self.canvas_developer_key(redirect_uri, scopes)

        with Step(f"admin: LMS Settings: Canvas Dev Key, {self.sim}, client id {client_id}, Save"):
            form = page.form(id="lms-settings-form").set("lms_type", "dev_key").set("server_url", self.sim)
            form.set("client_id", client_id).set("client_secret", secret)
            page = a.submit(page, form, "Save").expect("Canvas accepts this developer key", "Not verified")
            if secret in page.html:
                raise SmokeError("the client secret is shown back on LMS Settings")

        with Step("admin: Generate Key -> Canvas login -> Authorize -> back on LMS Settings: Verified"):
            page = a.submit(page, page.form(action="/admin-settings/lms/generate-key/"))
            if not page.url.startswith(self.sim + "/login/canvas"):
                raise SmokeError(f"Generate Key did not lead to Canvas's login page: {page.url} {page.text[:500]}")
            page = a.submit(
                page, page.form(has="unique_id").set("unique_id", "canvas-admin").set("password", "canvas-admin")
            )
            page.expect("is requesting access to your account")
            page = a.submit(page, page.form(action="/login/oauth2/accept"), "Authorize")
            if not page.url.startswith(self.portal + "/admin-settings/lms/"):
                raise SmokeError(f"Authorize did not come back to the portal: {page.url}")
            status = page.between(r'data-testid="connection-status">([^<]+)<')
            if status != "Verified":
                raise SmokeError(f"after the OAuth round trip the connection is {status!r}: {page.text[:1500]}")
            page.expect("Verified: the portal can read Canvas")
            say("    " + page.between(r"(Verified [^<]*as Canvas user [^<]*)"))

        with Step("admin: Configure: ID types and roles as offered, Save"):
            page = a.get(page.link("Configure"))
            form = page.form(has="course_id_type")
            say(
                f"    course ID {form.value('course_id_type')}, section ID {form.value('section_id_type')}, "
                f"student ID {form.value('student_id_type')}, roles {form.values('course_admin_role_ids')} / "
                f"{form.values('student_role_ids')}"
            )
            a.submit(page, form, "Save").expect("Configuration saved.")

    def canvas_developer_key(self, redirect_uri: str, scopes: list[str]) -> tuple[str, str]:
        """The guide's Canvas half, in the simulator's own pages, by the Canvas admin in another browser."""
        with Step("Canvas admin: Developer Keys › + API Key with the portal's redirect URI and scopes, State ON"):
            c = Browser("canvas-admin", self.portal)
            page = c.get(self.sim + "/")
            page = c.submit(
                page, page.form(has="unique_id").set("unique_id", "canvas-admin").set("password", "canvas-admin")
            )
            page = c.get(page.link("Admin"))
            page = c.get(page.link(root_account_name(page)))
            page = c.get(page.link("Developer Keys"))
            before = set(re.findall(r'data-key-id="(\d+)"', page.html))
            page = c.get(page.link("+ API Key"))
            form = page.form(has="redirect_uris").set("name", "Exam portal").set("redirect_uris", redirect_uri)
            form.set("require_scopes", "1").set("allow_includes", "1").set("scopes", *scopes)
            page = c.submit(page, form, "Save")
            new = set(re.findall(r'data-key-id="(\d+)"', page.html)) - before
            if len(new) != 1:
                raise SmokeError(f"saving the key did not add one row to Developer Keys: {page.text[:800]}")
            key_id = new.pop()
            page = c.submit(page, page.form(action=f"/developer_keys/{key_id}/state"), "ON")
            row = page.between(rf'(<tr data-key-id="{key_id}">.*?</tr>)')
            if 'value="on" aria-pressed="true"' not in row:
                raise SmokeError(f"the key's State is not ON: {row}")
            secret = page.between(rf'<div id="secret-{key_id}" class="secret" hidden>([^<]+)</div>')
            return page.between(rf'<tr data-key-id="{key_id}">.*?<div class="client-id">(\d+)</div>'), secret

    # 3. Refresh, sync list, Sync Now -----------------------------------------------------------------

    def refresh_and_choose(self) -> None:
        a = self.admin
        with Step("admin: Edit Sync Settings › Refresh Courses, until the progress fragment says it finished"):
            page = a.get(self.portal + "/admin-settings/lms/")
            page = a.get(page.link("Edit Sync Settings"))
            page = a.submit(page, page.form(action="/admin-settings/lms/sync/refresh/"))
            url = self.portal + "/admin-settings/lms/sync/refresh/progress/"
            fragment = poll("Refresh Courses finished", lambda: done_fragment(a.get(url, headers=HTMX)), 120)
            result = fragment.between(r'data-testid="refresh-result">(.*?)</p>')
            say(f"    {' '.join(re.sub('<[^>]+>', ' ', result).split())}")
            if "Succeeded" not in result and "Finished with issues" not in result:
                raise SmokeError(f"Refresh Courses did not succeed: {result}")

        want = self.args.sync_courses
        with Step(f"admin: Select Courses › + on {want} courses"):
            added, page_no = 0, 1
            while added < want:
                page = a.get(self.portal + f"/admin-settings/lms/sync/?page={page_no}")
                forms = [f for f in page.forms if re.search(r"/sync/courses/\d+/add/$", f.action)]
                if not forms:
                    raise SmokeError(f"only {added} courses could be added (page {page_no} has no + left)")
                for form in forms[: want - added]:
                    a.submit(page, form, headers=HTMX).expect("Added")
                    added += 1
                page_no += 1

        today = dt.date.today()
        start, end = today - dt.timedelta(days=30), today + dt.timedelta(days=120)
        with Step(f"admin: Edit Sync List › check all › dates {start}..{end}, then Department {DEPARTMENTS[0]}"):
            page = a.get(self.portal + "/admin-settings/lms/sync/?tab=list")
            form = page.form(id="sync-list-form")
            rows = form.options["selected"]
            if len(rows) != want:
                raise SmokeError(f"the sync list shows {len(rows)} rows, not the {want} added")
            form.set("selected", *rows).set("bulk_start", start.isoformat()).set("bulk_end", end.isoformat())
            page = a.submit(page, form, "Set dates").expect("Saved.")
            form = page.form(id="sync-list-form").set("selected", *rows)
            form.set("bulk_department", option_for(page, "bulk_department", DEPARTMENTS[0]))
            page = a.submit(page, form, "Set department").expect(f"Saved. {want} entries changed.")
            self.listed = want

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
            self.clean_rows = self.rows()
            empty = [
                k for k in ("courses", "sections", "exam_takers", "enrollments") if not self.clean_rows[k]["count"]
            ]
            if empty:
                raise SmokeError(f"the first sync left no {', '.join(empty)}: {self.clean_rows}")
            made = sum(v["count"] for v in self.clean_rows.values())
            if made != run["counts"]["created"]:
                # Known: a person new to two courses that different tasks sync at once is counted twice.
                say(f"NOTE: the run counts {run['counts']['created']} created; the portal holds {made} new rows")

    def rows(self) -> dict:
        out = self.manage("rows", "shell", "-c", ROWS_SCRIPT.replace("SLUG", "smoke"))
        rows = json.loads(out.split("ROWS ", 1)[1].splitlines()[0])
        say("    " + ", ".join(f"{k} {v['count']}" for k, v in rows.items()))
        return rows

    def assert_rows(self, when: str) -> None:
        now = self.rows()
        if now != self.clean_rows:
            diff = {k: (self.clean_rows[k], now[k]) for k in now if now[k] != self.clean_rows.get(k)}
            raise SmokeError(f"{when}, the portal's rows differ from the first clean sync's: {diff}")

    # 6. operations endpoints ------------------------------------------------------------------------

    def health(self) -> None:
        with Step("/healthz and /readyz answer 200 through the proxy, and compose's healthchecks pass"):
            for path in ("/healthz", "/readyz"):
                r = self.admin.session.get(self.portal + path, timeout=15)
                if r.status_code != 200:
                    raise SmokeError(f"{path} answered {r.status_code}: {r.text[:500]}")
                say(f"    {path}: {r.status_code} {' '.join(r.text.split())[:200]}")
            for name, service in self.services.items():
                if not service.healthcheck:
                    continue
                hosts = [f"smoke-worker-{n}" for n in (1, 2)] if name == "worker" else ["smoke"]
                for host in hosts:
                    # Inside its container the check reaches the web on localhost:8000 and sees its own hostname.
                    argv = [a.replace("localhost:8000", f"127.0.0.1:{self.port}") for a in service.healthcheck]
                    self.sup.run(f"healthcheck-{name}", argv, {**self.envs[name], "HOSTNAME": host}, timeout=30)
                    say(f"    compose healthcheck of {name} ({host}): ok")

    # 4. the nightly ---------------------------------------------------------------------------------

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

    # 5. a worker killed mid-sync ---------------------------------------------------------------------

    def kill_a_worker(self) -> None:
        victim = self.workers[0]
        latency = self.args.latency_ms
        with Step(f"SIGKILL {victim.name} (its whole process group) in the middle of a sync"):
            self.sim_control("faults", {"latency_ms": latency, "paths": "^/api/"})
            killed: list[tuple[int, int]] = []

            def kill_midway(done: int, total: int) -> None:
                if not killed and done >= max(2, total // 5):
                    self.sup.kill(victim)
                    killed.append((done, total))
                    say(f"    killed {victim.name} at {done} of {total} courses done")
                    self.sim_control("faults", {})

            timeout = 3 * HEARTBEAT_TIMEOUT_S + 120
            run = self.sync_now(f"sync with {latency} ms Canvas latency", timeout, kill_midway, every=0.25)
            self.sim_control("faults", {})
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
            self.workers[0] = self.start_worker(1)
            poll(
                "restarted worker ready", lambda: " ready." in self.workers[0].log.read_text(errors="replace"), 60, 0.3
            )
            run = self.sync_now("sync after the kill")
            if run["status"] not in FINISHED:
                raise SmokeError(f"the sync after the kill ended {run['status']}: {run['message']}")
            self.assert_rows("after the sync that followed the kill")

    def sim_control(self, what: str, body: dict) -> None:
        r = requests.post(f"{self.sim}/_sim/{what}", json=body, timeout=10)
        r.raise_for_status()


HTMX = {"HX-Request": "true"}

ROWS_SCRIPT = """
import hashlib, json
from portal.models import Course, CourseAdmin, CourseAdminEnrollment, Enrollment, ExamTaker, Section
i = "SLUG"
q = {
    "courses": (Course.objects.filter(institution__slug=i), ["course_id", "name", "department__name", "start_date", "end_date", "lms_id"]),
    "sections": (Section.objects.filter(course__institution__slug=i), ["course__course_id", "section_id", "name", "lms_id"]),
    "exam_takers": (ExamTaker.objects.filter(institution__slug=i), ["student_id", "first_name", "last_name", "email", "active", "lms_id"]),
    "course_admins": (CourseAdmin.objects.filter(institution__slug=i), ["admin_id", "first_name", "last_name", "email", "active", "lms_id"]),
    "enrollments": (Enrollment.objects.filter(course__institution__slug=i), ["exam_taker__student_id", "course__course_id", "section__section_id", "status"]),
    "course_admin_enrollments": (CourseAdminEnrollment.objects.filter(course__institution__slug=i), ["course_admin__admin_id", "course__course_id", "status"]),
}
out = {}
for name, (qs, fields) in q.items():
    rows = sorted(json.dumps(r, default=str) for r in qs.values_list(*fields))
    out[name] = {"count": len(rows), "digest": hashlib.sha256("\\n".join(rows).encode()).hexdigest()[:16]}
print("ROWS " + json.dumps(out))
"""


def pick_timezone() -> str:
    """A time zone whose local hour is 1..21 now, so 23:00 is safely later today and "this hour" stays today."""
    for name in ("America/New_York", "Asia/Tokyo"):
        if 1 <= dt.datetime.now(zoneinfo.ZoneInfo(name)).hour <= 21:
            return name
    return "UTC"


def root_account_name(admin: Page) -> str:
    """The first account Canvas's Admin page lists: the root account, whose Developer Keys the guide uses."""
    for label, href in admin.links:
        if href.startswith("/accounts/"):
            return label
    raise SmokeError(f"{admin.url} lists no account")


def option_for(page: Page, select: str, label: str) -> str:
    found = re.search(
        rf'<select name="{select}"[^>]*>.*?<option value="(\d+)">{re.escape(label)}</option>', page.html, re.S
    )
    if not found:
        raise SmokeError(f"{page.url}: {select} has no option {label!r}")
    return found.group(1)


def done_fragment(fragment: Page) -> Page | None:
    return fragment if 'data-testid="refresh-result"' in fragment.html else None


def first_run_id(history: Page) -> str | None:
    found = re.search(r'href="/admin-settings/lms/history/(\d+)/"', history.html)
    return found.group(1) if found else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--courses", type=int, default=200, help="courses the simulator generates")
    parser.add_argument("--sync-courses", type=int, default=40, help="courses put on the sync list")
    parser.add_argument("--latency-ms", type=int, default=300, help="Canvas latency during the killed sync")
    parser.add_argument("--skip", default="", help="comma-separated: nightly, kill")
    parser.add_argument("--keep", action="store_true", help="keep the logs and static files directory")
    args = parser.parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}

    work = Path(tempfile.mkdtemp(prefix="portal-smoke-"))
    (work / "logs").mkdir()
    sup = Supervisor(ROOT, work / "logs")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ok = False
    try:
        smoke = Smoke(args, sup, work)
        say(f"production smoke: portal {smoke.portal} (gunicorn on http://127.0.0.1:{smoke.port}), Canvas {smoke.sim}")
        smoke.build_and_start()
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
            say(f"logs kept in {work / 'logs'}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    say(f"production smoke {'passed' if ok else 'FAILED'} in {time.monotonic() - started_at:.0f}s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
