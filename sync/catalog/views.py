"""Edit Sync Settings: Refresh Courses with live progress, Select Courses (search, "+", ">"), and the
specific course refresh (in a worker, with its own progress panel). The Edit Sync List tab is in sync/synclist/views.py."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET, require_POST

from lms_canvas.models import CanvasConnection
from portal.access import get_institution_for
from portal.models import Institution
from portal.sorting import query_without_page, read_sort
from sync.catalog import refresh, search
from sync.catalog.forms import CourseRefreshForm, CourseSearchForm
from sync.models import CatalogCourse, RunKind, RunStatus, SyncRun
from sync.runs import lifecycle
from sync.runs.views import get_run_for
from sync.synclist import checks, edit
from sync.synclist.views import list_sort, sync_list_context


def _latest_refresh(institution: Institution) -> SyncRun | None:
    return SyncRun.objects.filter(institution=institution, kind=RunKind.REFRESH).order_by("-created_at").first()


def _search_context(request: HttpRequest, institution: Institution) -> dict:
    conn = CanvasConnection.objects.filter(institution=institution).first()
    form = CourseSearchForm(
        request.GET,
        terms=search.terms(institution),
        accounts=search.accounts(institution),
        root_account=conn.root_account_id if conn else None,
    )
    config = search.config_for(institution)
    sort = read_sort(request.GET.get("sort"), search.SORTS, search.DEFAULT_SORT)
    ctx = {"search_form": form, "config": config, "sort": sort, "q": form.data.get("q", "")}
    if not form.is_valid():  # a search too long to run, a term no longer there: the results say so (never all)
        return {**ctx, "results": None, "listed": set()}
    found = form.cleaned_data
    results = search.search_courses(
        institution,
        config,
        found["q"],
        hide_unsyncable=found["hide"],
        term=found["term"],
        account=found["account"],
        sort=sort,
        page=request.GET.get("page") or 1,
    )
    checks.mark_ended(institution, results)
    on_list = edit.listed_in(institution, [course.id for course in results])
    for course in results:
        course.sections_listed = on_list.sections.get(course.id, 0)
    kept = {"q": found["q"], "hide": "1" if found["hide"] else "", "term": found["term"], "account": found["account"]}
    params = {name: [str(value)] for name, value in kept.items() if value} | {"sort": [sort.param]}
    return {
        **ctx,
        "q": found["q"],
        "results": results,
        "listed": on_list.courses,  # courses already on the list show as added, with Remove
        "params": params,  # what the sort links and pages keep (the fragment's own URL has the same)
        "query": query_without_page(params),
    }


def progress_context(run: SyncRun | None) -> dict:
    return {"run": run, "eta": estimate_left(run), "percent": _percent(run)}


def estimate_left(run: SyncRun | None, now: dt.datetime | None = None) -> str:
    """Time left in the sections phase from its rate so far; courses have no known total."""
    if run is None or not run.is_active or not run.total or not run.done:
        return ""
    started = parse_datetime(run.params.get("sections_started_at", "") or "")
    if started is None:
        return ""
    elapsed = ((now or timezone.now()) - started).total_seconds()
    left = max(0.0, elapsed / run.done * (run.total - run.done))
    if left < 60:
        return "less than a minute left"
    minutes = round(left / 60)
    return f"about {minutes} minute{'s' if minutes != 1 else ''} left"


def _percent(run: SyncRun | None) -> int | None:
    if run is None or not run.total:
        return None
    return min(100, round(100 * run.done / run.total))


@login_required
@require_GET
def sync_settings(request: HttpRequest) -> HttpResponse:
    return sync_settings_page(request)


def sync_settings_page(request: HttpRequest, **extra) -> HttpResponse:
    institution = get_institution_for(request)
    tab = "list" if request.GET.get("tab") == "list" else "select"
    conn = CanvasConnection.objects.filter(institution=institution).first()
    ctx = {
        "tab": tab,
        "conn": conn,
        "last_refreshed": search.last_refreshed(institution),
        "course_refresh_form": CourseRefreshForm(),
        **progress_context(_latest_refresh(institution)),
        **extra,
    }
    if tab == "select":
        ctx.update(_search_context(request, institution))
    else:
        ctx.update(sync_list_context(institution, sort=list_sort(request.GET.get("sort"))))
    return render(request, "sync/sync_settings.html", ctx)


@login_required
@require_GET
def course_search(request: HttpRequest) -> HttpResponse:
    institution = get_institution_for(request)
    return render(request, "sync/_course_results.html", _search_context(request, institution))


@login_required
@require_GET
def course_sections(request: HttpRequest, course_id: int) -> HttpResponse:
    institution = get_institution_for(request)
    config = search.config_for(institution)
    try:
        course, sections = search.sections_of(institution, config, course_id)
    except CatalogCourse.DoesNotExist:
        raise Http404 from None
    listed = set(institution.sync_entries.filter(course=course).values_list("section_id", flat=True))
    checks.mark_ended(institution, [course])
    ctx = {"course": course, "sections": sections, "listed": listed, "course_listed": None in listed}
    return render(request, "sync/_sections.html", ctx)


@login_required
@require_POST
def add_course(request: HttpRequest, course_id: int) -> HttpResponse:
    institution = get_institution_for(request)
    return _added(request, lambda config: edit.add_course(institution, config, course_id, request.user))


@login_required
@require_POST
def add_section(request: HttpRequest, section_id: int) -> HttpResponse:
    institution = get_institution_for(request)
    return _added(request, lambda config: edit.add_section(institution, config, section_id, request.user))


@login_required
@require_POST
def remove_course(request: HttpRequest, course_id: int) -> HttpResponse:
    """Select Courses' Remove: the whole-course entry of this institution's catalogue course, re-checked here."""
    institution = get_institution_for(request)
    try:
        course = edit.remove_course(institution, course_id)
    except edit.SyncListError as exc:
        if not _is_htmx(request):
            messages.error(request, exc.message)
            return redirect("sync-settings")
        return render(request, "sync/_add_result.html", {"error": exc.message})
    if not _is_htmx(request):
        messages.success(request, f"Removed “{course.name}” from the sync list.")
        return redirect("sync-settings")
    return render(request, "sync/_add_result.html", {"removed": course})


def _added(request: HttpRequest, add) -> HttpResponse:
    institution = get_institution_for(request)
    config = search.config_for(institution)
    try:
        entry = add(config)
    except edit.SyncListError as exc:
        if not _is_htmx(request):
            messages.error(request, exc.message)
            return redirect("sync-settings")
        return render(request, "sync/_add_result.html", {"error": exc.message}, status=200)
    warning = checks.added_warning(institution, entry)  # e.g. last term's course: ended already
    if not _is_htmx(request):
        messages.success(request, f"Added “{entry}” to the sync list.")
        if warning:
            messages.warning(request, warning)
        return redirect("sync-settings")
    return render(request, "sync/_add_result.html", {"entry": entry, "warning": warning})


@login_required
@require_POST
def refresh_start(request: HttpRequest) -> HttpResponse:
    institution = get_institution_for(request)
    try:
        run = refresh.start_refresh(institution, user=request.user)
    except lifecycle.RunAlreadyActive as exc:
        run = exc.run
        messages.info(request, "A refresh is already running; its progress is shown below.")
    except lifecycle.QueueUnavailable as exc:
        run = exc.run  # ended: the progress panel shows its message (the queue is down, try again)
    if _is_htmx(request):
        return render(request, "sync/_refresh_progress.html", progress_context(run))
    return redirect("sync-settings")


@login_required
@require_GET
def refresh_progress(request: HttpRequest) -> HttpResponse:
    institution = get_institution_for(request)
    run = _latest_refresh(institution)
    response = render(request, "sync/_refresh_progress.html", progress_context(run))
    # Only an active fragment polls, so this answer is mid-refresh or its last word: while courses
    # land, and once at the end, the course list below reloads itself (not during sections, to
    # leave expanded courses alone).
    if run is not None and (not run.is_active or run.phase == refresh.PHASE_COURSES):
        response["HX-Trigger"] = "catalog-changed"
    return response


@login_required
@require_POST
def refresh_cancel(request: HttpRequest, run_id: int) -> HttpResponse:
    run = get_run_for(request, run_id)
    lifecycle.request_cancel(run)
    run.refresh_from_db()
    if _is_htmx(request):
        return render(request, "sync/_refresh_progress.html", progress_context(run))
    messages.info(request, "Cancelling: the refresh stops after the requests already in flight.")
    return redirect("sync-settings")


@login_required
@require_POST
def course_refresh(request: HttpRequest) -> HttpResponse:
    """Start the one-course refresh in a worker; its progress page says how it went."""
    institution = get_institution_for(request)
    form = CourseRefreshForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(map(str, form.errors.get("course", ["Enter a Canvas course id or SIS ID."]))))
        return redirect("sync-settings")
    try:
        run = refresh.start_course_refresh(institution, form.cleaned_data["course"], user=request.user)
    except lifecycle.RunAlreadyActive:
        messages.error(request, "Another course refresh is running. What to do: wait a moment and try again.")
        return redirect("sync-settings")
    except lifecycle.QueueUnavailable as exc:
        messages.error(request, exc.run.message)
        return redirect("sync-settings")
    return redirect("sync-course-refresh-progress", run.id)


@login_required
@require_GET
def course_refresh_progress(request: HttpRequest, run_id: int) -> HttpResponse:
    """While the course refresh runs: Edit Sync Settings with a panel that polls this URL (htmx gets
    only the panel). Once it has ended: its message, and the course shown in Select Courses."""
    run = get_run_for(request, run_id)
    if run.kind != RunKind.COURSE_REFRESH:
        raise Http404
    if run.is_active:
        if _is_htmx(request):
            return render(request, "sync/_course_refresh_progress.html", {"course_run": run})
        return sync_settings_page(request, course_run=run)
    target = reverse("sync-settings")
    if run.status == RunStatus.SUCCEEDED:
        messages.success(request, run.message)
        course = CatalogCourse.objects.filter(id=run.params.get("catalog_course_id")).first()
        target += f"?q={course.canvas_id}" if course else ""
    else:
        messages.error(request, run.message)
    if _is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = target
        return response
    return redirect(target)


@login_required
@require_GET
def id_coverage(request: HttpRequest) -> HttpResponse:
    institution = get_institution_for(request)
    ctx = {"coverage": search.id_coverage(institution), "last_refreshed": search.last_refreshed(institution)}
    return render(request, "sync/_id_coverage.html", ctx)


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"
