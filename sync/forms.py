"""Forms validate and normalize; the sync list's per-row fields are read in sync/views/sync_list.py."""

from __future__ import annotations

from django import forms

from sync.synclist_csv import MODES

MAX_CSV_BYTES = 2 * 1024 * 1024


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


class ImportForm(forms.Form):
    file = forms.FileField(label="CSV file", error_messages={"required": "Choose a CSV file to import."})
    mode = forms.ChoiceField(label="Mode", choices=list(MODES.items()), initial="add", widget=forms.RadioSelect)

    def clean_file(self):
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
