"""/healthz and /readyz: each check passing and failing, behind production settings, with no secret in a body."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import OperationalError
from django.test import override_settings
from django.utils import timezone

from portal import health
from portal.models import ServiceHeartbeat
from tests.portal.test_settings import ROOT, _clean_environ

REFUSING_BROKER = "redis://127.0.0.1:9/0"  # the discard port: nothing listens there
A_WORKER = [{"celery@web-1": {"ok": "pong"}}]


@pytest.fixture(autouse=True)
def _fresh_throttle(monkeypatch):
    monkeypatch.setattr(health, "_last_beat_write", None)


@pytest.fixture
def a_worker_answers(monkeypatch):
    from portal.celery import app

    monkeypatch.setattr(app.control, "ping", lambda **kw: A_WORKER)


@pytest.fixture
def beat_ticked(db):
    health.record_beat_tick()


def readyz(client, **extra) -> tuple[int, dict]:
    r = client.get("/readyz", **extra)
    assert r["Content-Type"] == "application/json"
    return r.status_code, json.loads(r.content)


def test_healthz_answers_without_the_database(client):
    # No `db` fixture: any query would raise.
    r = client.get("/healthz")
    assert r.status_code == 200
    assert json.loads(r.content) == {"status": "ok"}
    assert r["Cache-Control"] == "no-store"


def test_readyz_is_ok_when_every_check_passes(client, a_worker_answers, beat_ticked):
    status, body = readyz(client)
    assert status == 200, body
    assert body["status"] == "ok"
    assert {name: c["ok"] for name, c in body["checks"].items()} == {
        "database": True,
        "broker": True,
        "worker": True,
        "beat": True,
    }
    assert body["checks"]["worker"]["detail"] == "a worker answered"
    assert body["checks"]["beat"]["detail"] == "last tick 0 s ago"


def test_readyz_fails_when_the_broker_refuses(client, a_worker_answers, beat_ticked, monkeypatch):
    monkeypatch.setenv("CELERY_BROKER_URL", REFUSING_BROKER)  # what Celery reads first
    started = time.monotonic()
    status, body = readyz(client)
    assert time.monotonic() - started < 5, "a refusing broker must not hold the probe"
    assert status == 503
    assert body["status"] == "failing"
    assert body["checks"]["broker"] == {"ok": False, "detail": "refused"}
    assert body["checks"]["worker"] == {"ok": False, "detail": "not asked: the broker is down"}
    assert body["checks"]["database"]["ok"] and body["checks"]["beat"]["ok"]
    assert "127.0.0.1" not in json.dumps(body) and ":9" not in json.dumps(body)


def test_readyz_fails_when_no_worker_answers(client, beat_ticked, monkeypatch):
    from portal.celery import app

    asked = {}
    monkeypatch.setattr(app.control, "ping", lambda **kw: asked.update(kw) or [])
    status, body = readyz(client)
    assert status == 503
    assert body["checks"]["worker"] == {"ok": False, "detail": "no worker answered"}
    assert asked["timeout"] <= 1.0


def test_readyz_fails_when_beat_is_stale(client, a_worker_answers, db, settings):
    settings.BEAT_STALE_SECONDS = 120
    ServiceHeartbeat.objects.create(name="beat", seen_at=timezone.now() - dt.timedelta(seconds=400))
    status, body = readyz(client)
    assert status == 503
    assert body["checks"]["beat"] == {"ok": False, "detail": "last tick 400 s ago (stale after 120 s)"}


def test_readyz_fails_when_beat_never_ticked(client, a_worker_answers, db):
    status, body = readyz(client)
    assert status == 503
    assert body["checks"]["beat"] == {"ok": False, "detail": "beat has not ticked yet"}


def test_readyz_fails_when_the_database_is_down_without_saying_why_in_its_words(client, a_worker_answers, monkeypatch):
    def down(*args, **kwargs):
        raise OperationalError('connection to server at "db", port 5432 failed: password "hunter2" rejected')

    monkeypatch.setattr(health.connection, "cursor", down)
    status, body = readyz(client)
    assert status == 503
    assert body["checks"]["database"] == {"ok": False, "detail": "unreachable (OperationalError)"}
    assert body["checks"]["beat"] == {"ok": False, "detail": "not read: the database is down"}
    assert "hunter2" not in json.dumps(body) and "5432" not in json.dumps(body)


@override_settings(DEBUG=False, ALLOWED_HOSTS=["portal.example.edu"], SECURE_SSL_REDIRECT=True)
def test_the_probes_answer_docker_on_localhost_behind_production_settings(client, a_worker_answers, beat_ticked):
    # The control: an ordinary page from that host is refused (and would be redirected to https).
    assert client.get("/login/", HTTP_HOST="localhost:8000").status_code == 400
    assert client.get("/healthz", HTTP_HOST="localhost:8000").status_code == 200
    status, body = readyz(client, HTTP_HOST="localhost:8000")
    assert status == 200, body


def test_the_probes_need_no_login(client, a_worker_answers, beat_ticked):
    assert client.get("/dashboard/").status_code == 302
    assert client.get("/readyz/").status_code == 200


def test_the_probes_answer_a_production_process(tmp_path):
    """The real settings with DEBUG off (SSL redirect on, ALLOWED_HOSTS another name), as docker calls it."""
    code = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "print(Client().get('/healthz', HTTP_HOST='localhost:8000').status_code)\n"
        "print(Client().get('/login/', HTTP_HOST='portal.example.edu').status_code)\n"
    )
    env = {
        **_clean_environ(),
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DEBUG": "false",
        "SECRET_KEY": "x",
        "ALLOWED_HOSTS": "portal.example.edu",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    r = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["200", "301"]


def test_record_beat_tick_writes_at_most_every_15_seconds(db, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(health, "monotonic", lambda: clock[0])
    assert health.record_beat_tick() is True
    first = ServiceHeartbeat.objects.get(name="beat").seen_at
    clock[0] += 14
    assert health.record_beat_tick() is False
    assert ServiceHeartbeat.objects.get(name="beat").seen_at == first
    clock[0] += 1
    assert health.record_beat_tick() is True
    assert ServiceHeartbeat.objects.get(name="beat").seen_at > first
    assert ServiceHeartbeat.objects.count() == 1


def test_record_beat_tick_survives_a_database_error(db, monkeypatch):
    def down(**kwargs):
        raise OperationalError("server closed the connection")

    monkeypatch.setattr(ServiceHeartbeat.objects, "update_or_create", down)
    assert health.record_beat_tick() is False
    monkeypatch.undo()
    monkeypatch.setattr(health, "_last_beat_write", None)
    assert health.record_beat_tick() is True  # the next tick tries again


def test_check_beat_command_fails_when_beat_is_stale(db, settings):
    settings.BEAT_STALE_SECONDS = 60
    with pytest.raises(CommandError, match="beat has not ticked yet"):
        call_command("check_beat")
    ServiceHeartbeat.objects.create(name="beat", seen_at=timezone.now() - dt.timedelta(seconds=90))
    with pytest.raises(CommandError, match="last tick 90 s ago"):
        call_command("check_beat")
    health.record_beat_tick()
    call_command("check_beat")


@pytest.mark.worker
def test_readyz_sees_a_real_worker(client, beat_ticked):
    from tests.worker import start_worker

    _, proc = start_worker("readyz", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status, body = readyz(client)
            if body["checks"]["worker"]["ok"]:
                break
        assert status == 200, body
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
