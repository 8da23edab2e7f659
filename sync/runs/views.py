"""View History: every run with a 30-day chart, a run's page with live progress, its courses and issues
(filterable, CSV), the LMS Sync Errors help page and the “Why isn't this synced?” search."""

from __future__ import annotations

import hashlib
from collections import Counter
from itertools import chain
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.views.decorators.http import require_GET

from lms_canvas import links
from lms_canvas.models import CanvasConnection
from portal import csvfile
from portal.access import get_institution_for
from portal.search import too_long
from portal.sorting import query_without_page, read_sort
from sync.models import CourseResultStatus, Resolution, RunKind, SyncCourseResult, SyncRun
from sync.runs import versions
from sync.runs.forms import HistoryFilterForm
from sync.runs.history import DEFAULT_SORT, SORTS, chart_data, month_chart_data, runs_for
from sync.runs.problems import run_changes
from sync.runs.readable import issue_fix, issue_groups, issue_text, reason_for
from sync.runs.reasons import REASONS
from sync.runs.why import explain

PAGE_SIZE = 50
ISSUES_PAGE_SIZE = 50
# A run of up to this many courses shows its course table open; a larger one folds it (held ones open it).
RESULTS_OPEN_UP_TO = 25
RESULTS_PAGE_SIZE = 50
BODY_CACHE_S = 600
GONE = Resolution.GONE.label  # what a problem resolved before resolutions were recorded was


def get_run_for(request: HttpRequest, run_id: int, *, with_server_url: bool = False) -> SyncRun:
    """A run of the admin's institution; another institution's run is a 404. `with_server_url` reads
    the connection's Canvas address with it (`run.server_url`, "" if none), in the same query."""
    institution = get_institution_for(request)
    runs = SyncRun.objects.select_related("requested_by")
    if with_server_url:
        canvas = CanvasConnection.objects.filter(institution=OuterRef("institution_id")).values("server_url")[:1]
        runs = runs.annotate(server_url=Coalesce(Subquery(canvas), Value("")))
    return get_object_or_404(runs, id=run_id, institution=institution)


@login_required
@require_GET
def history(request: HttpRequest) -> HttpResponse:
    institution = get_institution_for(request)
    form = HistoryFilterForm(request.GET)
    sort = read_sort(request.GET.get("sort"), SORTS, DEFAULT_SORT)
    runs = runs_for(institution, form.filters(), sort) if form.is_valid() else None
    ctx = {
        "form": form,
        "sort": sort,
        # A refused filter lists no runs (never every run instead): its message is beside its field.
        "page": Paginator(runs, PAGE_SIZE).get_page(request.GET.get("page")) if runs is not None else None,
        "chart": chart_data(institution),
        "month_chart": month_chart_data(institution),
        "run_retention_days": settings.SYNC_RUN_RETENTION_DAYS,
        "active": SyncRun.objects.filter(
            institution=institution, kind=RunKind.SYNC, status__in=["queued", "running"]
        ).first(),
        "query": query_without_page(dict(request.GET.lists())),
    }
    return render(request, "sync/history.html", ctx)


def _issues(request: HttpRequest, run: SyncRun):
    code = request.GET.get("code", "")
    issues = run.issues.all()
    if code in REASONS:
        issues = issues.filter(code=code)
    else:
        code = ""
    return issues, code


@login_required
@require_GET
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = get_run_for(request, run_id, with_server_url=True)
    server_url: str = run.server_url  # type: ignore[attr-defined]  # annotated by get_run_for
    ctx = {"run": run, "preview": bool(run.params.get("preview")), "body": run_body(request, run, server_url)}
    return render(request, "sync/run.html", ctx)


def run_body(request: HttpRequest, run: SyncRun, server_url: str) -> SafeString:
    """The page's courses, issues and resolved problems. An ended run's change only with what the key
    carries (its status and counts, which an approval changes; the Canvas address; the viewer's time
    zone and language; the query) and with the run's page version (sync.runs.versions.run_page: its
    own problems written, or their words updated by a later sync), so they are cached; a later sync
    finding or resolving other problems leaves them cached. A course renamed by a refresh, or
    retention removing the run's old resolved problems, waits for the timeout. A body with a held
    course (an Approve form, with this session's CSRF token) is never cached, nor an active run's."""

    def render_body() -> tuple[str, bool]:
        ctx = _body_context(request, run, server_url)
        return render_to_string("sync/_run_body.html", ctx, request), not ctx["held"]

    if run.is_active:
        return mark_safe(render_body()[0])  # noqa: S308 - as above
    parts = [run.institution_id, run.id, run.status, run.counts, run.finished_at, server_url]
    parts += [timezone.get_current_timezone_name(), get_language(), sorted(request.GET.lists())]
    key = "run-body:" + hashlib.sha256(repr(parts).encode()).hexdigest()
    # Our own template's output, as render_to_string made it.
    return mark_safe(versions.cached(versions.run_page(run.id), key, render_body, BODY_CACHE_S))  # noqa: S308


