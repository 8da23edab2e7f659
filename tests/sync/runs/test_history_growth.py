"""The history grows with change, not with nights (issue 18): a course a sync found nothing to change
in and no new or resolved problem is folded into the run's count once the run ends; problems are tracked a batch at a
time; a course removed from the sync list, or whose entry ended, does not leave its problems open for
ever; an ended entry is one open item; View History's months survive retention."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from sync.engine.apply import ApplyOutcome
from sync.engine.plan import Exclusion
from sync.engine.runner import record_outcomes
from sync.models import Resolution, RunKind, SyncCourseResult, SyncIssue, SyncMonthTotal, SyncRun, empty_counts
from sync.runs import issues
from sync.runs.history import month_chart_data
from sync.runs.lifecycle import create_run
from sync.runs.retention import remove_old_history
from tests.sync.engine_helpers import add_entry, catalog_from_sim, sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_courses(connected, sim, institution_a):
    """Contracts I (501: people it leaves out) and History of Science (502), given SIS ids (its own and
    its section's) so that a second sync finds nothing to change in it and no problem."""
    sim.control(
        "mutate",
        {
            "upsert": {
                "courses": [{"id": 502, "sis_course_id": "HIST-210-F26"}],
                "sections": [{"id": 803, "sis_section_id": "HIST-210-F26-A"}],
            }
        },
    )
    catalog_from_sim(institution_a, sim)
    return add_entry(institution_a, 501), add_entry(institution_a, 502)


def test_a_course_with_nothing_to_change_is_folded_into_the_run_once_it_ends(two_courses, institution_a, client_a):
    first = sync(institution_a)
    preview = sync(institution_a, preview=True)  # what the next sync finds, course by course, never folded
    second = sync(institution_a)

    assert first.quiet_courses == 0  # every course's people were created the first night
    # Nothing changed in either; Contracts I still leaves the same people out (still open, not new).
    assert (second.quiet_courses, SyncCourseResult.objects.filter(run=second).count()) == (2, 0)
    # The run's counts are the sum over both courses, as before the fold.
    assert second.counts["unchanged"] == preview.counts["unchanged"] > 0
    assert second.counts["skipped"] == first.counts["skipped"] > 0
    assert second.total == 2
    body = client_a.get(reverse("sync-run", args=[second.id])).content.decode()
    assert "2 courses: 2 synced with nothing to change." in body
    assert "0 new" in body and "0 resolved" in body and "6 still open from earlier syncs" in body
    assert SyncIssue.objects.filter(canvas_course_id=501, tracked=True, resolved_at=None).count() == 6


def test_a_course_whose_problems_changed_keeps_its_row(two_courses, institution_a, sim, client_a):
    sync(institution_a)
    enrollment = next(e for e in sim.store.tables["enrollments"].values() if e["user_id"] == 104)
    sim.control("mutate", {"upsert": {"enrollments": [{"id": enrollment["id"], "enrollment_state": "active"}]}})
    second = sync(institution_a)

    [contracts] = SyncCourseResult.objects.filter(run=second)
    assert contracts.label == "Contracts I" and second.quiet_courses == 1
    body = client_a.get(reverse("sync-run", args=[second.id])).content.decode()
    assert "2 courses: 1 synced with nothing to change (not listed) · 1 synced." in body
    assert "History of Science" not in body.split('id="courses"')[1].split('id="issues"')[0]
    assert "1 resolved" in body and "5 still open from earlier syncs" in body


def test_a_course_whose_problem_went_away_keeps_its_row_in_the_run_that_resolved_it(two_courses, institution_a, sim):
    sync(institution_a)
    sync(institution_a)
    sim.control("mutate", {"upsert": {"courses": [{"id": 502, "sis_course_id": None}]}})
    blocked = sync(institution_a)
    sim.control("mutate", {"upsert": {"courses": [{"id": 502, "sis_course_id": "HIST-210-F26"}]}})
    fixed = sync(institution_a)

    assert SyncCourseResult.objects.filter(run=blocked, canvas_course_id=502, status="skipped").exists()
    [item] = SyncIssue.objects.filter(canvas_course_id=502, code="no_course_id")
    assert (item.run_id, item.resolved_run_id, item.resolution) == (blocked.id, fixed.id, Resolution.GONE)
    assert list(SyncCourseResult.objects.filter(run=fixed).values_list("canvas_course_id", flat=True)) == [502]
    assert fixed.quiet_courses == 1  # Contracts I: nothing changed in it, its problems still open


def test_a_preview_keeps_every_course(two_courses, institution_a):
    sync(institution_a)
    preview = sync(institution_a, preview=True)

    assert preview.quiet_courses == 0
    assert SyncCourseResult.objects.filter(run=preview).count() == 2


def test_why_says_a_folded_course_was_synced_with_nothing_to_change(two_courses, institution_a, client_a):
    sync(institution_a)
    second = sync(institution_a)

    body = client_a.get(reverse("sync-why"), {"q": "HIST-210"}).content.decode()
    assert f"Latest sync (#{second.id}): Synced, nothing to change." in body
    assert "did not include it" not in body


def test_problems_of_a_batch_are_tracked_in_a_few_statements(institution_a):
    run = create_run(institution_a, RunKind.SYNC, params={"preview": False})
    found = {
        (7000 + n, None): [Exclusion("pending_invitation", "enrollment", 100 + p, f"Person {p}") for p in range(5)]
        for n in range(50)
    }
    issues.track_courses(run, found)
    SyncRun.objects.filter(id=run.id).update(status="succeeded")
    later = create_run(institution_a, RunKind.SYNC, params={"preview": False})
    # The next night: in each course one person accepted, one new one is pending, one changed name.
    found = {
        scope: [left[0], Exclusion("pending_invitation", "enrollment", 100, "Person 0, renamed"), *left[2:]][1:]
        + [Exclusion("pending_invitation", "enrollment", 999, "Person new")]
        for scope, left in found.items()
    }

    with CaptureQueriesContext(connection) as queries:
        tracked = issues.track_courses(later, found)

    assert len(queries) <= 5  # one read, one insert, one resolve, one update (and a savepoint at most)
    assert set(tracked.values()) == {issues.Tracked(new=1, resolved=1, still_open=4)}
    assert SyncIssue.objects.filter(run=later).count() == 50
    assert SyncIssue.objects.filter(resolved_run=later, resolution=Resolution.GONE).count() == 50


def test_a_group_of_applied_courses_is_recorded_in_a_few_statements(institution_a):
    run = create_run(institution_a, RunKind.SYNC, params={"preview": False})
    results = SyncCourseResult.objects.bulk_create(
        SyncCourseResult(run=run, canvas_course_id=8000 + n, label=f"Course {n}", status="running") for n in range(30)
    )
    pending = [Exclusion("pending_invitation", "enrollment", 100, "Person 0")]
    blocked = Exclusion("no_course_id", "course", 8000, "Course 0")
    outcomes = [
        ApplyOutcome("blocked", empty_counts(), None, [blocked])  # type: ignore[arg-type]
        if n == 0
        else ApplyOutcome("applied", empty_counts() | {"unchanged": 3, "skipped": 1}, None, pending)  # type: ignore[arg-type]
        for n in range(30)
    ]

    with CaptureQueriesContext(connection) as queries:
        record_outcomes(run, [(r, None, o) for r, o in zip(results, outcomes, strict=True)])  # type: ignore[misc]

    assert len(queries) <= 6  # the open problems read, their insert, the results' one update (savepoints)
    statuses = dict(SyncCourseResult.objects.filter(run=run).values_list("canvas_course_id", "status"))
    assert statuses[8000] == "skipped" and set(statuses.values()) == {"skipped", "applied"}
    assert SyncIssue.objects.filter(run=run, tracked=True).count() == 30  # 29 invitations, 1 missing course id


def test_problems_of_a_course_removed_from_the_sync_list_are_resolved_by_the_next_sync(
    two_courses, institution_a, client_a
):
    contracts, history = two_courses
    first = sync(institution_a)
    open_before = SyncIssue.objects.filter(canvas_course_id=501, tracked=True, resolved_at=None).count()
    contracts.delete()
    second = sync(institution_a)

    resolved = SyncIssue.objects.filter(canvas_course_id=501, resolved_run=second)
    assert open_before > 0 and resolved.count() == open_before
    assert set(resolved.values_list("resolution", flat=True)) == {Resolution.REMOVED}
    assert not SyncIssue.objects.filter(canvas_course_id=501, tracked=True, resolved_at=None).exists()
    assert first.id != second.id
    body = client_a.get(reverse("sync-run", args=[second.id])).content.decode()
    assert f"{open_before} resolved" in body and "removed from the sync list" in body
    rows = list(csv.reader(io.StringIO(client_a.get(reverse("sync-run-csv", args=[second.id])).content.decode())))
    resolved_rows = [row for row in rows[1:] if row[-2] == "resolved"]
    assert len(resolved_rows) == open_before
    assert {row[-1] for row in resolved_rows} == {"Its course or section was removed from the sync list"}


def test_an_ended_entry_is_one_open_item_across_nights(two_courses, institution_a):
    contracts, _ = two_courses
    sync(institution_a)
    contracts.end_date = contracts.start_date = timezone.localdate() - dt.timedelta(days=3)
    contracts.save()
    first = sync(institution_a)
    second = sync(institution_a)

    [ended] = SyncIssue.objects.filter(code="entry_ended")
    assert (ended.run_id, ended.is_open, ended.canvas_course_id) == (first.id, True, 501)
    assert not second.issues.filter(code="entry_ended").exists()
    # Nothing syncs the course any more: what it left out is no longer a problem the syncs can see.
    others = SyncIssue.objects.filter(canvas_course_id=501, tracked=True).exclude(code="entry_ended")
    assert set(others.values_list("resolution", flat=True)) == {Resolution.ENDED}
    assert set(others.values_list("resolved_run_id", flat=True)) == {first.id}

    contracts.end_date = None
    contracts.save()
    third = sync(institution_a)
    ended.refresh_from_db()
    assert (ended.resolved_run_id, ended.resolution) == (third.id, Resolution.GONE)


def month_total(institution, month: dt.date, **figures) -> SyncMonthTotal:
    return SyncMonthTotal.objects.create(institution=institution, month=month, **figures)


def test_the_month_chart_adds_the_totals_of_removed_runs_to_the_runs_kept(institution_a, institution_b):
    now = timezone.now()
    this_month = now.date().replace(day=1)
    run = create_run(institution_a, RunKind.SYNC, params={"preview": False})
    SyncRun.objects.filter(id=run.id).update(status="succeeded", counts={"created": 4, "deactivated": 1})
    old = create_run(institution_b, RunKind.SYNC, params={"preview": False})
    SyncRun.objects.filter(id=old.id).update(status="succeeded", counts={"created": 50})
    month_total(institution_a, this_month, runs=2, created=10, deactivated=3, issues=7)
    month_total(institution_b, this_month, runs=9, created=90)  # another institution's: never in A's chart

    data = month_chart_data(institution_a, now)

    assert len(data["labels"]) == 12 and data["labels"][-1] == f"{this_month:%b %Y}"
    assert (data["runs"][-1], data["created"][-1], data["deactivated"][-1], data["issues"][-1]) == (3, 14, 4, 7)


def test_the_month_chart_survives_retention(institution_a, settings):
    settings.SYNC_RUN_RETENTION_DAYS = 30
    now = timezone.now()
    for days in (40, 45, 2):
        run = create_run(institution_a, RunKind.SYNC, params={"preview": False})
        SyncRun.objects.filter(id=run.id).update(
            status="succeeded", counts={"created": 5}, created_at=now - dt.timedelta(days=days)
        )
        issues.record(run.id, "sync_list_empty")
    before = month_chart_data(institution_a, now)

    removed = remove_old_history(now)

    assert removed.runs == 2
    assert month_chart_data(institution_a, now) == before
    assert sum(before["runs"]) == 3 and sum(before["created"]) == 15 and sum(before["issues"]) == 3


def test_view_history_shows_the_last_12_months(client_a, institution_a):
    month_total(institution_a, timezone.now().date().replace(day=1), runs=3, created=12)

    body = client_a.get(reverse("sync-history")).content.decode()

    assert "Last 12 months" in body and 'id="history-month-chart-data"' in body


def test_the_results_a_night_keeps_are_written_after_its_work_queue(institution_a):
    """Every course of a night has a result row while the run goes on (the work queue); the fold keeps
    1 in 20. Left in place, those 150 would sit on every page of the table and of each index, no page
    would empty, and each night would grow the table by all 3,000 rows' index entries (156 kB a night
    measured on PostgreSQL, against 0 once rewritten). Rewritten after the queue, every row the queue
    wrote is gone: its pages are free for the next night once vacuumed. A held course keeps its row,
    which its Approve button names."""
    from sync.engine.runner import fold_quiet_results

    run = create_run(institution_a, RunKind.SYNC, params={"preview": False})
    queue = SyncCourseResult.objects.bulk_create(
        SyncCourseResult(
            run=run,
            canvas_course_id=10_000 + n,
            label=f"Course {n:04}",
            status="held" if n == 7 else "applied",
            counts=empty_counts() | {"updated": int(n % 20 == 0), "unchanged": 30},
        )
        for n in range(3000)
    )
    held = queue[7]

    assert fold_quiet_results(run) == 3000 - 150 - 1
    kept = SyncCourseResult.objects.filter(run=run).exclude(id=held.id)
    assert sorted(kept.values_list("canvas_course_id", flat=True)) == [10_000 + n for n in range(0, 3000, 20)]
    assert min(kept.values_list("id", flat=True)) > max(result.id for result in queue)
    assert all(result.counts["updated"] == 1 and result.label.startswith("Course ") for result in kept)
    assert SyncCourseResult.objects.get(id=held.id).status == "held"
    assert fold_quiet_results(run) == 0  # a second batch finishing at once finds it folded
    assert SyncCourseResult.objects.filter(run=run).count() == 151


def test_a_problem_row_keeps_only_what_it_adds_to_its_reason(two_courses, institution_a, client_a):
    """The reason's sentence and fix are the registry's: a copy in each row was 264 of a problem's 465
    bytes, for every person a night leaves out. The CSVs and support's admin still say both in full."""
    from sync.runs.readable import issue_fix, issue_text
    from sync.runs.reasons import REASONS

    run = sync(institution_a)
    problems = list(SyncIssue.objects.filter(run=run, tracked=True))

    assert problems
    for problem in problems:
        why = REASONS[problem.code]
        assert problem.fix == "" and not problem.message.startswith(why.sentence)
        assert issue_text(problem).startswith(why.sentence) and issue_fix(problem) == why.fix
    rows = list(csv.reader(io.StringIO(client_a.get(reverse("sync-run-csv", args=[run.id])).content.decode())))
    header, listed = rows[0], {(r[2], r[7]): r for r in rows[1:]}
    first = problems[0]
    row = listed[(first.code, first.label)]
    assert row[header.index("message")].startswith(REASONS[first.code].sentence)
    assert row[header.index("fix")] == REASONS[first.code].fix
    # A row written before kept the sentence and the fix: it reads the same.
    old = SyncIssue(code=first.code, message=f"{REASONS[first.code].sentence} (detail)", fix=REASONS[first.code].fix)
    assert issue_text(old) == f"{REASONS[first.code].sentence} (detail)" and issue_fix(old) == REASONS[first.code].fix
