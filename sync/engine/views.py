"""Sync Now, Preview then Apply or Cancel, cancelling a running sync, and approving a held course."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from lms_canvas.models import CanvasConnection, ConnectionStatus
from portal.access import get_institution_for
from sync.engine import approve_held, start_sync
from sync.models import CourseResultStatus, RunKind, RunStatus, RunTrigger, SyncCourseResult
from sync.runs import lifecycle
from sync.runs.views import get_run_for

EMPTY_LIST = (
    "Your sync list is empty, so there is nothing to sync yet. Add courses or sections with + on Select "
    "Courses, then choose Sync Now."
)


def _start(request: HttpRequest, *, preview: bool) -> HttpResponse:
    institution = get_institution_for(request)
    verified = CanvasConnection.objects.filter(institution=institution, status=ConnectionStatus.VERIFIED).exists()
    if verified and not institution.sync_entries.exists():
        # A click on an empty list made a run "Finished with issues" to say so (the guide's walk): say it
        # here instead, and take the admin where courses are added. Nightly still records its empty run;
        # without a Verified connection the run records that first, as before.
        messages.error(request, EMPTY_LIST)
        return redirect("sync-settings")
    try:
        run = start_sync(institution, trigger=RunTrigger.ADMIN, user=request.user, preview=preview)
    except lifecycle.RunAlreadyActive as exc:
        link = reverse("sync-run", args=[exc.run.id])
        messages.warning(
            request,
            format_html(
                'A sync is already running: <a href="{}">Sync #{}</a>. One sync runs at a time; '
                "wait for it to finish (its progress is on that page), then try again.",
                link,
                exc.run.id,
            ),
        )
        return redirect("sync-run", exc.run.id)
    except lifecycle.QueueUnavailable as exc:
        messages.error(request, exc.run.message)
        return redirect("sync-run", exc.run.id)
    if run.status == RunStatus.SKIPPED:
        messages.error(request, run.message)
    return redirect("sync-run", run.id)


@login_required
@require_POST
def sync_now(request: HttpRequest) -> HttpResponse:
    return _start(request, preview=False)


@login_required
@require_POST
def sync_preview(request: HttpRequest) -> HttpResponse:
    return _start(request, preview=True)


@login_required
@require_POST
def run_apply(request: HttpRequest, run_id: int) -> HttpResponse:
    """Apply after a preview: a real sync, reading Canvas again so nothing stale is written."""
    run = get_run_for(request, run_id)
    if run.kind != RunKind.SYNC or not run.params.get("preview"):
        messages.error(request, "Only a preview can be applied.")
        return redirect("sync-run", run.id)
    return _start(request, preview=False)


@login_required
@require_POST
def run_cancel(request: HttpRequest, run_id: int) -> HttpResponse:
    run = get_run_for(request, run_id)
    if run.is_active:
        lifecycle.request_cancel(run)
        messages.info(request, "Cancelling: courses already synced stay synced; the others are not started.")
    return redirect("sync-run", run.id)


@login_required
@require_POST
def approve(request: HttpRequest, run_id: int, result_id: int) -> HttpResponse:
    run = get_run_for(request, run_id)
    result = get_object_or_404(SyncCourseResult, id=result_id, run=run)
    if result.status != CourseResultStatus.HELD:
        messages.info(request, f"{result.label} is not held ({result.get_status_display()}).")
        return redirect("sync-run", run.id)
    result = approve_held(result, request.user)
    if result.status == CourseResultStatus.APPROVED:
        messages.success(request, f"Approved: {result.label} now matches Canvas.")
    else:
        messages.error(request, result.message)
    return redirect("sync-run", run.id)
