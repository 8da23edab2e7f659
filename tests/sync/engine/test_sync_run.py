"""Sync runs: the roster guard and Approve, one active sync, fan-out that survives duplicate delivery."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from portal.models import Enrollment
from sync.engine import approve_held, finalize_run, start_sync, sync_batch
from sync.models import CourseResultStatus, RunStatus, SyncCourseResult, SyncRun
from sync.runs import lifecycle
from sync.runs.readable import issue_fix
from tests.sync.engine_helpers import add_entry, catalog_from_sim, issue_codes, sync


def big_course(sim, students: int = 12) -> None:
    users = [
        {"id": 3000 + i, "name": f"P {i}", "sortable_name": f"{i}, P", "sis_user_id": f"B{i:03}"}
        for i in range(students)
    ]
    enrollments = [
        {"id": 7000 + i, "user_id": 3000 + i, "course_id": 501, "course_section_id": 801, "type": "StudentEnrollment", "role_id": 3, "enrollment_state": "active"}
        for i in range(students)
    ]  # fmt: skip
    sim.control("mutate", {"upsert": {"users": users, "enrollments": enrollments}})


@pytest.fixture
def stats_course(connected, sim, institution_a, db):
    big_course(sim)
    catalog_from_sim(institution_a, sim)
    add_entry(institution_a, 501)
    return sim


def drop(sim, count: int) -> None:
    sim.control("mutate", {"delete": {"enrollments": [7000 + i for i in range(count)]}})


@pytest.mark.django_db
def test_a_drastic_roster_drop_is_held_with_an_issue(stats_course, institution_a):
    sync(institution_a)
    drop(stats_course, 8)  # 8 of 14 is more than half
    run = sync(institution_a)

    result = run.course_results.get()
    assert result.status == CourseResultStatus.HELD
    assert issue_codes(run)["roster_shrink_held"] == {501}
    assert Enrollment.objects.filter(status="active").count() == 14
    assert run.status == RunStatus.WITH_ISSUES and run.counts["held"] == 8


@pytest.mark.django_db
def test_a_drop_of_half_or_less_is_applied(stats_course, institution_a):
    sync(institution_a)
    drop(stats_course, 7)
    run = sync(institution_a)

    assert run.course_results.get().status == CourseResultStatus.APPLIED
    assert Enrollment.objects.filter(status="active").count() == 7


@pytest.mark.django_db
def test_the_threshold_is_an_institution_setting(stats_course, institution_a):
    sync(institution_a)
    institution_a.sync_hold_percent = 20
    institution_a.save()
    drop(stats_course, 3)

    assert sync(institution_a).course_results.get().status == CourseResultStatus.HELD


@pytest.mark.django_db
def test_a_small_course_emptied_at_once_is_held(connected, sim, institution_a):
    catalog_from_sim(institution_a, sim)
    add_entry(institution_a, 501)
    sync(institution_a)
    sim.control("mutate", {"delete": {"enrollments": [9001, 9002]}})

    assert sync(institution_a).course_results.get().status == CourseResultStatus.HELD


@pytest.mark.django_db
def test_approve_applies_the_held_course(stats_course, institution_a, admin_a):
    sync(institution_a)
    drop(stats_course, 8)
    run = sync(institution_a)
    result = approve_held(run.course_results.get(), admin_a)

    assert result.status == CourseResultStatus.APPROVED and result.approved_by == admin_a
    assert Enrollment.objects.filter(status="active").count() == 6
    run.refresh_from_db()
    assert run.counts["deactivated"] == 8 and run.counts["held"] == 0


@pytest.mark.django_db
def test_a_second_sync_now_while_one_is_active_is_refused(contracts_entry):
    first = start_sync(contracts_entry, enqueue=False)
    with pytest.raises(lifecycle.RunAlreadyActive) as exc:
        start_sync(contracts_entry, enqueue=False)
    assert exc.value.run == first


@pytest.fixture
def contracts_entry(connected, sim, institution_a):
    catalog_from_sim(institution_a, sim)
    add_entry(institution_a, 501)
    add_entry(institution_a, 505)
    return institution_a


@pytest.mark.django_db(transaction=True)
def test_concurrent_clicks_create_one_active_sync(contracts_entry):
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def click() -> None:
        barrier.wait()
        try:
            start_sync(contracts_entry, enqueue=False)
            outcomes.append("started")
        except lifecycle.RunAlreadyActive:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["refused", "refused", "refused", "started"]
    assert SyncRun.objects.filter(status__in=["queued", "running"]).count() == 1


@pytest.mark.django_db
def test_a_batch_delivered_twice_syncs_once_and_the_run_finishes_once(contracts_entry):
    run = start_sync(contracts_entry, enqueue=False)
    numbers = sorted(set(run.course_results.values_list("batch", flat=True)))
    for number in numbers + numbers:
        sync_batch(run.id, number)

    run.refresh_from_db()
    assert run.status == RunStatus.WITH_ISSUES and run.done == 2
    assert not finalize_run(run.id)
    assert Enrollment.objects.count() == 2


@pytest.mark.django_db
def test_a_course_whose_worker_died_is_taken_over_after_the_timeout(contracts_entry, settings):
    import datetime as dt

    from django.utils import timezone

    run = start_sync(contracts_entry, enqueue=False)
    first, second = run.course_results.order_by("batch")
    assert first.batch != second.batch  # two courses: a batch each, so they may run on two workers
    SyncCourseResult.objects.filter(id=first.id).update(status="running", claimed_at=timezone.now())
    sync_batch(run.id, first.batch)  # a redelivery while its worker still works: nothing to claim
    sync_batch(run.id, second.batch)
    run.refresh_from_db()
    assert run.is_active  # the first is still open
    SyncCourseResult.objects.filter(id=first.id).update(claimed_at=timezone.now() - dt.timedelta(hours=1))
    sync_batch(run.id, first.batch)  # its worker died: the redelivery takes it over
    run.refresh_from_db()
    assert not run.is_active and run.course_results.filter(status="applied").count() == 2


@pytest.mark.django_db
def test_sync_now_sends_the_first_batches_after_commit_and_each_batch_sends_the_next(
    contracts_entry, django_capture_on_commit_callbacks, monkeypatch, settings
):
    settings.SYNC_BATCHES_IN_FLIGHT, settings.SYNC_BATCH_COURSES = 1, 1
    sent: list[tuple] = []
    monkeypatch.setattr("sync.tasks.sync_batch_task.apply_async", lambda args, **options: sent.append(args))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = start_sync(contracts_entry)
    assert sent == []  # nothing leaves before the run's rows are committed
    for callback in callbacks:
        callback()
    run.refresh_from_db()
    assert run.batch_count == 2 and sent == [(run.id, 1)]  # one batch in flight at a time
    sync_batch(*sent[0])
    assert sent == [(run.id, 1), (run.id, 2)]
    sync_batch(*sent[1])
    run.refresh_from_db()
    assert not run.is_active and run.done == 2


@pytest.mark.django_db
def test_an_empty_sync_list_says_so(connected, institution_a):
    run = sync(institution_a)
    assert run.status == RunStatus.WITH_ISSUES and "sync_list_empty" in issue_codes(run)


@pytest.mark.django_db
def test_an_entry_whose_end_date_passed_is_not_synced_and_the_run_says_so(connected, sim, institution_a):
    import datetime as dt

    catalog_from_sim(institution_a, sim)
    add_entry(institution_a, 501)
    add_entry(institution_a, 502, end_date=dt.date(2020, 1, 31), start_date=dt.date(2019, 9, 1))

    run = sync(institution_a)

    assert list(run.course_results.values_list("canvas_course_id", flat=True)) == [501]
    ended = run.issues.get(code="entry_ended")
    assert "ended on Jan 31, 2020" in ended.message and "extend its End Date" in issue_fix(ended)
    assert (ended.label, ended.canvas_course_id) == ("History of Science", 502)  # the run page names it


@pytest.mark.django_db
def test_the_command_syncs_and_previews(contracts_entry, capsys):
    from django.core.management import call_command

    call_command("canvas_sync", "--institution", "alpha", "--preview")
    assert "Preview of 2 courses" in capsys.readouterr().out
    assert not Enrollment.objects.exists()
    call_command("canvas_sync", "--institution", "alpha")
    assert Enrollment.objects.count() == 2


@pytest.mark.django_db
def test_the_run_says_its_courses_in_words_not_course_s(connected, sim, institution_a):
    catalog_from_sim(institution_a, sim)
    add_entry(institution_a, 501)
    assert sync(institution_a).message.startswith("Synced 1 of 1 course: ")
    add_entry(institution_a, 503)  # unpublished: not synced
    run = sync(institution_a)
    assert run.message.startswith("Synced 1 of 2 courses: ") and "(s)" not in run.message


@pytest.mark.django_db
def test_after_approve_the_runs_summary_no_longer_says_held(stats_course, institution_a, admin_a):
    sync(institution_a)
    drop(stats_course, 8)
    run = sync(institution_a)
    assert "1 held for approval" in run.message

    approve_held(run.course_results.get(), admin_a)

    run.refresh_from_db()
    assert run.message.startswith("Synced 1 of 1 course: 0 created, 0 updated, 8 deactivated")
    assert "held" not in run.message
