"""Migration 0008 moves the issues every run repeated into open items without losing an open problem:
each problem once, first seen in the earliest run that recorded it; open when its course's latest sync
still recorded it, else resolved by the first sync of its course after the last that did."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from sync.models import CourseResultStatus, RunKind, RunStatus, SyncCourseResult, SyncIssue, SyncRun
from sync.runs import issues
from sync.runs.lifecycle import create_run

pytestmark = pytest.mark.django_db

collapse = importlib.import_module("sync.migrations.0008_issues_collapse_repeats").collapse


def night(institution, *, people: list[int], course: int = 501, failed: bool = False) -> SyncRun:
    """A sync as the engine wrote it before issue 18: one row per person left out, every night."""
    run = create_run(institution, RunKind.SYNC, params={"preview": False})
    SyncRun.objects.filter(id=run.id).update(status=RunStatus.WITH_ISSUES)
    status = CourseResultStatus.FAILED if failed else CourseResultStatus.APPLIED
    SyncCourseResult.objects.create(run=run, canvas_course_id=course, label="Contracts I", status=status)
    for person in people:
        issues.record(
            run.id, "pending_invitation", object_type="person", canvas_id=person, canvas_course_id=course, label="P"
        )
    if failed:
        issues.record(run.id, "canvas_error", object_type="course", canvas_id=course, canvas_course_id=course)
    return run


def test_repeated_rows_become_one_item_each_open_or_resolved(institution_a, institution_b):
    first = night(institution_a, people=[104, 105])
    second = night(institution_a, people=[104, 105])
    third = night(institution_a, people=[104])  # 105 accepted between the second and the third night
    fourth = night(institution_a, people=[], failed=True)  # Canvas failed: 104 is still open
    other = night(institution_b, people=[104])

    collapse(apps, None)

    still = SyncIssue.objects.get(institution=institution_a, canvas_id=104, code="pending_invitation")
    assert (still.run_id, still.tracked, still.resolved_run_id) == (first.id, True, None)
    gone = SyncIssue.objects.get(institution=institution_a, canvas_id=105)
    assert (gone.run_id, gone.resolved_run_id, gone.resolved_at is not None) == (first.id, third.id, True)
    assert SyncIssue.objects.get(institution=institution_b).is_open and other.issues.count() == 1
    # A failure is a fact of its run: kept as it was, not an open item.
    failure = SyncIssue.objects.get(code="canvas_error")
    assert (failure.run_id, failure.tracked) == (fourth.id, False)
    assert SyncIssue.objects.filter(run_id=second.id).count() == 0


def test_a_collapsed_item_is_reconciled_by_the_next_sync(institution_a):
    first = night(institution_a, people=[104])
    night(institution_a, people=[104])
    collapse(apps, None)
    after = create_run(institution_a, RunKind.SYNC, params={"preview": False})

    assert issues.track_course(after, 501, None, []) == issues.Tracked(new=0, resolved=1, still_open=0)
    assert SyncIssue.objects.get(code="pending_invitation").run_id == first.id
