"""Select Courses' search and the one-course refresh: the forms validate and normalize, nothing more."""

from __future__ import annotations

from django import forms

from sync.catalog.search import MAX_QUERY


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
