"""What keeps Open problems and a run page cheap under many admins (issue 18's benchmark (b)) without
hiding anything: the open-problem counts are cached per institution until the issue writer changes
them, and a run's course table comes a page at a time with a link to the rest."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from lms_canvas.models import CanvasConnection
from sync.engine.plan import Exclusion
from sync.models import CourseResultStatus, RunKind, RunStatus, SyncCourseResult, SyncRun
from sync.runs import issues, views
from sync.runs.history import chart_data, month_chart_data
from sync.runs.lifecycle import create_run
from sync.runs.open_counts import open_total
from sync.runs.views import RESULTS_PAGE_SIZE
from tests.sync.runs.run_helpers import FIRST_COURSE, PERSON_REASONS, run_with_many_issues

pytestmark = pytest.mark.django_db


def summary(client) -> str:
    body = client.get(reverse("sync-problems")).content.decode()
    return re.search(r'data-testid="problems-summary">([^<]*)', body).group(1)


def test_the_cached_counts_change_when_a_sync_resolves_problems(client_a, institution_a):
    first = run_with_many_issues(institution_a, courses=2, people=10)
    before = open_total(institution_a.id)
    assert summary(client_a).startswith(f"{before} things")  # counted, and now cached

    night = create_run(institution_a, RunKind.SYNC, params={"preview": False})
    issues.track_course(night, FIRST_COURSE, None, [])  # the first course's problems all went away

    after = open_total(institution_a.id)
    assert after == before - 10 and first.issues.filter(resolved_run=night).count() == 10
    assert summary(client_a).startswith(f"{after} things")


def test_the_cached_counts_change_when_a_sync_finds_new_problems(client_a, institution_a):
    run_with_many_issues(institution_a, courses=1, people=4)
    before = open_total(institution_a.id)
    night = create_run(institution_a, RunKind.SYNC, params={"preview": False})
    still = [
        Exclusion(PERSON_REASONS[p % len(PERSON_REASONS)], "enrollment", 100 + p, f"Person {p} (p{p}@example.edu)")
        for p in range(4)
    ]
    issues.track_course(night, FIRST_COURSE, None, [*still, Exclusion("pending_invitation", "enrollment", 999, "New")])
    assert open_total(institution_a.id) == before + 1
    assert summary(client_a).startswith(f"{before + 1} things")


def test_another_institutions_cached_counts_are_never_shown(admin_a, admin_b, institution_a):
    run_with_many_issues(institution_a, courses=2, people=10)
    alice, bob = Client(), Client()
    alice.force_login(admin_a)
    bob.force_login(admin_b)
    assert "things the syncs left out" in summary(alice)  # institution A's counts, now cached
    assert summary(bob).startswith("Nothing is left out")
    assert "Person 1" not in bob.get(reverse("sync-problems")).content.decode()


def test_a_runs_course_table_is_paginated_and_shows_the_rest(client_a, institution_a):
    run = create_run(institution_a, RunKind.SYNC, params={"preview": False})
    count = RESULTS_PAGE_SIZE + 7
    SyncCourseResult.objects.bulk_create(
        SyncCourseResult(
            run=run, canvas_course_id=FIRST_COURSE + n, label=f"Course {n:03}", status=CourseResultStatus.APPLIED
        )
        for n in range(count)
    )
    SyncRun.objects.filter(id=run.id).update(status=RunStatus.SUCCEEDED)
    url = reverse("sync-run", args=[run.id])

    first = client_a.get(url).content.decode()
    assert f"{count} courses: {count} synced" in first
    assert first.count('<tr class="result-applied">') == RESULTS_PAGE_SIZE
    assert f"Courses 1-{RESULTS_PAGE_SIZE} of {count}" in first and "courses=2#courses" in first
    second = client_a.get(url, {"courses": 2}).content.decode()
    assert second.count('<tr class="result-applied">') == 7
    assert "Course 056" in second and "Course 000" not in second
    assert "Previous courses" in second


def test_an_ended_runs_cached_page_is_never_another_institutions(admin_a, admin_b, institution_a, institution_b):
    mine = run_with_many_issues(institution_a, courses=2, people=10)
    theirs = run_with_many_issues(institution_b, courses=1, people=3)
    alice, bob = Client(), Client()
    alice.force_login(admin_a)
    bob.force_login(admin_b)
    assert "Person 9" in alice.get(reverse("sync-run", args=[mine.id])).content.decode()  # now cached
    assert bob.get(reverse("sync-run", args=[mine.id])).status_code == 404
    theirs_page = bob.get(reverse("sync-run", args=[theirs.id])).content.decode()
    assert "Person 9" not in theirs_page and "Person 2" in theirs_page


def test_an_ended_runs_cached_page_changes_when_its_problems_do(client_a, institution_a):
    run = run_with_many_issues(institution_a, courses=2, people=10)
    url = reverse("sync-run", args=[run.id])
    assert "0 resolved" in client_a.get(url).content.decode()  # cached
    SyncRun.objects.filter(id=run.id).update(status=RunStatus.WITH_ISSUES)
    night = create_run(institution_a, RunKind.SYNC, params={"preview": False})
    issues.track_course(night, FIRST_COURSE, None, [])
    issues.track_course(run, FIRST_COURSE + 1, None, [])  # resolved by the run itself, as an approval would
    assert "10 resolved" in client_a.get(url).content.decode()


def test_a_held_courses_approve_form_is_never_cached(client_a, institution_a, monkeypatch):
    run = run_with_many_issues(institution_a, courses=1, people=2)
    SyncCourseResult.objects.filter(run=run).update(status=CourseResultStatus.HELD)
    url = reverse("sync-run", args=[run.id])
    rendered = []
    real = views.render_to_string
    monkeypatch.setattr(views, "render_to_string", lambda *a, **k: rendered.append(a[0]) or real(*a, **k))

    assert "Approve" in client_a.get(url).content.decode()
    assert "Approve" in client_a.get(url).content.decode()
    assert len(rendered) == 2  # its body carries this session's CSRF token: rendered each time
    SyncCourseResult.objects.filter(run=run).update(status=CourseResultStatus.APPLIED)
    client_a.get(url)
    client_a.get(url)
    assert len(rendered) == 3  # ended, nothing held: rendered once, then read from the cache


def test_a_change_a_worker_process_makes_reaches_the_web_apps_cached_pages(settings, institution_a, tmp_path):
    """The cached pages are keyed by a version the issue writer bumps, in a worker: the cache must be one
    for every process, as it is in the embedded default (files under var/) and with Redis."""
    import os
    import subprocess
    import sys

    from sync.runs.open_counts import version

    before = version(institution_a.id)
    prefix = settings.CACHES["default"]["KEY_PREFIX"]  # this test's own keys (tests/conftest.py)
    code = (
        "import django; from django.conf import settings; django.setup()\n"
        f"settings.CACHES['default']['KEY_PREFIX'] = {prefix!r}\n"
        f"from sync.runs.open_counts import changed; changed({institution_a.id})\n"
    )
    # The same cache settings as this process; a database of its own (the bump writes none).
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "DATABASE_URL": f"sqlite:///{tmp_path}/db"}
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert version(institution_a.id) != before


def rendered_bodies(monkeypatch) -> list[str]:
    """The run page bodies rendered from here on (the rest were read from the cache)."""
    rendered: list[str] = []
    real = views.render_to_string
    monkeypatch.setattr(views, "render_to_string", lambda *a, **k: rendered.append(a[0]) or real(*a, **k))
    return rendered


def test_an_ended_runs_page_stays_cached_while_a_later_sync_writes_problems(client_a, institution_a, monkeypatch):
    """During a nightly, each batch records and resolves problems; the page of a run that ended before
    does not show them, so it stays cached (it was rendered again at every batch before)."""
    run = run_with_many_issues(institution_a, courses=2, people=10)
    url = reverse("sync-run", args=[run.id])
    rendered = rendered_bodies(monkeypatch)
    before = client_a.get(url).content.decode()

    night = create_run(institution_a, RunKind.SYNC, params={"preview": False})
    issues.track_course(night, FIRST_COURSE, None, [Exclusion("pending_invitation", "enrollment", 999, "Newcomer")])
    issues.track_course(night, FIRST_COURSE + 1, None, [])  # the run's problems there went away

    after = client_a.get(url).content.decode()
    assert len(rendered) == 1  # read from the cache
    assert "Newcomer" not in after and after.count("Person 9") == before.count("Person 9")
    assert "Newcomer" in client_a.get(reverse("sync-run", args=[night.id])).content.decode()


def test_a_later_sync_renaming_a_problem_shows_on_the_page_of_the_run_that_found_it(client_a, institution_a):
    run = run_with_many_issues(institution_a, courses=1, people=5)
    url = reverse("sync-run", args=[run.id])
    assert "Person 1 (p1@example.edu)" in client_a.get(url).content.decode()  # cached

    night = create_run(institution_a, RunKind.SYNC, params={"preview": False})
    renamed = [
        Exclusion(PERSON_REASONS[p % len(PERSON_REASONS)], "enrollment", 100 + p, f"Person {p} (p{p}@example.edu)")
        for p in range(5)
        if p != 1
    ] + [Exclusion(PERSON_REASONS[1], "enrollment", 101, "Pat One (pat@example.edu)")]
    issues.track_course(night, FIRST_COURSE, None, renamed)  # the same problem, its person renamed in Canvas

    page = client_a.get(url).content.decode()
    assert "Pat One (pat@example.edu)" in page and "Person 1 (p1@example.edu)" not in page


def test_a_runs_page_after_the_run_ends_shows_its_final_state(client_a, institution_a):
    run = create_run(institution_a, RunKind.SYNC, params={"preview": False})
    SyncRun.objects.filter(id=run.id).update(status=RunStatus.RUNNING, total=1)
    SyncCourseResult.objects.create(run=run, canvas_course_id=FIRST_COURSE, label="Biology 101")
    url = reverse("sync-run", args=[run.id])
    assert "No new issues so far" in client_a.get(url).content.decode()

    issues.track_course(run, FIRST_COURSE, None, [Exclusion("pending_invitation", "enrollment", 7, "Late Invitee")])
    SyncCourseResult.objects.filter(run=run).update(status=CourseResultStatus.APPLIED, counts={"created": 3})
    SyncRun.objects.filter(id=run.id).update(status=RunStatus.WITH_ISSUES, counts={"created": 3})
    ended = client_a.get(url).content.decode()
    assert "Late Invitee" in ended and "so far" not in ended and "1 new" in ended
    assert "Late Invitee" in client_a.get(url).content.decode()  # and once cached


def test_a_run_page_links_to_its_own_institutions_canvas(admin_a, admin_b, institution_a, institution_b):
    """The Canvas address is read with the run (one query): each institution's, never another's."""
    for institution, host in ((institution_a, "canvas-a.example.edu"), (institution_b, "canvas-b.example.edu")):
        CanvasConnection.objects.create(institution=institution, server_url=f"https://{host}")
    mine = run_with_many_issues(institution_a, courses=1, people=2)
    theirs = run_with_many_issues(institution_b, courses=1, people=2)
    for admin, run, own, other in ((admin_a, mine, "canvas-a", "canvas-b"), (admin_b, theirs, "canvas-b", "canvas-a")):
        client = Client()
        client.force_login(admin)
        for _ in range(2):  # rendered, then cached
            page = client.get(reverse("sync-run", args=[run.id])).content.decode()
            assert f"https://{own}.example.edu/courses/" in page and other not in page


def test_an_ended_runs_cached_page_is_read_in_four_queries(client_a, institution_a, django_assert_num_queries):
    """The session, the user, their institution (with the membership) and the run with its Canvas
    address: under 20 admins every round trip a request waits for is one its worker process serves
    nobody else in (it was seven)."""
    run = run_with_many_issues(institution_a, courses=2, people=10)
    for url in (reverse("sync-run", args=[run.id]), reverse("sync-problems")):  # Open problems: the Canvas address
        assert "Person 9" in client_a.get(url).content.decode()  # rendered
        with django_assert_num_queries(4):
            assert "Person 9" in client_a.get(url).content.decode()


def test_history_counts_each_runs_issues_without_joining_them(client_a, institution_a):
    """Each run's issues counted apart (a subquery on the run's index), in the list, its page count
    and the charts: a join of the runs with every issue of theirs was most of the page's time."""
    found = run_with_many_issues(institution_a, courses=2, people=10)
    quiet = create_run(institution_a, RunKind.SYNC, params={"preview": False})
    SyncRun.objects.filter(id=quiet.id).update(status=RunStatus.SUCCEEDED)
    body = client_a.get(reverse("sync-history")).content.decode()
    assert f'<td data-label="Issues">{found.issues.count()}</td>' in body and '<td data-label="Issues">0</td>' in body
    assert chart_data(institution_a)["issues"][-1] == found.issues.count()
    assert month_chart_data(institution_a)["issues"][-1] == found.issues.count()
