"""Retention: old runs and long-resolved problems go, in batches; open problems, recent history and the
months' totals stay; support reads the settings in Django admin."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings
from django.urls import reverse

from sync.models import RunStatus, SyncCourseResult, SyncIssue, SyncMonthTotal, SyncRun
from sync.runs import issues
from sync.runs.history import chart_data, month_chart_data
from sync.runs.lifecycle import create_run
from sync.runs.retention import Removed, remove_old_history
from sync.schedule import PERIODIC_TASKS, RETENTION_TASK

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)


def old_run(institution, days_ago: int, *, created: int = 3, kind: str = "sync") -> SyncRun:
    run = create_run(institution, kind)
    at = NOW - dt.timedelta(days=days_ago)
    SyncRun.objects.filter(id=run.id).update(
        created_at=at,
        started_at=at,
        finished_at=at + dt.timedelta(minutes=2),
        status=RunStatus.SUCCEEDED,
        counts={"created": created, "deactivated": 1},
    )
    SyncCourseResult.objects.create(run=run, canvas_course_id=501, label="Contracts I", status="applied")
    run.refresh_from_db()
    return run


def problem(run, canvas_id: int, *, resolved_days_ago: int | None = None) -> SyncIssue:
    item = issues.record(run.id, "pending_invitation", object_type="person", canvas_id=canvas_id, canvas_course_id=501)
    if resolved_days_ago is not None:
        item.resolved_at = NOW - dt.timedelta(days=resolved_days_ago)
    item.tracked = True
    item.save()
    return item


def test_old_runs_go_and_their_month_keeps_their_totals(institution_a):
    gone = [old_run(institution_a, 400), old_run(institution_a, 401, created=5)]
    issues.record(gone[0].id, "sync_list_empty")
    kept = old_run(institution_a, 30)

    removed = remove_old_history(NOW, batch=1)

    assert removed.runs == 2
    assert list(SyncRun.objects.values_list("id", flat=True)) == [kept.id]
    assert not SyncCourseResult.objects.filter(run_id__in=[r.id for r in gone]).exists()
    assert not SyncIssue.objects.filter(code="sync_list_empty").exists()
    [month] = SyncMonthTotal.objects.filter(institution=institution_a)
    assert (month.month, month.runs, month.created, month.deactivated, month.issues) == (
        gone[0].created_at.date().replace(day=1),
        2,
        8,
        2,
        1,
    )
    assert month.minutes == pytest.approx(4)


def test_a_months_people_added_are_its_syncs_not_its_refreshes_catalogue_rows(institution_a):
    old_run(institution_a, 400, created=5)
    old_run(institution_a, 400, created=779, kind="refresh")  # 779 new catalogue courses: not people
    old_run(institution_a, 400, created=2, kind="grade_post")  # 2 grades posted
    kept = [old_run(institution_a, 20, created=4), old_run(institution_a, 20, created=900, kind="refresh")]

    remove_old_history(NOW)

    [month] = SyncMonthTotal.objects.filter(institution=institution_a)
    assert (month.runs, month.created, month.deactivated) == (3, 5, 1)
    chart = month_chart_data(institution_a, now=NOW)  # the last 12 months: the kept runs
    assert (sum(chart["runs"]), sum(chart["created"])) == (2, 4)
    days = chart_data(institution_a, now=NOW)
    assert sum(days["created"]) == 4 and sum(days["deactivated"]) == 1, kept


def test_an_open_problem_outlives_the_run_that_first_saw_it(institution_a):
    first = old_run(institution_a, 400)
    still = problem(first, 104)

    remove_old_history(NOW)

    still.refresh_from_db()
    assert still.is_open and still.run_id is None  # first seen: still its created_at


def test_resolved_problems_go_after_their_own_retention(institution_a):
    run = old_run(institution_a, 100)
    long_ago = problem(run, 104, resolved_days_ago=91)
    recent = problem(run, 105, resolved_days_ago=10)

    assert remove_old_history(NOW).problems == 1

    assert not SyncIssue.objects.filter(id=long_ago.id).exists()
    assert SyncIssue.objects.filter(id=recent.id).exists() and SyncRun.objects.filter(id=run.id).exists()


@override_settings(SYNC_RUN_RETENTION_DAYS=10, SYNC_RESOLVED_PROBLEM_RETENTION_DAYS=5)
def test_the_settings_set_both_windows(institution_a):
    gone = old_run(institution_a, 11)
    kept = old_run(institution_a, 9)
    problem(kept, 104, resolved_days_ago=6)

    assert remove_old_history(NOW) == Removed(runs=1, problems=1)
    assert set(SyncRun.objects.values_list("id", flat=True)) == {kept.id} != {gone.id}


def test_a_running_run_is_never_removed(institution_a):
    run = old_run(institution_a, 400)
    SyncRun.objects.filter(id=run.id).update(status=RunStatus.RUNNING)

    assert remove_old_history(NOW).runs == 0


def test_beat_runs_it_from_a_migrated_database(beat_tasks_after_migrate):
    assert RETENTION_TASK in {task for task, _ in PERIODIC_TASKS.values()}
    assert beat_tasks_after_migrate[RETENTION_TASK][0]  # enabled


def test_support_reads_the_retention_settings_in_django_admin(client, support_user):
    client.force_login(support_user)

    for name in ("sync_syncrun", "sync_syncmonthtotal"):
        body = client.get(reverse(f"admin:{name}_changelist")).content.decode()
        assert "runs and their course results are kept 365 days" in body and "resolved problems 90 days" in body
