"""A running sync's progress: about how long is left at the pace so far, and the courses being synced now
(from the run's course results), on the run page and in its poll."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from sync.models import CourseResultStatus, RunKind, RunStatus, SyncCourseResult, SyncRun
from sync.runs.progress import progress_of, time_left

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 9, 1, 6, 0, tzinfo=dt.UTC)


def running(institution, done: int, total: int, **fields) -> SyncRun:
    fields = {
        "kind": RunKind.SYNC,
        "status": RunStatus.RUNNING,
        "started_at": T0,
        "done": done,
        "total": total,
        **fields,
    }
    return SyncRun.objects.create(institution=institution, **fields)


def results(run: SyncRun, *labels: str, status=CourseResultStatus.RUNNING) -> None:
    for n, label in enumerate(labels):
        SyncCourseResult.objects.create(run=run, canvas_course_id=500 + n, label=label, status=status)


@pytest.mark.parametrize(
    ("done", "total", "elapsed_s", "text"),
    [
        (10, 50, 120, "about 8 min left"),  # 12 s a course, 40 to go: 480 s
        (45, 50, 540, "about 1 min left"),  # 12 s a course, 5 to go
        (49, 50, 100, "less than a minute left"),
        (1, 3, 200, "about 7 min left"),  # 400 s, rounded up
        (0, 50, 60, ""),  # no pace yet
        (50, 50, 600, ""),  # all done: the page is about to show the results
    ],
)
def test_the_time_left_is_the_pace_so_far(institution_a, done, total, elapsed_s, text):
    run = running(institution_a, done, total)
    assert time_left(run, T0 + dt.timedelta(seconds=elapsed_s)) == text


def test_a_queued_run_or_one_without_a_total_has_no_estimate(institution_a):
    assert time_left(running(institution_a, 0, 10, status=RunStatus.QUEUED), T0) == ""
    assert time_left(running(institution_a, 3, 0, kind=RunKind.REFRESH), T0 + dt.timedelta(minutes=5)) == ""


def test_the_courses_being_synced_now_are_named(institution_a):
    run = running(institution_a, 2, 8)
    results(run, "Done one", "Done two", status=CourseResultStatus.APPLIED)
    results(run, "Waiting", status=CourseResultStatus.PENDING)
    results(run, "Contracts I", "Torts", "Evidence", "Property", "Equity")
    progress = progress_of(run, T0 + dt.timedelta(minutes=2))
    assert progress.current == ["Contracts I", "Torts", "Evidence"] and progress.more == 2
    assert progress.left == "about 6 min left"


def test_the_run_page_and_its_poll_show_them(client_a, institution_a):
    run = running(institution_a, 1, 4, started_at=timezone.now() - dt.timedelta(seconds=170))
    results(run, "Contracts I")
    for url in (reverse("sync-run", args=[run.id]), reverse("sync-run-progress", args=[run.id])):
        body = client_a.get(url).content.decode()
        assert "<strong>1</strong> of 4 courses done, " in body
        assert '<span data-testid="run-time-left">about 9 min left</span>' in body
        assert "Syncing now: Contracts I." in body
        assert '<h2 id="progress-heading">Syncing</h2>' in body  # the page's title says Running already


def test_another_institutions_run_progress_is_a_404(client_b, institution_a):
    run = running(institution_a, 1, 4)
    results(run, "Contracts I")
    r = client_b.get(reverse("sync-run-progress", args=[run.id]))
    assert r.status_code == 404 and "Contracts I" not in r.content.decode()
