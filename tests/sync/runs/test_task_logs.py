"""Each log line emitted inside a task body (including Canvas calls made on the request pool's threads)
carries the run's id and institution, in the JSON format the settings define, and no secret."""

from __future__ import annotations

import io
import json
import logging

import pytest
from django.conf import settings
from django.utils.module_loading import import_string

from lms_canvas.models import CanvasConnection
from sync.engine import start_sync
from sync.models import RunKind
from sync.runs.lifecycle import create_run
from sync.tasks import refresh_catalog_task, sync_batch_task
from tests.sync.engine_helpers import add_entry, catalog_from_sim


def build(spec: dict):
    spec = dict(spec)
    return import_string(spec.pop("()"))(**spec)


class Capture(logging.Handler):
    """The settings' JSON handler, keeping each record beside its formatted line."""

    def __init__(self) -> None:
        super().__init__()
        self.addFilter(build(settings.LOGGING["filters"]["log_context"]))
        self.setFormatter(build(settings.LOGGING["formatters"]["json"]))
        self.stream = io.StringIO()
        self.lines: list[tuple[logging.LogRecord, dict]] = []

    def emit(self, record: logging.LogRecord) -> None:
        line = self.format(record)
        self.stream.write(line + "\n")
        self.lines.append((record, json.loads(line)))


@pytest.fixture
def json_logs(caplog):
    caplog.set_level(logging.DEBUG)
    handler = Capture()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)


def secrets_of(institution) -> list[str]:
    conn = CanvasConnection.objects.get(institution=institution)
    return [conn.client_secret, conn.access_token, conn.refresh_token]


def test_a_refresh_task_logs_its_run_and_institution_from_every_thread(connected, institution_a, json_logs):
    run = create_run(institution_a, RunKind.REFRESH)
    refresh_catalog_task(run.id)
    canvas = [(r, line) for r, line in json_logs.lines if r.name.startswith("lms_canvas")]
    assert canvas, "the refresh should have logged its Canvas calls"
    assert any(r.threadName.startswith("canvas") for r, _ in canvas), "some calls run on the request pool"
    for _, line in canvas:
        assert (line["run_id"], line["institution"]) == (run.id, "alpha"), line
    assert all(s not in json_logs.stream.getvalue() for s in secrets_of(institution_a))


def test_a_batch_task_logs_its_run_and_institution(connected, institution_a, sim, json_logs):
    catalog_from_sim(institution_a, sim)
    add_entry(institution_a, 501)
    run = start_sync(institution_a, enqueue=False)
    json_logs.lines.clear()
    sync_batch_task(run.id, 1)
    assert json_logs.lines, "the course's sync should have logged"
    for _, line in json_logs.lines:
        assert (line["run_id"], line["institution"]) == (run.id, "alpha"), line
    assert all(s not in json_logs.stream.getvalue() for s in secrets_of(institution_a))


def test_the_log_lookup_is_one_query(connected, institution_a, sim, django_assert_num_queries, monkeypatch):
    catalog_from_sim(institution_a, sim)
    add_entry(institution_a, 501)
    run = start_sync(institution_a, enqueue=False)
    monkeypatch.setattr("sync.engine.sync_batch", lambda run_id, number, queue=None: None)
    with django_assert_num_queries(1):
        sync_batch_task(run.id, 1)
