from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Variables a test run may carry that a production process would not.
TEST_ONLY_ENV = {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "k" * 30 + "-production-secret-value-for-the-check-0123456789",
    "ALLOWED_HOSTS": "portal.example.edu",
    "DATABASE_URL": "postgres://portal:pw@db:5432/portal",
    "CELERY_BROKER_URL": "redis://redis:6379/0",
    "EMAIL_URL": "smtp+tls://mailer:pw@smtp.example.edu:587",
    "FIELD_ENCRYPTION_KEYS": "3NJxkrKZ7e-5ZgU7E2N4v7Xp6m6x1H7QZ3oYy0Xq6wU=",
}


def _clean_environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV and k not in TEST_ONLY_ENV}


def _settings_from(env: dict[str, str], expr: str) -> str:
    clean = _clean_environ()
    code = f"import django, os; os.environ['DJANGO_SETTINGS_MODULE']='portal.settings'; django.setup(); from django.conf import settings as s; print({expr})"
    return subprocess.run(
        [sys.executable, "-c", code], env={**clean, **env}, cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_defaults_need_no_server():
    out = _settings_from({}, "s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.DEBUG")
    assert out == "django.db.backends.sqlite3 filesystem:// True"


def test_sqlite_runs_in_wal_mode():
    assert "journal_mode=WAL" in _settings_from({}, "s.DATABASES['default']['OPTIONS']['init_command']")


def test_production_values_are_read_from_the_environment():
    out = _settings_from(
        PRODUCTION_ENV,
        "s.DATABASES['default']['ENGINE'], s.DATABASES['default']['HOST'], s.CELERY_BROKER_URL, "
        "s.ALLOWED_HOSTS, s.EMAIL_HOST, s.FIELD_ENCRYPTION_KEYS[0][:4]",
    )
    assert out == "django.db.backends.postgresql db redis://redis:6379/0 ['portal.example.edu'] smtp.example.edu 3NJx"


def test_production_settings_pass_the_deploy_check():
    clean = _clean_environ()
    r = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env={**clean, **PRODUCTION_ENV},
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "no issues" in r.stdout
