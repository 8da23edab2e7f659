"""Edit Sync List's forms: the rows (a formset over this institution's entries), the bulk actions on
checked rows, and the CSV import. They validate and normalize; sync/synclist/edit.py saves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError

from portal.models import Department
from sync.synclist.csv_io import MODES
from sync.synclist.edit import DEPARTMENT_OTHER, END_BEFORE_START, NOT_ON_LIST, ListedEntry, RowChange

MAX_CSV_BYTES = 2 * 1024 * 1024
DATE_FORMAT = "%Y-%m-%d"
BAD_DATE = "Enter a date as YYYY-MM-DD."


def date_field(label: str) -> forms.DateField:
    """A date as a browser's date input sends it (empty is no date); only that one format, as the message says."""
    return forms.DateField(
        label=label,
        required=False,
        input_formats=[DATE_FORMAT],
        widget=forms.DateInput(attrs={"type": "date"}, format=DATE_FORMAT),
        error_messages={"invalid": BAD_DATE},
    )


class DepartmentField(forms.ModelChoiceField):
    """One of the institution's departments, or None for "no department" (the empty choice). The
    departments are read once a request and handed to every row: a ModelChoiceField over a queryset
    would query once per row to list the options and once more per posted choice."""

    def __init__(self, departments: Sequence[Department], *, label: str, empty_label: str) -> None:
        super().__init__(
            queryset=Department.objects.none(),
            required=False,
            label=label,
            empty_label=empty_label,
            error_messages={"invalid_choice": DEPARTMENT_OTHER},
        )
        self.by_id = {str(d.id): d for d in departments}
        self.choices = [("", empty_label), *((d.id, d.name) for d in departments)]

    def to_python(self, value: Any) -> Department | None:
        if value in self.empty_values:
            return None
        department = self.by_id.get(str(value))
        if department is None:
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return department


