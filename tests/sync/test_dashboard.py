"""The dashboard: the guide's setup steps, ticked as they are done, then (after a first sync) the status
card: the connection, the last sync and its outcome, the next nightly sync and what is open."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from lms_canvas.models import CanvasConfig, CanvasConnection, ConnectionStatus
from sync import dashboard
from sync.models import CourseResultStatus, IssueSeverity, RunKind, RunStatus, SyncCourseResult, SyncIssue, SyncRun
from tests.sync.catalog_helpers import make_catalog
from tests.sync.engine_helpers import add_entry

pytestmark = pytest.mark.django_db


def done(institution) -> list[bool]:
    return [step.done for step in dashboard.checklist(institution)]


def finished_sync(institution, status=RunStatus.SUCCEEDED, **fields) -> SyncRun:
    now = timezone.now()
    return SyncRun.objects.create(
        institution=institution, kind=RunKind.SYNC, status=status, started_at=now, finished_at=now, **fields
    )


def test_each_step_is_ticked_as_it_is_done(institution_a):
    assert done(institution_a) == [False] * 6
    conn = CanvasConnection.objects.create(
        institution=institution_a, server_url="https://canvas.alpha.test", client_id="1", client_secret="s"
    )
    assert done(institution_a) == [True] + [False] * 5
    conn.status = ConnectionStatus.VERIFIED
    conn.save()
    CanvasConfig.objects.create(institution=institution_a, saved_at=timezone.now())
    assert done(institution_a) == [True, True, True, False, False, False]
    make_catalog(institution_a)
    add_entry(institution_a, 501)
    assert done(institution_a) == [True] * 5 + [False]
    finished_sync(institution_a, params={"preview": True})  # a preview syncs nothing
    finished_sync(institution_a, status=RunStatus.FAILED)
    assert not dashboard.is_set_up(institution_a)
    finished_sync(institution_a, status=RunStatus.WITH_ISSUES)
    assert dashboard.is_set_up(institution_a)


def test_a_connection_not_verified_says_why_on_its_step(institution_a):
    CanvasConnection.objects.create(
        institution=institution_a,
        server_url="https://canvas.alpha.test",
        client_id="1",
        client_secret="s",
        status=ConnectionStatus.NOT_VERIFIED,
        status_reason="The developer key is switched OFF.",
    )
    step = dashboard.checklist(institution_a)[1]
    assert not step.done and step.hint == "The developer key is switched OFF."


def test_the_status_card_reads_the_last_sync_and_what_is_open(institution_a):
    CanvasConnection.objects.create(institution=institution_a, status=ConnectionStatus.VERIFIED)
    older = finished_sync(institution_a)
    SyncIssue.objects.create(run=older, code="entry_ended", object_type="course", message="old")
    last = finished_sync(institution_a, status=RunStatus.WITH_ISSUES)
    for _ in range(2):
        SyncIssue.objects.create(run=last, severity=IssueSeverity.WARNING, code="entry_ended", object_type="course")
    SyncCourseResult.objects.create(run=last, canvas_course_id=501, label="Contracts I", status=CourseResultStatus.HELD)
    SyncCourseResult.objects.create(run=older, canvas_course_id=502, label="Old", status=CourseResultStatus.HELD)
    running = SyncRun.objects.create(institution=institution_a, kind=RunKind.SYNC, status=RunStatus.RUNNING)

    status = dashboard.status(institution_a)

    assert status.connection.is_verified
    assert status.last_sync == running and status.last_ended == last
    assert (status.issue_count, status.held_count) == (2, 1)  # the last ended sync's, not older ones'


def test_the_dashboard_shows_the_checklist_with_the_next_step(client_a, institution_a):
    body = client_a.get(reverse("dashboard")).content.decode()
    assert "Set up your Canvas sync" in body and "0 of 6 steps done" in body
    assert 'aria-current="step"' in body and f'href="{reverse("lms-settings")}">Open LMS Settings' in body
    assert "Connect your LMS" not in body
    assert "Next nightly sync:" in body


def test_the_dashboard_becomes_the_status_card_after_a_first_sync(client_a, institution_a):
    CanvasConnection.objects.create(
        institution=institution_a, status=ConnectionStatus.VERIFIED, verified_at=timezone.now()
    )
    run = finished_sync(institution_a, counts={"created": 12, "updated": 0, "deactivated": 1})
    SyncIssue.objects.create(run=run, code="entry_ended", object_type="course")

    body = client_a.get(reverse("dashboard")).content.decode()

    assert "Set up your Canvas sync" not in body
    assert "Canvas sync" in body and "Verified" in body
    assert f'href="{reverse("sync-run", args=[run.id])}">Sync #{run.id}</a>' in body and "Succeeded" in body
    assert "12 created" in body and "1 deactivated" in body
    assert "1 issue in the last sync" in body and f"{reverse('sync-run', args=[run.id])}#issues" in body
    assert "Next nightly sync" in body


def test_a_connection_that_needs_reauthorizing_shows_on_the_card(client_a, institution_a):
    CanvasConnection.objects.create(
        institution=institution_a, status=ConnectionStatus.NEEDS_REAUTH, status_reason="Canvas refused the token."
    )
    finished_sync(institution_a)
    body = client_a.get(reverse("dashboard")).content.decode()
    assert "Needs re-authorization" in body and "Canvas refused the token." in body
    assert "Fix it in LMS Settings" in body


def test_the_dashboard_shows_only_the_admins_own_institution(client_b, institution_a, institution_b):
    CanvasConnection.objects.create(institution=institution_a, status=ConnectionStatus.VERIFIED)
    run = finished_sync(institution_a)
    body = client_b.get(reverse("dashboard")).content.decode()
    assert "Set up your Canvas sync" in body  # B has not synced; A's sync says nothing here
    assert f"Sync #{run.id}" not in body and "Alpha University" not in body
