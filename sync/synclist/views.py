"""Edit Sync List tab: rows with dates and department (a formset), bulk actions on checked rows, Save
(then what the next sync would skip, with Extend to term end), and CSV export and import (always
previewed before it is applied)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from lms_canvas.models import CanvasConfig
from portal.access import get_institution_for
from portal.models import Department, Institution
from portal.sorting import Sort, read_sort
from sync.catalog import search
from sync.synclist import checks, csv_io, edit
from sync.synclist.edit import SaveResult
from sync.synclist.forms import (
    BaseEntryRowFormSet,
    BulkDatesForm,
    BulkDepartmentForm,
    ImportApplyForm,
    ImportForm,
    SyncListChoices,
)

ACTIONS = {"save", "bulk_dates", "bulk_department", "remove"}
LIST_URL = "sync-settings"


def sync_list_context(
    institution: Institution,
    choices: SyncListChoices | None = None,
    rows: BaseEntryRowFormSet | None = None,
    bulk: BulkDatesForm | BulkDepartmentForm | None = None,
    checked: Iterable[int] = (),
    sort: Sort | None = None,
) -> dict[str, object]:
    """The Edit Sync List tab's forms: fresh, or those of a refused post (`rows`, `bulk`, the `checked`
    rows) with their errors; and the warnings about the list as stored, each row with its notes. The rows
    in the order of `sort` (a header's ?sort=, by course by default)."""
    sort = sort or list_sort(None)
    if choices is None:
        choices = read_choices(institution, search.config_for(institution), sort)
    rows = choices.formset() if rows is None else rows
    groups = checks.list_warnings(institution, choices.listed)
    notes: dict[int, list[str]] = {}
    for group in groups:
        for warning in group.warnings:
            notes.setdefault(warning.item.id, []).append(warning.note)
    checked_ids = set(checked)
    row_items = []
    for form in rows:  # each row with its warnings' notes, and whether it was checked in a refused post
        entry_id = form.listed_entry.id if form.listed_entry else 0
        row_items.append((form, notes.get(entry_id, []), entry_id in checked_ids))
    return {
        "rows": rows,
        "row_items": row_items,
        "warning_groups": groups,
        "bulk_dates_form": bulk if isinstance(bulk, BulkDatesForm) else BulkDatesForm(),
        "bulk_department_form": bulk if isinstance(bulk, BulkDepartmentForm) else choices.bulk_department_form(),
        "import_form": ImportForm(),
        "sort": sort,
    }


def list_sort(value: str | None) -> Sort:
    return read_sort(value, edit.LIST_SORTS, edit.DEFAULT_LIST_SORT)


def read_choices(institution: Institution, config: CanvasConfig, sort: Sort | None = None) -> SyncListChoices:
    departments = list(Department.objects.filter(institution=institution))
    return SyncListChoices(
        edit.sort_listed(edit.entries_for(institution, config), sort or list_sort(None)), departments
    )


def _ids(values: list[str]) -> list[int]:
    return [int(v) for v in values if _is_id(v)]


def _is_id(value: str) -> bool:
    """ASCII digits that fit a database id ("²".isdigit() is true, and int("²") fails)."""
    return value.isascii() and value.isdigit() and len(value) <= 18


def _to_list(request: HttpRequest) -> HttpResponse:
    """Back to the list, in the order it was shown in (the form posts its sort)."""
    sort = list_sort(request.POST.get("sort"))
    return redirect(reverse(LIST_URL) + "?tab=list" + ("" if sort.is_default else f"&sort={sort.param}"))


@login_required
@require_POST
def sync_list_save(request: HttpRequest) -> HttpResponse:
    institution = get_institution_for(request)
    action = request.POST.get("action", "save")
    if action not in ACTIONS:
        action = "save"
    checked = _ids(request.POST.getlist("selected"))
    if action != "save" and not checked:
        messages.error(request, "Check at least one row first, then choose the bulk action.")
        return _to_list(request)
    config = search.config_for(institution)
    sort = list_sort(request.POST.get("sort"))
    choices = read_choices(institution, config, sort)
    if action == "save":
        return _save_rows(request, institution, config, choices, checked)
    if action == "remove":
        return _remove(request, institution, config, choices, checked)
    return _bulk_change(request, institution, config, choices, checked, action)


def _save_rows(
    request: HttpRequest, institution: Institution, config: CanvasConfig, choices: SyncListChoices, checked: list[int]
) -> HttpResponse:
    """Save, or Extend to term end (`extend`: an entry's id, or "all"), which saves the rows as typed too."""
    rows = choices.formset(request.POST)
    if not rows.is_valid():
        page_errors = [str(e) for e in rows.non_form_errors()]
        return _not_saved(request, institution, choices, rows=rows, page_errors=page_errors, checked=checked)
    changes = rows.changes()
    extended: dict[int, edit.RowChange] = {}
    if extend := request.POST.get("extend"):
        extended, refused = checks.extension(institution, choices.listed, extend)
        if refused:
            return _not_saved(request, institution, choices, rows=rows, page_errors=[refused], checked=checked)
        for entry_id, change in extended.items():
            changes.setdefault(entry_id, edit.RowChange()).update(change)
    result = edit.save_rows(institution, config, changes)
    if result.ok:
        return _saved(request, institution, config, result, extended=len(extended))
    return _not_saved(request, institution, choices, rows=rows, errors=result.errors, checked=checked)


def _bulk_change(
    request: HttpRequest,
    institution: Institution,
    config: CanvasConfig,
    choices: SyncListChoices,
    checked: list[int],
    action: str,
) -> HttpResponse:
    """A bulk action on the checked rows, saved with the rows as typed (the bulk buttons post them): the rows
    are validated as Save validates them, and a refused post shows them as typed, with the bulk choice."""
    form: BulkDatesForm | BulkDepartmentForm = (
        choices.bulk_department_form(request.POST) if action == "bulk_department" else BulkDatesForm(request.POST)
    )
    rows = choices.formset(request.POST) if _rows_posted(request) else None
    rows_valid = rows is None or rows.is_valid()
    if not (form.is_valid() and rows_valid):
        page_errors = [str(e) for e in rows.non_form_errors()] if rows is not None else []
        return _not_saved(request, institution, choices, rows=rows, page_errors=page_errors, bulk=form, checked=checked)
    typed = rows.changes() if rows is not None else {}
    result = edit.bulk_change(institution, config, checked, form.change(), typed)
    if result.ok:
        return _saved(request, institution, config, result)
    return _not_saved(request, institution, choices, rows=rows, errors=result.errors, bulk=form, checked=checked)


def _remove(
    request: HttpRequest, institution: Institution, config: CanvasConfig, choices: SyncListChoices, checked: list[int]
) -> HttpResponse:
    """Remove the checked rows, saving with it what was typed in the rows it keeps (validated as Save does;
    what is typed in a removed row goes with it)."""
    rows = choices.formset(request.POST) if _rows_posted(request) else None
    typed: dict[int, edit.RowChange] = {}
    if rows is not None:
        rows.is_valid()
        kept = [form for form in rows if form.listed_entry is not None and form.listed_entry.id not in checked]
        if rows.non_form_errors() or any(form.errors for form in kept):
            page_errors = [str(e) for e in rows.non_form_errors()]
            return _not_saved(request, institution, choices, rows=rows, page_errors=page_errors, checked=checked)
        typed = {form.cleaned_data["entry"].id: form.change() for form in kept if form.edited}
    result = edit.remove_and_save(institution, config, checked, typed)
    if not result.ok:
        return _not_saved(request, institution, choices, rows=rows, errors=result.errors, checked=checked)
    removed = f"Removed {result.removed} entr{'y' if result.removed == 1 else 'ies'} from the sync list."
    if typed:
        return _saved(request, institution, config, result, removed=removed)
    messages.success(request, removed)
    return _to_list(request)


def _rows_posted(request: HttpRequest) -> bool:
    """Whether the post holds the rows (the page always sends them; a post of the bulk fields alone edits
    only the checked entries)."""
    return f"{BaseEntryRowFormSet.get_default_prefix()}-TOTAL_FORMS" in request.POST


def _saved(
    request: HttpRequest,
    institution: Institution,
    config: CanvasConfig,
    result: SaveResult,
    extended: int = 0,
    removed: str = "",
) -> HttpResponse:
    """Saved (after what was `removed`, if anything), and (a warning, nothing lost) what the next sync would
    still skip or merge, read back as stored."""
    changed = f"Saved. {result.saved} entr{'y' if result.saved == 1 else 'ies'} changed"
    changed = f"{changed}, {extended} extended to the term end." if extended else f"{changed}."
    messages.success(request, f"{removed} {changed}" if removed else changed)
    if warning := checks.summary(checks.list_warnings(institution, edit.entries_for(institution, config))):
        messages.warning(request, warning)
    return _to_list(request)


def _not_saved(
    request: HttpRequest,
    institution: Institution,
    choices: SyncListChoices,
    *,
    rows: BaseEntryRowFormSet | None = None,
    errors: Mapping[int, Mapping[str, str]] | None = None,
    page_errors: Iterable[str] = (),
    bulk: BulkDatesForm | BulkDepartmentForm | None = None,
    checked: Iterable[int] = (),
) -> HttpResponse:
    """The tab again with every message beside its field: the rows as posted (else as stored), the
    workflow's `errors` added to them; errors that belong to no row on the page head it."""
    shown = choices.formset_to_correct(rows)
    page_errors = [*page_errors, *shown.add_entry_errors(errors or {})]
    marked = any(form.errors for form in shown) or bool(bulk and bulk.errors)
    messages.error(request, "Nothing was saved: correct the entries marked below." if marked else "Nothing was saved.")
    for message in dict.fromkeys(page_errors):
        messages.error(request, message)
    sort = list_sort(request.POST.get("sort"))
    ctx = {
        "tab": "list",
        "progress_hidden": True,
        **sync_list_context(institution, choices, shown, bulk, checked, sort),
    }
    return render(request, "sync/sync_settings.html", ctx)


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
