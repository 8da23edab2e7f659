"""Canvas's load balancers drop a request idle for 60 seconds (issue 16 item 5): every request the
portal sends Canvas, API and OAuth, reads its timeout from one setting, and that setting stays below 60."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests.adapters
from django.conf import settings
from django.test import override_settings

from lms_canvas import connect, oauth
from lms_canvas.connect import client_for

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("lms_canvas", "portal", "sync")
HTTP_LIBRARIES = ("requests", "requests_oauthlib", "httpx", "urllib3")
# The modules that send HTTP themselves; a new one must be listed here once its timeouts are checked.
HTTP_MODULES = {
    "lms_canvas/http.py",
    "lms_canvas/oauth.py",
    "lms_canvas/egress.py",
    "lms_canvas/client.py",
    "sync/management/commands/demo_live_events.py",  # the simulator's /_sim control API, not Canvas
}
IDLE_DROP_S = 60


@pytest.fixture
def sent_timeouts(monkeypatch) -> list:
    seen: list = []
    send = requests.adapters.HTTPAdapter.send

    def recording(self, request, *args, **kwargs):
        seen.append(kwargs.get("timeout"))
        return send(self, request, *args, **kwargs)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", recording)
    return seen


def talk_to_canvas(conn) -> None:
    """The API and every OAuth call: roles, courses, a roster, Verify's probes, preflight, refresh, revoke."""
    client = client_for(conn)
    client.list_roles(conn.account_ref)
    list(client.iter_enrollments(501))
    connect.check_capabilities(client, conn.account_ref)
    oauth.preflight(conn)
    oauth.refresh_access_token(conn.id)
    conn.refresh_from_db()
    oauth.revoke(conn)


def test_the_read_timeout_setting_is_below_canvas_idle_drop():
    assert 0 < settings.CANVAS_READ_TIMEOUT_S < 60
    assert 0 < settings.CANVAS_CONNECT_TIMEOUT_S < 60


def test_every_request_to_canvas_reads_below_60_seconds_from_the_one_setting(connected, sent_timeouts):
    with override_settings(CANVAS_CONNECT_TIMEOUT_S=4.0, CANVAS_READ_TIMEOUT_S=21.0):
        talk_to_canvas(connected)
    assert len(sent_timeouts) >= 10
    assert set(sent_timeouts) == {(4.0, 21.0)}  # none without a timeout, none with a number of its own


def test_a_read_timeout_of_60_seconds_or_more_is_refused_at_startup():
    env = {**os.environ, "CANVAS_READ_TIMEOUT_S": "60", "DJANGO_SETTINGS_MODULE": "portal.settings"}
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode != 0
    assert "Canvas's load balancers drop a request idle for 60 seconds" in done.stderr


# CanvasClient(timeout=None) falls back to the setting, and its Transport keeps what it was given.
PASS_THROUGH = {"timeout", "self.timeout", "timeout or canvas_timeout()", "canvas_timeout()"}


def _timeout_seconds(value: ast.expr, constants: dict[str, ast.expr]) -> list[float] | None:
    """The seconds a `timeout=` gives: a literal, or a module constant holding one; None for the one
    setting (canvas_timeout()) and the pass-throughs above."""
    if ast.unparse(value) in PASS_THROUGH:
        return None
    if isinstance(value, ast.Name) and value.id in constants:
        value = constants[value.id]
    try:
        literal = ast.literal_eval(value)
    except ValueError:
        return [float("inf")]  # something this test cannot read: make it a constant or the setting
    return [float(n) for n in (literal if isinstance(literal, tuple | list) else [literal])]


def test_every_timeout_of_the_modules_that_send_http_stays_below_60_seconds():
    senders, too_long = set(), []
    for package in PRODUCT:
        for path in (ROOT / package).rglob("*.py"):
            rel = path.relative_to(ROOT).as_posix()
            if rel.startswith("lms_canvas/simulator/") or "/migrations/" in rel:
                continue
            tree = ast.parse(path.read_text())
            imported = {
                name.split(".")[0]
                for node in ast.walk(tree)
                if isinstance(node, ast.Import | ast.ImportFrom)
                for name in ([node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names])
            }
            if not imported & set(HTTP_LIBRARIES):
                continue
            senders.add(rel)
            constants = {
                t.id: node.value
                for node in tree.body
                if isinstance(node, ast.Assign)
                for t in node.targets
                if isinstance(t, ast.Name)
            }
            for node in ast.walk(tree):
                if isinstance(node, ast.keyword) and node.arg == "timeout":
                    seconds = _timeout_seconds(node.value, constants)
                    if seconds is not None and not all(0 < n < IDLE_DROP_S for n in seconds):
                        too_long.append(f"{rel}:{node.value.lineno} {seconds}")
    assert senders <= HTTP_MODULES, f"new HTTP code: check its timeouts stay below 60 s and list it: {senders}"
    assert too_long == []
