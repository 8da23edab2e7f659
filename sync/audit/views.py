"""Audit trail: who changed what of this institution's settings, sync list and schedule, and who
started syncs, approved held courses and posted grades; filterable by area, downloadable as CSV."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from lms_canvas.forms import ConfigureForm
from lms_canvas.models import CanvasConfig
from portal import csvfile
from portal.access import get_institution_for
from portal.models import Institution
from sync.audit import tracking
from sync.audit.models import Area, AuditEntry

PAGE_SIZE = 50


def _entries(request: HttpRequest, institution: Institution):
    area = request.GET.get("area", "")
    area = area if area in Area.values else ""
    qs = AuditEntry.objects.filter(institution=institution).select_related("actor", "content_type")
    if area:
        qs = qs.filter(area=area)
    return qs.order_by("-timestamp", "-id"), area


def _roles(institution: Institution) -> dict[int, str]:
    """Configure records Canvas role ids; the trail names them as Configure does."""
    config = CanvasConfig.objects.filter(institution=institution).first()
    return dict(ConfigureForm(config=config).role_choices) if config else {}


@login_required
@require_GET
def audit_trail(request: HttpRequest) -> HttpResponse:
    institution = get_institution_for(request)
    entries, area = _entries(request, institution)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    roles = _roles(institution)
    ctx = {
        "institution": institution,
        "page": page,
        "rows": [entry.describe(institution.tz, roles) for entry in page],
        "areas": Area.choices,
        "area": area,
        "query": f"area={area}" if area else "",
        "hidden": tracking.HIDDEN,
    }
    return render(request, "audit/audit_trail.html", ctx)


@login_required
@require_GET
def audit_trail_csv(request: HttpRequest) -> HttpResponse:
    institution = get_institution_for(request)
    entries, _ = _entries(request, institution)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"audit-trail-{institution.slug}-{timezone.localdate():%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csvfile.writer(response)
    writer.writerow(["when", "who", "what", "action", "object", "changes"])
    roles = _roles(institution)
    for entry in entries.iterator():
        row = entry.describe(institution.tz, roles)
        changes = "; ".join(
            f"{c.label}: {c.before} → {c.after}" if c.before else f"{c.label}: {c.after}" for c in row.changes
        )
        writer.writerow(
            [row.when.replace(microsecond=0).isoformat(), row.who, row.area, row.action, row.object, changes]
        )
    return response
