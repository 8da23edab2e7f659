"""Select Courses' search and the one-course refresh: the forms validate and normalize, nothing more."""

from __future__ import annotations

from django import forms


class CourseSearchForm(forms.Form):
    q = forms.CharField(label="Search by Course ID or name", required=False, max_length=255)
    hide = forms.BooleanField(label="Hide courses that cannot be synced", required=False)
    page = forms.IntegerField(required=False, min_value=1)


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