def _body_context(request: HttpRequest, run: SyncRun, server_url: str) -> dict:
    _, code = _issues(request, run)
    codes = run.issues.values("code").annotate(n=Count("id")).order_by("code")
    statuses = Counter(dict(run.course_results.values_list("status").annotate(n=Count("id")).order_by()))
    listed = sum(statuses.values())
    # The course table a page at a time (?courses=2): a night's few hundred changed courses, each with
    # its people, were most of the page's rendering.
    results = Paginator(run.course_results.order_by("label", "id"), RESULTS_PAGE_SIZE).get_page(
        request.GET.get("courses")
    )
    held = statuses[CourseResultStatus.HELD]
    return {
        "run": run,
        # Each row with its Canvas page ("" when it has none).
        "results": [(result, result_canvas_url(server_url, result)) for result in results],
        "results_page": results,
        "results_query": urlencode([(k, v) for k, values in request.GET.lists() if k != "courses" for v in values]),
        "listed_count": listed,
        "course_count": listed + run.quiet_courses,
        "held": held,
        "results_open": listed <= RESULTS_OPEN_UP_TO or held > 0 or "courses" in request.GET,
        "result_statuses": [
            (CourseResultStatus(status).label, n) for status, n in sorted(statuses.items(), key=lambda s: (-s[1], s[0]))
        ],
        "groups": issue_groups(
            run, server_url, code=code, page_number=request.GET.get("page"), page_size=ISSUES_PAGE_SIZE
        ),
        "code": code,
        "issue_query": f"code={code}" if code else "",
        "issue_count": sum(c["n"] for c in codes),
        "codes": [(c["code"], reason_for(c["code"]).title, c["n"]) for c in codes],
        "preview": bool(run.params.get("preview")),
        # A sync's problems are open items: the ones it found first are its issues above; these say the rest.
        "changes": run_changes(run) if run.kind == RunKind.SYNC else None,
        "resolved": issue_groups(run, server_url, issues=run.resolved_issues.all()) if run.kind == RunKind.SYNC else [],
    }


@login_required
@require_GET
def run_progress(request: HttpRequest, run_id: int) -> HttpResponse:
    run = get_run_for(request, run_id)
    response = render(request, "sync/_run_progress.html", {"run": run})
    if not run.is_active:
        response["HX-Refresh"] = "true"  # the full page shows the results and issues
    return response


@login_required
@require_GET
def run_csv(request: HttpRequest, run_id: int) -> HttpResponse:
    run = get_run_for(request, run_id)
    issues, code = _issues(request, run)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="sync-{run.id}-issues.csv"'
    writer = csvfile.writer(response)
    writer.writerow(
        [
            "run",
            "severity",
            "reason code",
            "reason",
            "object",
            "canvas id",
            "canvas course id",
            "who or what",
            "message",
            "fix",
            "in this run",
            "why resolved",
        ]
    )
    # The issues it recorded (what it found first, and its own), then the problems it resolved.
    resolved = run.resolved_issues.filter(code=code) if code else run.resolved_issues.all()
    for issue in chain(issues.iterator(), resolved.iterator()):
        why = reason_for(issue.code)
        resolved_here = issue.resolved_run_id == run.id
        row = [
            run.id,
            issue.severity,
            issue.code,
            why.title,
            issue.object_type,
            issue.canvas_id or "",
            issue.canvas_course_id or "",
            issue.label,
            issue_text(issue, why),
            issue_fix(issue, why),
            "resolved" if resolved_here else "first seen" if issue.tracked else "",
            (issue.get_resolution_display() or GONE) if resolved_here else "",
        ]
        writer.writerow(row)
    return response


@login_required
@require_GET
def sync_errors(request: HttpRequest) -> HttpResponse:
    get_institution_for(request)
    return render(request, "sync/sync_errors.html", {"reasons": REASONS.values()})


@login_required
@require_GET
def why(request: HttpRequest) -> HttpResponse:
    institution = get_institution_for(request)
    q = request.GET.get("q", "").replace("\x00", "")  # PostgreSQL text cannot hold NUL
    error = too_long(q.strip())
    answers = explain(institution, q) if q.strip() and not error else None
    return render(request, "sync/why.html", {"q": q, "error": error, "answers": answers})


def result_canvas_url(server_url: str, result: SyncCourseResult) -> str:
    if result.canvas_section_id:
        return links.section_page(server_url, result.canvas_course_id, result.canvas_section_id)
    return links.course_page(server_url, result.canvas_course_id)
