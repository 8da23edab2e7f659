"""View History's filters: they validate and normalize, and a refused value is said beside its field."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms

from portal.search import MAX_QUERY  # a longer search is refused with a message
from sync.models import RunKind, RunStatus, RunTrigger
from sync.runs.history import HistoryFilters

BAD_DATE = "Enter a date as YYYY-MM-DD, e.g. 2026-09-01, or pick one from the calendar."
# Runs happen in these years; a date far outside them cannot be turned into a moment in every time zone.
YEARS = (2000, 2999)


def _in_years(value: dt.date) -> None:
    if not YEARS[0] <= value.year <= YEARS[1]:
        raise forms.ValidationError(f"Enter a date between the years {YEARS[0]} and {YEARS[1]}.")


CHOICES = {
    "kind": {value for value, _ in RunKind.choices},
    "status": {value for value, _ in RunStatus.choices},
    "trigger": {value for value, _ in RunTrigger.choices},
}


def _choice(label: str, choices) -> forms.TypedChoiceField:
    # An unknown value (an old bookmark, an edited URL) is "All", as the select shows it, not an error.
    return forms.TypedChoiceField(label=label, choices=[("", "All"), *choices], required=False)


def _date(label: str) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": BAD_DATE},
        validators=[_in_years],
    )


class HistoryFilterForm(forms.Form):
    q = forms.CharField(
        label="Search runs by course or person",
        required=False,
        widget=forms.TextInput(attrs={"type": "search"}),
        max_length=MAX_QUERY,
        error_messages={
            "max_length": "A search can be at most %(limit_value)d characters; this one has %(show_value)d. "
            "Shorten it and search again."
        },
    )
    kind = _choice("Kind", RunKind.choices)
    status = _choice("Status", RunStatus.choices)
    trigger = _choice("Trigger", RunTrigger.choices)
    date_from = _date("From")
    date_to = _date("To")

    def __init__(self, data, *args, **kwargs) -> None:
        data = data.copy()
        for name in ("kind", "status", "trigger"):
            if data.get(name) not in CHOICES[name]:
                data[name] = ""
        super().__init__(data, *args, **kwargs)

    def clean_q(self) -> str:
        return self.cleaned_data["q"].replace("\x00", "").strip()  # PostgreSQL text cannot hold NUL

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The To date is before the From date; choose a later To date.")
        return data

    def filters(self) -> HistoryFilters:
        return HistoryFilters(**self.cleaned_data)

    @property
    def filtered(self) -> bool:
        return any(self.data.get(name) for name in self.fields)
