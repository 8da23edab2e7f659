"""What the smoke runs, read from docker-compose.yml and the Dockerfile, and the processes it starts.

Compose's `${VAR:-default}` / `${VAR:?message}` are filled from the values an operator puts in `.env`;
then only what exists solely inside compose's network (the `postgres` and `redis` host names, the
container port) is pointed at this machine. Every process runs in a session of its own, so killing
its group kills everything it started (gunicorn's and Celery's children too), as `docker kill` would.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

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


@dataclass
class Dockerfile:
    env: dict[str, str]
    collectstatic: str  # the RUN line's shell command


def read_dockerfile(path: Path) -> Dockerfile:
    env: dict[str, str] = {}
    collectstatic = ""
    for line in path.read_text().splitlines():
        word, _, rest = line.strip().partition(" ")
        if word == "ENV":
            env.update(dict(item.split("=", 1) for item in shlex.split(rest)))
        elif word == "RUN" and "collectstatic" in rest:
            collectstatic = rest.strip()
    if not collectstatic:
        raise ValueError("the Dockerfile has no RUN line with collectstatic")
    return Dockerfile(env, collectstatic)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float, alive) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError(f"the process for port {port} exited")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on port {port} after {timeout:.0f}s")


@dataclass
class Proc:
    name: str
    argv: list[str]
    log: Path
    popen: subprocess.Popen
    service: bool = True  # a long-running process (its log tail is shown on failure), not a one-off command
    started: float = field(default_factory=time.monotonic)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(text[-lines:])


class Supervisor:
    """Starts processes in their own sessions, logs each to a file, and always stops them all."""

    def __init__(self, root: Path, logs: Path) -> None:
        self.root = root
        self.logs = logs
        self.procs: list[Proc] = []

    def start(self, name: str, argv: list[str], env: Mapping[str, str]) -> Proc:
        log = self.logs / f"{name}.log"
        n = 1
        while log.exists():  # a command run again (or a worker restarted) gets a log of its own
            n += 1
            log = self.logs / f"{name}-{n}.log"
        handle = log.open("ab")
        popen = subprocess.Popen(  # noqa: S603 - argv comes from docker-compose.yml and this script
            argv, cwd=self.root, env=dict(env), stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
        handle.close()
        proc = Proc(name, argv, log, popen)
        self.procs.append(proc)
        return proc

    def run(self, name: str, argv: list[str], env: Mapping[str, str], timeout: float = 120) -> str:
        """Run to completion; its output, or RuntimeError with the output's tail if it fails."""
        proc = self.start(name, argv, env)
        proc.service = False
        try:
            code = proc.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill(proc)
            raise RuntimeError(f"{name} did not finish in {timeout:.0f}s:\n{proc.tail()}") from None
        if code != 0:
            raise RuntimeError(f"{name} exited {code}:\n{proc.tail()}")
        return proc.log.read_text(errors="replace")

    def kill(self, proc: Proc, sig: int = signal.SIGKILL) -> None:
        """Signal the process's whole group (its children too)."""
        _signal_group(proc.popen.pid, sig)
        if sig == signal.SIGKILL:
            proc.popen.wait(timeout=10)

    def stop_all(self) -> None:
        """TERM every group still running, wait a little, then KILL what is left; reap them all."""
        running = [p for p in self.procs if _group_alive(p.popen.pid)]
        for proc in running:
            _signal_group(proc.popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_group_alive(p.popen.pid) for p in running):
            for p in running:
                p.popen.poll()
            time.sleep(0.2)
        for proc in running:
            if _group_alive(proc.popen.pid):
                _signal_group(proc.popen.pid, signal.SIGKILL)
        for proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.popen.wait(timeout=10)


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
