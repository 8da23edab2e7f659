"""Start-up time and peak memory of `serve --generate N` (not a test).

Starts the simulator in its own process, polls until it answers, and reads the peak resident set
size (VmHWM) from /proc/<pid>/status when it is ready and again after reading 1,000 rosters.

    .venv/bin/python bench/simulator_startup.py [--courses 100000]
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.simulator_load import issue_token  # noqa: E402
from lms_canvas.simulator.testing import USER_AGENT  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc status")


def touch_rosters(base: str, courses: int) -> None:
    http = requests.Session()
    http.headers.update({"Authorization": f"Bearer {issue_token(base)}", "User-Agent": USER_AGENT})
    step = max(1, courses // 1000)
    for course_id in range(1001, 1001 + courses, step):
        http.get(f"{base}/api/v1/courses/{course_id}/users?per_page=100&include[]=enrollments", timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--courses", type=int, default=100_000)
    args = parser.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "lms_canvas.simulator", "serve", "--generate", str(args.courses),
               "--port", str(port)]  # fmt: skip
    started = time.monotonic()
    # Our own fixed command line.
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)  # noqa: S603
    try:
        while True:
            try:
                requests.get(f"{base}/login/canvas", timeout=1)
                break
            except requests.ConnectionError:
                if process.poll() is not None or time.monotonic() - started > 120:
                    raise SystemExit("simulator did not start") from None
                time.sleep(0.05)
        ready = time.monotonic() - started
        print(f"courses={args.courses} ready_in={ready:.1f}s VmHWM={vm_hwm_mb(process.pid):.0f} MB (at ready)")
        touch_rosters(base, args.courses)
        print(f"VmHWM={vm_hwm_mb(process.pid):.0f} MB after reading 1,000 course rosters")
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    main()