class EntryRowForm(forms.Form):
    """One row of Edit Sync List: the entry it edits (one of this institution's), its dates, its department."""

    entry = forms.CharField(widget=forms.HiddenInput, strip=False)
    start_date = date_field("Start Date")
    end_date = date_field("End Date")

    def __init__(
        self, *args: Any, listed: Mapping[str, ListedEntry], departments: Sequence[Department], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.listed = listed
        self.fields["department"] = DepartmentField(departments, label="Department", empty_label="— Choose —")

    @property
    def listed_entry(self) -> ListedEntry | None:
        """The entry this row edits, or None when the id (as posted) is not on this institution's list."""
        return self.listed.get(str(self["entry"].value()))

    def clean_entry(self) -> ListedEntry:
        item = self.listed.get(self.cleaned_data["entry"])
        if item is None:
            raise ValidationError(NOT_ON_LIST, code="not_listed")
        return item

    def clean(self) -> dict[str, Any]:
        # The workflow checks this too (a bulk date meets each row's other date there); here it is marked
        # in the same round as another row's bad date, which stops the post before the workflow runs.
        data = super().clean() or {}
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", END_BEFORE_START)
        return data

    def change(self) -> RowChange:
        data = self.cleaned_data
        return RowChange(start_date=data["start_date"], end_date=data["end_date"], department=data["department"])

    @property
    def edited(self) -> bool:
        """Whether this valid row's values differ from its entry's as stored (typed and not saved)."""
        entry = self.cleaned_data["entry"].entry
        return self.change() != RowChange(
            start_date=entry.start_date, end_date=entry.end_date, department=entry.department
        )


class BaseEntryRowFormSet(forms.BaseFormSet):
    @classmethod
    def get_default_prefix(cls) -> str:
        return "rows"

    def clean(self) -> None:
        # A row for an entry that is not on the list (removed meanwhile, or another institution's id) cannot
        # be shown beside its fields, so it is refused for the whole post.
        if any(form.listed_entry is None for form in self.forms):
            raise ValidationError(NOT_ON_LIST, code="not_listed")

    def changes(self) -> dict[int, RowChange]:
        return {form.cleaned_data["entry"].id: form.change() for form in self.forms}

    def add_entry_errors(self, errors: Mapping[int, Mapping[str, str]]) -> list[str]:
        """Puts the workflow's errors (by entry id, then field; "entry" for the row as a whole) beside their
        fields, and returns those of entries that have no row here."""
        rows = {form.listed_entry.id: form for form in self.forms if form.listed_entry is not None}
        elsewhere: list[str] = []
        for entry_id, by_field in errors.items():
            form = rows.get(entry_id)
            for name, message in by_field.items():
                if form is None:
                    elsewhere.append(message)
                else:
                    form.add_error(None if name == "entry" else name, message)
        return elsewhere


# formset_factory is typed as returning a plain BaseFormSet; this one is the subclass above.
EntryRowFormSet = cast(
    "type[BaseEntryRowFormSet]", forms.formset_factory(EntryRowForm, formset=BaseEntryRowFormSet, extra=0)
)


@dataclass(frozen=True)
class SyncListChoices:
    """What Edit Sync List's forms may choose from, read once a request: this institution's entries (in
    the list's order) and departments, and nothing else."""

    listed: Sequence[ListedEntry]
    departments: Sequence[Department]

    def formset(self, data: Mapping[str, Any] | None = None) -> BaseEntryRowFormSet:
        """The rows: unbound with the stored values for the page, or bound to a post."""
        initial = None if data is not None else [_stored(item) for item in self.listed]
        form_kwargs = {"listed": {str(item.id): item for item in self.listed}, "departments": self.departments}
        return EntryRowFormSet(data, initial=initial, form_kwargs=form_kwargs)

    def formset_to_correct(self, posted: BaseEntryRowFormSet | None = None) -> BaseEntryRowFormSet:
        """The rows to show after a refused post, validated (so errors can be added beside their fields):
        one per entry listed now, with what was posted for it, else its stored values. A posted row whose
        entry is not on the list drops out, so the page posts back whole once corrected."""
        rows = {
            form.listed_entry.id: form for form in (posted.forms if posted is not None else []) if form.listed_entry
        }
        prefix = BaseEntryRowFormSet.get_default_prefix()
        total = str(len(self.listed))
        data = {f"{prefix}-TOTAL_FORMS": total, f"{prefix}-INITIAL_FORMS": total}
        for index, item in enumerate(self.listed):
            form = rows.get(item.id)
            values = _stored(item) if form is None else _posted(form)
            data.update({f"{prefix}-{index}-{name}": value for name, value in values.items()})
        formset = self.formset(data)
        formset.is_valid()
        return formset

    def bulk_department_form(self, data: Mapping[str, Any] | None = None) -> BulkDepartmentForm:
        return BulkDepartmentForm(data, departments=self.departments)


def _stored(item: ListedEntry) -> dict[str, str]:
    """An entry's stored values as a browser posts them (the unbound rows' initial values, too)."""
    entry = item.entry
    return {
        "entry": str(entry.id),
        "start_date": entry.start_date.strftime(DATE_FORMAT) if entry.start_date else "",
        "end_date": entry.end_date.strftime(DATE_FORMAT) if entry.end_date else "",
        "department": str(entry.department_id or ""),
    }


def _posted(form: EntryRowForm) -> dict[str, str]:
    return {name: form.data.get(form.add_prefix(name), "") for name in form.fields}


class BulkDatesForm(forms.Form):
    bulk_start = date_field("Start Date for checked rows")
    bulk_end = date_field("End Date for checked rows")

    def change(self) -> RowChange:
        """Only the dates filled in: a blank one keeps each row's own."""
        change = RowChange()
        if self.cleaned_data["bulk_start"] is not None:
            change["start_date"] = self.cleaned_data["bulk_start"]
        if self.cleaned_data["bulk_end"] is not None:
            change["end_date"] = self.cleaned_data["bulk_end"]
        return change


class BulkDepartmentForm(forms.Form):
    def __init__(self, *args: Any, departments: Sequence[Department], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["bulk_department"] = DepartmentField(
            departments, label="Department for checked rows", empty_label="— None —"
        )

    def change(self) -> RowChange:
        """The checked rows all get this department; "— None —" takes theirs away."""
        return RowChange(department=self.cleaned_data["bulk_department"])


class ImportForm(forms.Form):
    file = forms.FileField(label="CSV file", error_messages={"required": "Choose a CSV file to import."})
    mode = forms.ChoiceField(label="Mode", choices=list(MODES.items()), initial="add", widget=forms.RadioSelect)

    def clean_file(self) -> str:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_CSV_BYTES:
            raise forms.ValidationError("The file is larger than 2 MB; split it.")
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError("The file is not UTF-8 text; save it as “CSV UTF-8” and try again.") from None


class ImportApplyForm(forms.Form):
    csv_text = forms.CharField(widget=forms.HiddenInput, max_length=MAX_CSV_BYTES, strip=False)
    mode = forms.ChoiceField(choices=list(MODES.items()), widget=forms.HiddenInput)
