"""The processes the smoke starts: each in a session of its own, so killing its group kills everything it
started (gunicorn's and Celery's children too), as `docker kill` would; each logged to its own file."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


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

    def start(self, name: str, argv: list[str], env: Mapping[str, str], cwd: Path | None = None) -> Proc:
        """Start `argv` in `cwd` (default: the root the supervisor was given)."""
        log = self.logs / f"{name}.log"
        n = 1
        while log.exists():  # a command run again (or a worker restarted) gets a log of its own
            n += 1
            log = self.logs / f"{name}-{n}.log"
        handle = log.open("ab")
        popen = subprocess.Popen(  # noqa: S603 - argv comes from docker-compose.yml and this script
            argv, cwd=cwd or self.root, env=dict(env), stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
        handle.close()
        proc = Proc(name, argv, log, popen)
        self.procs.append(proc)
        return proc

    def run(
        self, name: str, argv: list[str], env: Mapping[str, str], timeout: float = 120, cwd: Path | None = None
    ) -> str:
        """Run to completion; its output, or RuntimeError with the output's tail if it fails."""
        proc = self.start(name, argv, env, cwd)
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
