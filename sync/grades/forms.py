"""Forms for exams and their scores: they validate and normalize, nothing more."""

from __future__ import annotations

from decimal import Decimal
from typing import cast

from django import forms

from portal.models import Course, Institution
from sync.grades import scores


class ExamForm(forms.Form):
    course = forms.ModelChoiceField(
        label="Course",
        queryset=Course.objects.none(),
        empty_label="Choose a synced course",
        error_messages={
            "required": "Choose the course the exam belongs to.",
            "invalid_choice": "Choose one of your courses synced from Canvas.",
        },
    )
    title = forms.CharField(label="Exam title", max_length=255, error_messages={"required": "Give the exam a title."})
    points_possible = forms.DecimalField(
        label="Points possible",
        max_digits=7,
        decimal_places=2,
        min_value=Decimal("0.01"),
        error_messages={
            "required": "Enter the exam's points possible, such as 100.",
            "invalid": "Points possible must be a number, such as 100 or 42.5.",
            "min_value": "Points possible must be more than 0.",
            "max_digits": "Points possible must be less than 100,000.",
            "max_whole_digits": "Points possible must be less than 100,000.",
            "max_decimal_places": "Points possible can have at most two decimal places.",
        },
    )

    def __init__(self, *args, institution: Institution, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Only courses synced from Canvas can take grades; another institution's course is not a choice.
        cast(forms.ModelChoiceField, self.fields["course"]).queryset = Course.objects.filter(
            institution=institution, lms_id__isnull=False
        )

    def clean_title(self) -> str:
        title = self.cleaned_data["title"].strip()
        if not title:
            raise forms.ValidationError("Give the exam a title.")
        return title


class ScoresUploadForm(forms.Form):
    file = forms.FileField(
        label="Scores file (CSV)",
        error_messages={"required": "Choose a CSV file to upload.", "empty": scores.EMPTY_FILE},
    )
    filename = ""  # the upload's name, once cleaned: the cleaned value is its content

    def clean_file(self) -> bytes:
        upload = self.cleaned_data["file"]
        if upload.size > scores.MAX_BYTES:
            raise forms.ValidationError(scores.TOO_LARGE)
        self.filename = upload.name
        return upload.read()


class PostScoresForm(forms.Form):
    overwrite_conflicts = forms.BooleanField(
        label="Overwrite grades changed in Canvas",
        required=False,
        help_text="Off: a grade someone changed in Canvas since the last post is reported and left alone.",
    )
