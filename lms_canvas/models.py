"""The institution's Canvas connection (with its encrypted secrets) and the Configure mapping."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone

from lms_canvas.fields import EncryptedTextField
from portal.models import Institution

# Refresh a little before Canvas's one-hour expiry so a request never leaves with a dying token.
TOKEN_EXPIRY_MARGIN = dt.timedelta(seconds=120)


class LmsType(models.TextChoices):
    DEV_KEY = "dev_key", "Canvas Dev Key"
    ACCESS_TOKEN = "access_token", "Canvas Access Token"


class ConnectionStatus(models.TextChoices):
    NOT_CONFIGURED = "not_configured", "Not configured"
    NOT_VERIFIED = "not_verified", "Not verified"
    VERIFIED = "verified", "Verified"
    NEEDS_REAUTH = "needs_reauth", "Needs re-authorization"


class CanvasConnection(models.Model):
    institution = models.OneToOneField(Institution, on_delete=models.CASCADE, related_name="canvas_connection")
    lms_type = models.CharField("LMS Type", max_length=20, choices=LmsType.choices, default=LmsType.DEV_KEY)
    server_url = models.URLField("Canvas Server", blank=True)
    client_id = models.CharField("Client ID", max_length=40, blank=True)
    client_secret = EncryptedTextField("Client Secret", blank=True)
    access_token = EncryptedTextField(blank=True)
    refresh_token = EncryptedTextField(blank=True)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=ConnectionStatus.choices, default=ConnectionStatus.NOT_CONFIGURED)
    status_reason = models.TextField(blank=True, help_text="Why the status is what it is, in words for the admin.")
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    canvas_user_name = models.CharField(max_length=255, blank=True)
    canvas_user_id = models.BigIntegerField(null=True, blank=True)
    root_account_id = models.BigIntegerField(null=True, blank=True)
    capabilities = models.JSONField(default=dict, blank=True)
    reauth_notified_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Canvas for {self.institution}"

    @property
    def is_verified(self) -> bool:
        return self.status == ConnectionStatus.VERIFIED

    @property
    def has_secret(self) -> bool:
        return bool(self.client_secret)

    @property
    def has_token(self) -> bool:
        return bool(self.access_token)

    def token_is_fresh(self, now: dt.datetime | None = None) -> bool:
        if not self.access_token:
            return False
        if self.token_expires_at is None:
            return True
        return self.token_expires_at - TOKEN_EXPIRY_MARGIN > (now or timezone.now())

    def status_after_settings_change(self) -> str:
        complete = self.server_url and (
            self.lms_type == LmsType.ACCESS_TOKEN or (self.client_id and self.client_secret)
        )
        return ConnectionStatus.NOT_VERIFIED if complete else ConnectionStatus.NOT_CONFIGURED

    def clear_tokens(self) -> None:
        self.access_token = ""
        self.refresh_token = ""
        self.token_expires_at = None


class CourseIdType(models.TextChoices):
    SIS = "sis", "SIS ID"
    REFERENCE = "integration", "Reference ID"
    CANVAS = "canvas", "Course ID"


class SectionIdType(models.TextChoices):
    SIS = "sis", "SIS ID"
    REFERENCE = "integration", "Reference ID"
    CANVAS = "canvas", "Section ID"


class StudentIdType(models.TextChoices):
    SIS = "sis", "SIS ID"
    REFERENCE = "integration", "Reference ID"
    EMAIL = "email", "Email"
    LOGIN = "login", "Login ID"


DEFAULT_COURSE_ADMIN_BASE_ROLES = ("TeacherEnrollment", "TaEnrollment")
DEFAULT_STUDENT_BASE_ROLES = ("StudentEnrollment",)


class CanvasConfig(models.Model):
    """How Canvas records become portal IDs and roles. Kept across disconnect and reconnect."""

    institution = models.OneToOneField(Institution, on_delete=models.CASCADE, related_name="canvas_config")
    course_id_type = models.CharField(
        "Course ID Type", max_length=20, choices=CourseIdType.choices, default=CourseIdType.SIS
    )
    section_id_type = models.CharField(
        "Section ID Type", max_length=20, choices=SectionIdType.choices, default=SectionIdType.SIS
    )
    student_id_type = models.CharField(
        "Student ID Type", max_length=20, choices=StudentIdType.choices, default=StudentIdType.SIS
    )
    course_admin_role_ids = models.JSONField("Course Admin Roles", default=list, blank=True)
    student_role_ids = models.JSONField("Student Roles", default=list, blank=True)
    # The roles Canvas reported for the account at the last look: [{"id", "label", "base_role_type"}].
    available_roles = models.JSONField(default=list, blank=True)
    roles_loaded_at = models.DateTimeField(null=True, blank=True)
    saved_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Canvas mapping for {self.institution}"

    def role_label(self, role_id: int) -> str:
        for role in self.available_roles:
            if role["id"] == role_id:
                return role["label"]
        return f"role {role_id}"

    def apply_default_roles(self) -> None:
        """Teacher and TA as course admins, Student as student, until the admin chooses otherwise."""
        if not self.course_admin_role_ids:
            self.course_admin_role_ids = [
                r["id"] for r in self.available_roles if r["label"] in DEFAULT_COURSE_ADMIN_BASE_ROLES
            ]
        if not self.student_role_ids:
            self.student_role_ids = [r["id"] for r in self.available_roles if r["label"] in DEFAULT_STUDENT_BASE_ROLES]
