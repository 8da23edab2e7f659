"""The production shape without Docker: what docker-compose.yml and the Dockerfile say to run, pointed at
this machine's PostgreSQL and Redis, and started.

Compose's `${VAR:-default}` / `${VAR:?message}` are filled from the values an operator puts in `.env`;
then only what exists solely inside compose's network (the `postgres` and `redis` host names, the
container port) is pointed at this machine.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import sys
import time
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests
import smoke_image
import yaml
from smoke_image import ROOT, path_first, read_dockerfile
from smoke_procs import Proc, Supervisor, free_port, wait_for_port
from smoke_report import SmokeError, Step, poll, say

DEV_PYTHON = Path(sys.executable)  # the checkout's venv, the dev set: the smoke itself and the Canvas simulator
REDIS_DBS = {"0": "6", "1": "7"}  # compose's broker and cache databases -> ones the tests never use
HEARTBEAT_TIMEOUT_S = 20  # RUN_HEARTBEAT_TIMEOUT_SECONDS for every process: a dead worker is noticed fast

# -- docker-compose.yml and the Dockerfile ---------------------------------------------------------------


_VAR = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|\$\$")


def interpolate(text: str, values: Mapping[str, str]) -> str:
    """Compose's variable substitution: ${X}, ${X:-default}, ${X-default}, ${X:?error}, ${X?error}, $$."""

    def one(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name"), match.group("op"), match.group("arg") or ""
        value = values.get(name)
        missing = value is None or (value == "" and op is not None and op.startswith(":"))
        if op is not None and op.endswith("?") and missing:
            raise ValueError(f"docker-compose.yml needs {name}: {arg}")
        if op is not None and op.endswith("-") and missing:
            return arg
        return value or ""

    return _VAR.sub(one, text)


@dataclass
class Service:
    name: str
    command: list[str]
    environment: dict[str, str]
    healthcheck: list[str]  # argv of compose's healthcheck test, [] if none


def compose_services(path: Path, dotenv: Mapping[str, str]) -> dict[str, Service]:
    """The services that run the portal's image (those with a `command:`), interpolated with `dotenv`."""
    data = yaml.safe_load(path.read_text())
    services = {}
    for name, spec in data["services"].items():
        if "command" not in spec:
            continue
        command = spec["command"]
        argv = shlex.split(command) if isinstance(command, str) else list(command)
        env = spec.get("environment") or {}
        if isinstance(env, list):
            env = dict(item.split("=", 1) for item in env)
        services[name] = Service(
            name,
            [interpolate(arg, dotenv) for arg in argv],
            {k: interpolate(str(v), dotenv) for k, v in env.items()},
            _healthcheck(spec.get("healthcheck") or {}, dotenv),
        )
    return services


def _healthcheck(spec: dict, dotenv: Mapping[str, str]) -> list[str]:
    test = spec.get("test") or []
    if isinstance(test, str):
        test = ["CMD-SHELL", test]
    if not test or test[0] == "NONE":
        return []
    args = [interpolate(str(arg), dotenv) for arg in test[1:]]
    return ["sh", "-c", args[0]] if test[0] == "CMD-SHELL" else args


# -- this machine ---------------------------------------------------------------------------------------


def database_url() -> str:
    if url := os.environ.get("SMOKE_DATABASE_URL"):
        return url
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        base = "postgres://postgres@127.0.0.1:5432/portal"
    return urlunsplit(urlsplit(base)._replace(path="/portal_smoke"))


def fresh_database(url: str, *, create: bool = True) -> None:
    """Drop the smoke's database and (unless `create` is false) create it empty."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
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
    for key in ("CELERY_BROKER_URL", "REDIS_URL", "THROTTLE_REDIS_URL"):
        found = re.fullmatch(r"redis://redis:6379/(\d+)", env[key])
        if not found or found.group(1) not in REDIS_DBS:
            raise SmokeError(f"docker-compose.yml's {key} is not a database of the redis service: {env[key]}")
        env[key] = f"{redis_base}/{REDIS_DBS[found.group(1)]}"
    env["STATIC_ROOT"] = str(static_root)  # the image's /app/staticfiles, here a temporary directory
    env["RUN_HEARTBEAT_TIMEOUT_SECONDS"] = str(HEARTBEAT_TIMEOUT_S)
    return env


def base_env(dockerfile_env: dict[str, str]) -> dict[str, str]:
    keep = {k: os.environ[k] for k in ("HOME", "LANG", "TMPDIR", "PATH") if k in os.environ}
    return {**keep, **dockerfile_env}


# -- the processes ---------------------------------------------------------------------------------------


class Stack:
    """web, two workers, beat and the Canvas simulator, started as compose and the Dockerfile say: all but the
    simulator in the image's /app (`sup`'s root) with the image's venv; the simulator from the checkout."""

    def __init__(self, sup: Supervisor, work: Path, courses: int) -> None:
        self.sup = sup
        self.work = work
        self.app = sup.root
        self.courses = courses
        self.port = free_port()
        self.sim_port = free_port()
        while self.sim_port == self.port:
            self.sim_port = free_port()
        self.portal = f"https://127.0.0.1:{self.port}"  # the public address, behind the stand-in TLS proxy
        self.sim = f"http://127.0.0.1:{self.sim_port}"
        self.workers: list[Proc] = []
        self.db_url = database_url()
        self.redis_base = os.environ.get("SMOKE_REDIS_URL", "redis://127.0.0.1:6379")

    def clean_up(self) -> None:
        """After a pass: the database dropped and the Redis databases emptied (a failure leaves them to look at)."""
        fresh_database(self.db_url, create=False)
        fresh_redis(self.redis_base)

    def build(self, docker: smoke_image.Dockerfile) -> Path:
        """The image's /app and its Python (the venv's path), as `docker build` makes them."""
        with Step("the build context: the checkout without .dockerignore's paths, as the image's /app"):
            left_out = smoke_image.copy_context(ROOT, self.app)
            dev = [p for p in ("tests", "bench", "lms_canvas/simulator", ".ci") if p not in left_out]
            if dev:
                raise SmokeError(f".dockerignore lets into the image: {', '.join(dev)}")
            say(f"    left out: {', '.join(p for p in left_out if '__pycache__' not in p)}")
        env = base_env(docker.env)
        with Step(f"the dependency layer, a venv of its own: {'; '.join(docker.dependency_runs)}"):
            venv, cached = smoke_image.dependency_layer(self.sup, docker, self.app, env)
            say(f"    {venv.relative_to(ROOT)}{' (cached: its inputs are unchanged)' if cached else ''}")
        with Step(f"the project in /app: {'; '.join(docker.project_runs)}"):
            smoke_image.project_layers(self.sup, docker, venv, env)
            found = smoke_image.dev_only_importable(self.sup, venv, env)
            if found:
                raise SmokeError(f"the image's Python has the dev extra's {', '.join(found)}")
            say(f"    not in the image's Python: {', '.join(smoke_image.DEV_ONLY)}")
        return venv

    def start(self) -> None:
        docker = read_dockerfile(ROOT / "Dockerfile")
        services = compose_services(ROOT / "docker-compose.yml", dotenv_values(self.port))
        db_url, redis_base = self.db_url, self.redis_base
        static_root = self.work / "staticfiles"
        base = path_first(base_env(docker.env), self.build(docker))
        self.envs = {
            name: {**base, **localize(service.environment, db_url, redis_base, static_root)}
            for name, service in services.items()
        }
        self.env = self.envs["web"]  # manage.py commands run as `docker compose exec web ...` would

        release = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
        with Step(f"the Canvas client's User-Agent names the installed release, {release}"):
            code = "from lms_canvas.http import user_agent; print('UA', user_agent())"
            agent = self.manage("user-agent", "shell", "-c", code).split("UA ", 1)[1].strip()
            if not agent.startswith(f"LMS-Sync-Portal/{release} "):
                raise SmokeError(f"the User-Agent is {agent!r}, not of release {release}")
            say(f"    {agent}")

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
            sim_cmd = [str(DEV_PYTHON), "-m", "lms_canvas.simulator", "serve", "--generate", str(self.courses)]
            sim_cmd += ["--port", str(self.sim_port), "--control"]
            self.simulator = self.sup.start("simulator", sim_cmd, base_env({}), cwd=ROOT)  # not in the image
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

    def restart_worker(self, n: int) -> Proc:
        """As compose's `restart: unless-stopped` brings a killed container back."""
        self.workers[n - 1] = self.start_worker(n)
        worker = self.workers[n - 1]
        poll(f"{worker.name} ready again", lambda: " ready." in worker.log.read_text(errors="replace"), 60, 0.3)
        return worker

    def healthchecks(self) -> None:
        """Each service's compose healthcheck, as docker runs it inside that service's container."""
        for name, service in self.services.items():
            if not service.healthcheck:
                continue
            hosts = [f"smoke-worker-{n}" for n in (1, 2)] if name == "worker" else ["smoke"]
            for host in hosts:
                # Inside its container the check reaches the web on localhost:8000 and sees its own hostname.
                argv = [a.replace("localhost:8000", f"127.0.0.1:{self.port}") for a in service.healthcheck]
                self.sup.run(f"healthcheck-{name}", argv, {**self.envs[name], "HOSTNAME": host}, timeout=30)
                say(f"    compose healthcheck of {name} ({host}): ok")

    def portal_rows(self, slug: str) -> dict:
        """Count and digest of the institution's courses, sections, people and enrollments (manage.py shell)."""
        out = self.manage("rows", "shell", "-c", ROWS_SCRIPT.replace("SLUG", slug))
        rows = json.loads(out.split("ROWS ", 1)[1].splitlines()[0])
        say("    " + ", ".join(f"{k} {v['count']}" for k, v in rows.items()))
        return rows

    def sim_control(self, what: str, body: dict) -> None:
        r = requests.post(f"{self.sim}/_sim/{what}", json=body, timeout=10)
        r.raise_for_status()


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
