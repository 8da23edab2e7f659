"""Select Courses' search and the one-course refresh: the forms validate and normalize, nothing more."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from django import forms
from django.template.defaultfilters import pluralize

from portal.search import MAX_QUERY
from sync.catalog.search import SubAccount

NOT_A_TERM = (
    "“%(value)s” is not a term of the courses the last refresh found. Choose a term from the list, "
    "or Refresh Courses if it is new in Canvas."
)
NOT_AN_ACCOUNT = (
    "“%(value)s” is not a sub-account of the courses the last refresh found. Choose one from the list, "
    "or Refresh Courses if it is new in Canvas."
)


class CourseSearchForm(forms.Form):
    q = forms.CharField(
        label="Search by Course ID or name",
        required=False,
        max_length=MAX_QUERY,
        error_messages={
            "max_length": "A search can be at most %(limit_value)d characters; this one has %(show_value)d. "
            "Shorten it and search again."
        },
    )
    hide = forms.BooleanField(label="Hide courses that cannot be synced", required=False)
    term = forms.ChoiceField(label="Term", required=False, error_messages={"invalid_choice": NOT_A_TERM})
    account = forms.TypedChoiceField(
        label="Sub-account",
        required=False,
        coerce=int,
        empty_value=None,
        error_messages={"invalid_choice": NOT_AN_ACCOUNT},
    )

    def __init__(self, data, *, terms: Sequence[str], accounts: Sequence[SubAccount], root_account: int | None) -> None:
        """The terms and sub-accounts to choose from: those of the catalogue the last refresh stored,
        each sub-account by its name (its number while no refresh has read the name)."""
        super().__init__(data)
        self.account_names = {a.canvas_id: a.name for a in accounts if a.name}
        cast(forms.ChoiceField, self.fields["term"]).choices = [("", "All terms"), *((name, name) for name in terms)]
        cast(forms.ChoiceField, self.fields["account"]).choices = [
            ("", "All sub-accounts"),
            *(
                (
                    str(a.canvas_id),
                    f"{a.label}{' (root)' if a.canvas_id == root_account else ''}: {a.courses} course{pluralize(a.courses)}",
                )
                for a in accounts
            ),
        ]

    @property
    def chosen_account(self) -> str:
        """The chosen sub-account as the results' words say it: its name, else "account N"."""
        chosen = self.cleaned_data.get("account")
        return self.account_names.get(chosen, f"account {chosen}") if chosen is not None else ""


class CourseRefreshForm(forms.Form):
    course = forms.CharField(
        label="Canvas course id or SIS ID",
        max_length=255,
        error_messages={"required": "Enter a Canvas course id or SIS ID."},
    )

    def clean_course(self) -> str:
        value = self.cleaned_data["course"].strip()
        if not value:
            raise forms.ValidationError("Enter a Canvas course id or SIS ID.")
        return value
