"""Edit Sync List tab: rows with dates and department, bulk actions on checked rows, Save, and
CSV export and import (always previewed before it is applied)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from portal.access import get_institution_for
from portal.models import Department, Institution
from sync.catalog import search
from sync.synclist import csv_io, edit
from sync.synclist.edit import RowChange, SaveResult, parse_date
from sync.synclist.forms import ImportApplyForm, ImportForm

ACTIONS = {"save", "bulk_dates", "bulk_department", "remove"}


def sync_list_context(institution: Institution, result: SaveResult | None = None, posted: dict | None = None) -> dict:
    config = search.config_for(institution)
    entries = edit.entries_for(institution, config)
    errors = result.errors if result else {}
    for entry in entries:
        entry.errors = errors.get(entry.id, {})
        if posted and entry.id in posted:  # show what the admin typed next to its error
            entry.posted = posted[entry.id]
    return {
        "entries": entries,
        "departments": Department.objects.filter(institution=institution),
        "config": config,
        "import_form": ImportForm(),
        "list_errors": bool(errors),
    }


def _row_changes(request: HttpRequest, ids: list[int]) -> tuple[dict[int, RowChange], dict[int, dict]]:
    changes, posted = {}, {}
    for entry_id in ids:
        start = request.POST.get(f"start_{entry_id}", "")
        end = request.POST.get(f"end_{entry_id}", "")
        dept = request.POST.get(f"department_{entry_id}", "")
        changes[entry_id] = RowChange(
            start_date=parse_date(start),
            end_date=parse_date(end),
            department_id=_department_id(dept),
            set_start=True,
            set_end=True,
        )
        posted[entry_id] = {"start": start, "end": end, "department": dept}
    return changes, posted


def _ids(values: list[str]) -> list[int]:
    return [int(v) for v in values if _is_id(v)]


def _is_id(value: str) -> bool:
    """ASCII digits that fit a database id ("²".isdigit() is true, and int("²") fails)."""
    return value.isascii() and value.isdigit() and len(value) <= 18


def _department_id(value: str) -> int:
    """0 clears the department; anything but an id becomes -1, which no department has (reported)."""
    value = value.strip()
    if not value:
        return 0
    return int(value) if _is_id(value) else -1


@login_required
@require_POST
def sync_list_save(request: HttpRequest) -> HttpResponse:
    institution = get_institution_for(request)
    config = search.config_for(institution)
    action = request.POST.get("action", "save")
    if action not in ACTIONS:
        action = "save"
    checked = _ids(request.POST.getlist("selected"))
    if action != "save" and not checked:
        messages.error(request, "Check at least one row first, then choose the bulk action.")
        return redirect(reverse("sync-settings") + "?tab=list")
    if action == "remove":
        removed = edit.remove(institution, checked)
        messages.success(request, f"Removed {removed} entr{'y' if removed == 1 else 'ies'} from the sync list.")
        return redirect(reverse("sync-settings") + "?tab=list")
    posted: dict = {}
    if action == "save":
        changes, posted = _row_changes(request, _ids(request.POST.getlist("row")))
        result = edit.save_rows(institution, config, changes)
    else:
        result = edit.bulk_change(institution, config, checked, _bulk_change(request, action))
    if result.ok:
        messages.success(request, f"Saved. {result.saved} entr{'y' if result.saved == 1 else 'ies'} changed.")
        return redirect(reverse("sync-settings") + "?tab=list")
    messages.error(request, "Nothing was saved: correct the entries marked below.")
    ctx = {"tab": "list", "progress_hidden": True, **sync_list_context(institution, result, posted)}
    return render(request, "sync/sync_settings.html", ctx)


def _bulk_change(request: HttpRequest, action: str) -> RowChange:
    if action == "bulk_department":
        dept = request.POST.get("bulk_department", "")
        return RowChange(department_id=_department_id(dept))
    start, end = request.POST.get("bulk_start", ""), request.POST.get("bulk_end", "")
    return RowChange(
        start_date=parse_date(start), end_date=parse_date(end), set_start=bool(start.strip()), set_end=bool(end.strip())
    )


@login_required
@require_GET
def sync_list_export(request: HttpRequest) -> HttpResponse:
    institution = get_institution_for(request)
    text = csv_io.export_csv(institution, search.config_for(institution))
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    filename = f"sync-list-{institution.slug}-{timezone.localdate():%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_POST
def sync_list_import(request: HttpRequest) -> HttpResponse:
    institution = get_institution_for(request)
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        ctx = {"tab": "list", "progress_hidden": True, **sync_list_context(institution), "import_form": form}
        return render(request, "sync/sync_settings.html", ctx)
    text, mode = form.cleaned_data["file"], form.cleaned_data["mode"]
    plan = csv_io.plan_import(institution, search.config_for(institution), text, mode)
    ctx = {
        "plan": plan,
        "mode_label": csv_io.MODES[mode],
        "apply_form": ImportApplyForm(initial={"csv_text": text, "mode": mode}),
    }
    return render(request, "sync/import_preview.html", ctx)


@login_required
@require_POST
def sync_list_import_apply(request: HttpRequest) -> HttpResponse:
    institution = get_institution_for(request)
    form = ImportApplyForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The import could not be read back; choose the file and preview it again.")
        return redirect(reverse("sync-settings") + "?tab=list")
    mode = form.cleaned_data["mode"]
    plan = csv_io.plan_import(institution, search.config_for(institution), form.cleaned_data["csv_text"], mode)
    if plan.errors:
        ctx = {"plan": plan, "mode_label": csv_io.MODES[mode], "apply_form": form}
        messages.error(
            request, "Nothing was imported: the file has errors (listed below). Correct them and import again."
        )
        return render(request, "sync/import_preview.html", ctx)
    changed = csv_io.apply_import(institution, plan, request.user)
    messages.success(
        request, f"Imported ({csv_io.MODES[mode]}): {changed} entr{'y' if changed == 1 else 'ies'} changed."
    )
    return redirect(reverse("sync-settings") + "?tab=list")
