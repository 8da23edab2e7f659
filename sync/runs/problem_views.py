"""Open problems: what the syncs left out and is still so, across runs, for the admin's institution;
filtered by reason, course and person, one page at a time or as CSV."""

from __future__ import annotations

import hashlib

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.views.decorators.http import require_GET

from lms_canvas.models import CanvasConnection
from portal import csvfile
from portal.access import get_institution_for
from portal.search import MAX_QUERY  # a longer search is refused with a message
from portal.sorting import query_without_page
from sync.runs import open_counts, versions
from sync.runs.problems import ProblemFilters, filtered
from sync.runs.readable import course_names, issue_canvas_url, issue_fix, reason_for, row_detail
from sync.runs.reasons import Reason

PAGE_SIZE = 50
TOO_LONG = {"max_length": "At most %(limit_value)d characters; this one has %(show_value)d. Shorten it."}


class ProblemFilterForm(forms.Form):
    code = forms.ChoiceField(label="Reason", required=False)
    course = forms.CharField(label="Course", required=False, max_length=MAX_QUERY, error_messages=TOO_LONG)
    person = forms.CharField(label="Person", required=False, max_length=MAX_QUERY, error_messages=TOO_LONG)

    def __init__(self, data, reasons: list[tuple[str, str]], *args, **kwargs) -> None:
        data = data.copy()
        if data.get("code") not in {c for c, _ in reasons}:
            data["code"] = ""  # an old bookmark's reason reads as "All reasons", as the select shows it
        super().__init__(data, *args, **kwargs)
        code = self.fields["code"]
        assert isinstance(code, forms.ChoiceField)
        code.choices = [("", "All reasons"), *reasons]

    def clean(self) -> dict:
        data = super().clean() or {}
        # PostgreSQL text cannot hold NUL
        return {k: (v or "").replace("\x00", "").strip() for k, v in data.items()}

    def filters(self) -> ProblemFilters:
        return ProblemFilters(**self.cleaned_data)


def _counts(institution) -> list[tuple[Reason, int]]:
    """Each reason with open problems, and how many: the largest first (cached: sync.runs.open_counts)."""
    return [(reason_for(code), n) for code, n in open_counts.open_counts(institution.id)]


class KnownCountPaginator(Paginator):
    """A paginator told its count when the caller knows it already."""

    def __init__(self, object_list, per_page: int, count: int | None) -> None:
        super().__init__(object_list, per_page)
        if count is not None:
            self.__dict__["count"] = count  # Paginator.count is a cached_property


def _form(request: HttpRequest, counts: list[tuple[Reason, int]]) -> ProblemFilterForm:
    return ProblemFilterForm(request.GET, [(why.code, f"{why.title} ({n})") for why, n in counts])


@login_required
@require_GET
def problems(request: HttpRequest) -> HttpResponse:
    institution = get_institution_for(request)
    return render(request, "sync/problems.html", {"body": _body(request, institution)})


def _body(request: HttpRequest, institution) -> SafeString:
    """The page's content, cached per institution and query until its open problems change (their
    version, sync.runs.open_counts) or the timeout passes (a course renamed by a refresh, a run
    retention removed): nothing in it is the session's own (its one form is a GET)."""
    server_url = CanvasConnection.objects.filter(institution=institution).values_list("server_url", flat=True).first()
    parts = [institution.id, server_url or "", timezone.get_current_timezone_name(), get_language()]
    parts += [sorted(request.GET.lists())]
    key = "problems-body:" + hashlib.sha256(repr(parts).encode()).hexdigest()
    body = versions.cached(
        open_counts.version_key(institution.id),
        key,
        lambda: (_render_body(request, institution, server_url or ""), True),
        open_counts.TIMEOUT_S,
    )
    return mark_safe(body)  # noqa: S308 - our own template's output, as render_to_string made it


def _render_body(request: HttpRequest, institution, server_url: str) -> str:
    counts = _counts(institution)
    form = _form(request, counts)
    found = filtered(institution, form.filters()) if form.is_valid() else None
    total = sum(n for _, n in counts)
    # Unfiltered, the list is every open problem: its count is the cached total, not a second scan.
    known = total if form.is_valid() and form.filters() == ProblemFilters() else None
    page = KnownCountPaginator(found, PAGE_SIZE, known).get_page(request.GET.get("page")) if found is not None else None
    names = course_names(institution, (p.canvas_course_id for p in page)) if page else {}
    rows = []
    for problem in page or []:
        why = reason_for(problem.code)
        course = names.get(problem.canvas_course_id or 0) or f"Canvas course {problem.canvas_course_id}"
        rows.append((problem, why, course, row_detail(problem, why), issue_canvas_url(server_url, problem)))
    ctx = {
        "form": form,
        "page": page,
        "rows": rows,
        "total": total,
        "counts": counts,
        "query": query_without_page(dict(request.GET.lists())),
        "csv_query": query_without_page(dict(request.GET.lists())),
    }
    return render_to_string("sync/_problems_body.html", ctx, request)


@login_required
@require_GET
def problems_csv(request: HttpRequest) -> HttpResponse:
    institution = get_institution_for(request)
    form = _form(request, _counts(institution))
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="open-problems.csv"'
    writer = csvfile.writer(response)
    writer.writerow(
        ["reason code", "reason", "severity", "object", "canvas id", "canvas course id", "who or what"]
        + ["details", "what to do", "first seen", "first seen in run"]
    )
    if not form.is_valid():
        return response
    for problem in filtered(institution, form.filters()).iterator():
        why = reason_for(problem.code)
        writer.writerow(
            [
                problem.code,
                why.title,
                problem.severity,
                problem.object_type,
                problem.canvas_id or "",
                problem.canvas_course_id or "",
                problem.label,
                row_detail(problem, why),
                issue_fix(problem, why),
                problem.created_at.isoformat(),
                problem.run_id or "",
            ]
        )
    return response
