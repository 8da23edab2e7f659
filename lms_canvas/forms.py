from __future__ import annotations

from typing import Any, cast

from django import forms

from lms_canvas.models import CanvasConfig, CourseIdType, LmsType, SectionIdType, StudentIdType
from lms_canvas.urlguard import canvas_origin, normalize_canvas_url

SERVER_MOVED_DEV_KEY = (
    "You changed the Canvas Server (even http to https is a change), so type the Client Secret again "
    "(Show Key in that Canvas): a saved secret is only ever sent to the server it was saved for."
)
SERVER_MOVED_PASTED = (
    "You changed the Canvas Server (even http to https is a change), so paste the access token for that "
    "Canvas again: a saved token is only ever sent to the server it was saved for."
)
CLIENT_ID_TOO_LONG = (
    "That is too long for a Client ID: it is the number shown above the Show Key button in Canvas's "
    "Developer Keys (Details column), at most 40 digits. Copy just that number."
)


class LmsSettingsForm(forms.Form):
    lms_type = forms.ChoiceField(label="LMS Type", choices=LmsType.choices)
    server_url = forms.CharField(
        label="Canvas Server",
        max_length=200,
        help_text="Your Canvas address, such as https://yourschool.instructure.com.",
    )
    client_id = forms.CharField(
        label="Client ID", max_length=40, required=False, error_messages={"max_length": CLIENT_ID_TOO_LONG}
    )
    # Write-only: never rendered back, so an empty field means "keep the saved one".
    client_secret = forms.CharField(
        label="Client Secret", max_length=200, required=False, widget=forms.PasswordInput(render_value=False)
    )
    access_token = forms.CharField(
        label="Access Token", max_length=500, required=False, widget=forms.PasswordInput(render_value=False)
    )

    def __init__(
        self, *args, has_secret: bool = False, has_token: bool = False, saved_server_url: str = "", **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.has_secret = has_secret
        self.has_token = has_token
        self.saved_server_url = saved_server_url

    def clean_server_url(self) -> str:
        return normalize_canvas_url(self.cleaned_data["server_url"])

    def clean_client_id(self) -> str:
        value = self.cleaned_data["client_id"].strip()
        if value and not (value.isascii() and value.isdigit()):
            raise forms.ValidationError(
                "The Client ID is the number shown above the Show Key button in Canvas's Details column."
            )
        return value

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        # Saved secrets belong to the saved address (CanvasConnection.change_server_url forgets them).
        moved = "server_url" in data and canvas_origin(data["server_url"]) != canvas_origin(self.saved_server_url)
        if data.get("lms_type") == LmsType.DEV_KEY:
            if not data.get("client_id") and "client_id" not in self.errors:  # one message per mistake
                self.add_error("client_id", "Enter the Client ID from Canvas's Developer Keys page.")
            if not data.get("client_secret", "").strip() and (moved or not self.has_secret):
                self.add_error(
                    "client_secret",
                    SERVER_MOVED_DEV_KEY if self.has_secret else "Enter the Client Secret shown by Show Key in Canvas.",
                )
        elif data.get("lms_type") == LmsType.ACCESS_TOKEN:
            if not data.get("access_token", "").strip() and (moved or not self.has_token):
                self.add_error(
                    "access_token",
                    SERVER_MOVED_PASTED if self.has_token else "Paste the scoped access token you generated in Canvas.",
                )
        return data


class ConfigureForm(forms.Form):
    course_id_type = forms.ChoiceField(label="Course ID Type", choices=CourseIdType.choices)
    section_id_type = forms.ChoiceField(label="Section ID Type", choices=SectionIdType.choices)
    student_id_type = forms.ChoiceField(label="Student ID Type", choices=StudentIdType.choices)
    # Django's "This field is required." under a list of checkboxes did not say what to tick (the walk).
    course_admin_role_ids = forms.TypedMultipleChoiceField(
        label="Course Admin Roles",
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": "Tick at least one Course Admin role: the Canvas roles (such as Teacher) whose people "
            "are synced as the course's admins."
        },
    )
    student_role_ids = forms.TypedMultipleChoiceField(
        label="Student Roles",
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": "Tick at least one Student role: the Canvas roles (such as Student) whose people are "
            "synced as exam-takers."
        },
    )

    def __init__(self, *args, config: CanvasConfig, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.role_choices = [(r["id"], config.role_choice_label(r)) for r in config.available_roles]
        for name in ("course_admin_role_ids", "student_role_ids"):
            cast(forms.TypedMultipleChoiceField, self.fields[name]).choices = self.role_choices

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        overlap = set(data.get("course_admin_role_ids", [])) & set(data.get("student_role_ids", []))
        if overlap:
            self.add_error(
                "student_role_ids", "A role cannot be both a Course Admin role and a Student role; choose one."
            )
        return data
