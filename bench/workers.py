"""Real `celery -A portal worker` processes for a benchmark, started as docker-compose.yml's worker service
starts one: its command read from that file (as .ci/smoke_stack.py reads it), each process named apart
(`-n bench-N@host`, as two containers would be) and listening on the default queue.

A "worker process" here is one such `celery worker`: a main process and its --concurrency prefork
children, each child running one task at a time. Each is started in a process group of its own, so
stopping it (SIGTERM: Celery's warm shutdown, then SIGKILL after a grace period) ends its children too,
and nothing else.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.common import ROOT

COMPOSE = ROOT / "docker-compose.yml"
READY_TIMEOUT_S = 90
STOP_GRACE_S = 30


def compose_worker_command(concurrency: int | None = None) -> list[str]:
    """docker-compose.yml's worker command as argv, with --concurrency replaced if `concurrency` is given."""
    import yaml

    command = yaml.safe_load(COMPOSE.read_text())["services"]["worker"]["command"]
    argv = shlex.split(command) if isinstance(command, str) else [str(a) for a in command]
    if concurrency is not None:
        argv = [a for a in argv if not a.startswith("--concurrency")] + [f"--concurrency={concurrency}"]
    return argv


def concurrency_of(argv: list[str]) -> int:
    found = re.search(r"--concurrency[ =](\d+)", " ".join(argv))
    return int(found.group(1)) if found else os.cpu_count() or 1  # Celery's default: one child per core


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (Linux /proc)."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                todo += [int(p) for p in (task / "children").read_text().split()]
            except OSError:
                continue
    return pids


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far (/proc/<pid>/stat fields 14 and 15); 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, every core (/proc/stat's first line)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # guest time is already counted in user
    tick = os.sysconf("SC_CLK_TCK")
    return (total - idle) / tick, total / tick


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().strip()


class Worker:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.argv, self.log = name, argv, log
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("w") as out:
            self.proc = subprocess.Popen(  # noqa: S603 - compose's own command
                argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while " ready." not in self.text():
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker {self.name} exited ({self.proc.returncode}):\n{self.tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"worker {self.name} not ready after {READY_TIMEOUT_S} s:\n{self.tail()}")
            time.sleep(0.2)

    def cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in process_tree(self.proc.pid)) if self.proc.poll() is None else 0.0

    def tail(self, lines: int = 30) -> str:
        return "\n".join(f"    {line}" for line in self.text().splitlines()[-lines:])

    def stop(self) -> None:
        """Warm shutdown (SIGTERM to its process group), SIGKILL after STOP_GRACE_S."""
        if self.proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, STOP_GRACE_S), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue


class Workers:
    """The benchmark's worker processes: `ensure(n)` starts or stops some so that exactly n run."""

    def __init__(self, argv: list[str], env: dict[str, str], log_dir: Path) -> None:
        if argv[0] == "celery":  # this checkout's venv, as the image's PATH would find it
            argv = [sys.executable, "-m", "celery", *argv[1:]]
        self.argv, self.env, self.log_dir = argv, env, log_dir
        self.running: list[Worker] = []
        self.started = 0

    def ensure(self, count: int) -> None:
        while len(self.running) > count:
            self.running.pop().stop()
        new = []
        while len(self.running) < count:
            self.started += 1
            name = f"bench-{self.started}"
            worker = Worker(name, [*self.argv, "-n", f"{name}@%h"], self.env, self.log_dir / f"{name}.log")
            self.running.append(worker)
            new.append(worker)
        for worker in new:
            worker.wait_ready()

    def cpu(self) -> float:
        return sum(w.cpu() for w in self.running)

    def tails(self) -> str:
        return "\n".join(f"  {w.name} ({w.log}):\n{w.tail()}" for w in self.running)

    def stop_all(self) -> None:
        while self.running:
            self.running.pop().stop()


def prepare_backends(broker_url: str, cache_url: str) -> str | None:
    """Why the bench cannot run here, or None: PostgreSQL reachable (its database created if missing),
    Redis reachable, the bench's Redis databases flushed (no task or gate state of an earlier run)."""
    import psycopg
    import redis

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        return "needs DATABASE_URL=postgres://... (the workers are other processes, on the same database)"
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    try:
        with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as db:
            if not db.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                db.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        return f"PostgreSQL at {parts.hostname}:{parts.port} refused: {exc}"
    for redis_url in (broker_url, cache_url):
        try:
            redis.Redis.from_url(redis_url, socket_connect_timeout=2).flushdb()
        except redis.RedisError as exc:
            return f"Redis at {redis_url}: {exc}"
    return None


def worker_environment(broker_url: str, cache_url: str) -> dict[str, str]:
    """What compose gives the workers (x-portal-env), pointed at this machine; the bench's own process
    uses it too, since it starts the runs and sends their tasks to the same broker."""
    os.environ.update(
        {
            "DEBUG": "false",
            "CANVAS_ALLOW_PRIVATE_URLS": "true",
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "CELERY_BROKER_URL": broker_url,
            "REDIS_URL": cache_url,
            "THROTTLE_REDIS_URL": cache_url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
        }
    )
    return {**os.environ}
