"""The sync list's CSV import forms: they validate and normalize; the per-row fields are read in its views."""

from __future__ import annotations

from django import forms

from sync.synclist.csv_io import MODES

MAX_CSV_BYTES = 2 * 1024 * 1024


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
