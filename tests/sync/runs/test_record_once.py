"""A run-level reason found by many courses, in batches running at once, is one issue."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from sync.models import RunKind, SyncIssue
from sync.runs import issues, lifecycle


@pytest.mark.django_db(transaction=True)
def test_batches_finding_one_reason_together_record_it_once(institution_a):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    run = lifecycle.create_run(institution_a, RunKind.SYNC)
    start = threading.Barrier(4)

    def find() -> None:
        start.wait()
        try:
            issues.record_once(run.id, "includes_off")
        finally:
            connection.close()

    threads = [threading.Thread(target=find) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert SyncIssue.objects.filter(run=run, code="includes_off", object_type="run").count() == 1
    assert issues.record_once(run.id, "includes_off") is None
