"""log_context and the log settings: LOG_FORMAT=json gives one JSON object a line, and either format
carries the fields of the work under way."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import threading

import pytest

from portal.logcontext import LogContextFilter, current_fields, log_context
from tests.portal.test_settings import ROOT, _clean_environ

LOG_A_LINE = (
    "import django, logging; django.setup()\n"
    "from portal.logcontext import log_context\n"
    "logging.getLogger('sync.engine').info('outside')\n"
    "with log_context(run_id=7, institution='alpha'):\n"
    "    logging.getLogger('sync.engine').warning('course %s synced', 501)\n"
)


def run_with(env: dict[str, str]) -> subprocess.CompletedProcess:
    env = {**_clean_environ(), "DJANGO_SETTINGS_MODULE": "portal.settings", **env}
    return subprocess.run([sys.executable, "-c", LOG_A_LINE], env=env, cwd=ROOT, capture_output=True, text=True)


def test_it_nests_and_restores_the_fields():
    assert current_fields() == {}
    with log_context(run_id=1, institution="alpha"):
        with log_context(course=501):
            assert current_fields() == {"run_id": 1, "institution": "alpha", "course": 501}
        assert current_fields() == {"run_id": 1, "institution": "alpha"}
    assert current_fields() == {}


def test_the_fields_stay_with_their_own_thread():
    seen = []
    with log_context(run_id=1):
        t = threading.Thread(target=lambda: seen.append(current_fields()))
        t.start()
        t.join()
    assert seen == [{}]


def test_the_filter_copies_the_fields_onto_records():
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.addFilter(LogContextFilter(text=True))
    handler.setFormatter(logging.Formatter("%(message)s|%(run_id)s|%(context)s"))
    logger = logging.getLogger("tests.logcontext")
    logger.addHandler(handler)
    try:
        with log_context(run_id=3, institution="beta"):
            logger.warning("hello")
    finally:
        logger.removeHandler(handler)
    assert buf.getvalue() == "hello|3| run_id=3 institution=beta\n"


def test_json_logs_carry_the_run_and_institution():
    r = run_with({"LOG_FORMAT": "json"})
    assert r.returncode == 0, r.stderr
    outside, inside = (json.loads(line) for line in r.stderr.splitlines())
    assert inside["message"] == "course 501 synced"
    assert inside["level"] == "WARNING" and inside["logger"] == "sync.engine"
    assert inside["run_id"] == 7 and inside["institution"] == "alpha"
    assert "timestamp" in inside
    assert "run_id" not in outside and "context" not in inside


def test_plain_logs_append_the_run_and_institution():
    r = run_with({})
    assert r.returncode == 0, r.stderr
    outside, inside = r.stderr.splitlines()
    assert outside.endswith("INFO sync.engine outside")
    assert inside.endswith("WARNING sync.engine course 501 synced run_id=7 institution=alpha")


@pytest.mark.parametrize("value", ["JSON ", "logfmt"])
def test_an_unknown_log_format_is_refused(value):
    r = run_with({"LOG_FORMAT": value})
    assert r.returncode != 0
    assert "it must be plain or json" in r.stderr
