"""What every benchmark scenario does first: a simulator in its own process, Django on a bench
database, and an institution connected to that simulator through a real OAuth round trip."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_simulator(courses: int, latency_ms: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    cmd = [sys.executable, "-m", "lms_canvas.simulator", "serve", "--generate", str(courses)]
    cmd += ["--latency-ms", str(latency_ms), "--port", str(port), "--control"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # noqa: S603
    for line in proc.stdout:
        if "ready at" in line:
            threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
            return proc, re.search(r"ready at (\S+)", line).group(1)
    raise RuntimeError("the simulator did not start")


def setup_django(sqlite_name: str, *, deployed: bool) -> None:
    """Django on DATABASE_URL, or on a fresh SQLite file var/<sqlite_name>.sqlite3, migrated.

    `deployed` runs as a worker does in production (DEBUG off: no query log formatting every
    statement); a bench that serves pages over plain http keeps the defaults."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("CANVAS_ALLOW_PRIVATE_URLS", "true")
    if deployed:
        os.environ.setdefault("DEBUG", "false")
    if "DATABASE_URL" not in os.environ:
        db = ROOT / "var" / f"{sqlite_name}.sqlite3"
        db.parent.mkdir(exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{db}"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def fresh_institution(slug: str, name: str):
    """The bench's institution, created anew (a previous run's rows deleted in PROTECT order)."""
    from portal.models import Course, Institution
    from sync.models import CatalogCourse, SyncListEntry

    old = Institution.objects.filter(slug=slug)
    SyncListEntry.objects.filter(institution__in=old).delete()
    Course.objects.filter(institution__in=old).delete()
    CatalogCourse.objects.filter(institution__in=old).delete()
    old.delete()
    return Institution.objects.create(name=name, slug=slug)


def connect_institution(institution, url: str):
    """A Verified connection to the simulator at `url`, through a real OAuth round trip, and its token."""
    from django.utils import timezone

    from lms_canvas.models import CanvasConnection, ConnectionStatus
    from lms_canvas.simulator.generator import DEMO_KEY_ID, DEMO_SECRET
    from lms_canvas.simulator.testing import RunningSimulator

    token = RunningSimulator(url=url, app=None).issue_token()  # type: ignore[arg-type]
    conn = CanvasConnection.objects.create(
        institution=institution,
        server_url=url,
        client_id=str(DEMO_KEY_ID),
        client_secret=DEMO_SECRET,
        access_token=token["access_token"],
        refresh_token=token["refresh_token"],
        token_expires_at=timezone.now() + timezone.timedelta(seconds=token["expires_in"]),
        status=ConnectionStatus.VERIFIED,
        verified_at=timezone.now(),
        root_account_id=1,
    )
    return conn, token["access_token"]
