"""The institution's Canvas connection (with its encrypted secrets) and the Configure mapping."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone

from lms_canvas.fields import EncryptedTextField
from lms_canvas.urlguard import canvas_origin
from portal.models import Institution

# Refresh a little before Canvas's one-hour expiry so a request never leaves with a dying token.
TOKEN_EXPIRY_MARGIN = dt.timedelta(seconds=120)
# What a connection knows only because of the Canvas address it was set up for.
ADDRESS_BOUND_FIELDS = (
    "client_secret",
    "access_token",
    "refresh_token",
    "token_expires_at",
    "status",
    "status_reason",
    "verified_at",
    "verified_by",
    "canvas_user_name",
    "canvas_user_id",
    "root_account_id",
    "root_account_uuid",
    "capabilities",
    "reauth_notified_at",
)


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
    # Canvas's uuid of the root account, read when verified: Live Events name their Canvas by it.
    root_account_uuid = models.CharField(max_length=64, blank=True)
    capabilities = models.JSONField(default=dict, blank=True)
    reauth_notified_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Canvas for {self.institution}"

    def save(self, *args, **kwargs) -> None:
        update_fields = kwargs.get("update_fields")
        # A deferred server_url is not saved, so it cannot have moved.
        if "server_url" in self.__dict__ and (update_fields is None or "server_url" in update_fields):
            if self.change_server_url(self.server_url) and update_fields is not None:
                kwargs["update_fields"] = {*update_fields, *ADDRESS_BOUND_FIELDS, "updated_at"}
        super().save(*args, **kwargs)

    @classmethod
    def from_db(cls, db, field_names, values):
        conn = super().from_db(db, field_names, values)
        if "server_url" in conn.__dict__:
            conn._bound_origin = canvas_origin(conn.server_url)
        return conn

    def refresh_from_db(self, using=None, fields=None, from_queryset=None) -> None:
        super().refresh_from_db(using=using, fields=fields, from_queryset=from_queryset)
        if fields is None or "server_url" in fields:
            self._bound_origin = canvas_origin(self.server_url)

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

    @property
    def account_ref(self) -> int | str:
        """The account the portal reads courses and roles under: the root account once verified."""
        return self.root_account_id or "self"

    def clear_tokens(self) -> None:
        self.access_token = ""
        self.refresh_token = ""
        self.token_expires_at = None

    def reset(self, reason: str) -> None:
        """Forget the tokens and the verification; the saved key details decide the status again, and
        `reason` says why in words for the admin. Changed key details, a failed authorization, a
        disconnect and a move to another server all come here. The caller saves."""
        self.clear_tokens()
        self.status = self.status_after_settings_change()
        self.status_reason = reason
        self.verified_at = None
        self.verified_by = None
        self.capabilities = {}

    def change_server_url(self, url: str) -> bool:
        """Point the connection at `url`; True if that moves it to another Canvas address.

        The client secret and the tokens belong to the address (scheme, host, port) they were entered
        or issued for: moving forgets them and the verification, so nothing saved for one server is
        ever sent to another. LMS Settings, the admin and any code that assigns `server_url` and
        saves all come here (save() calls it), so call it before setting a new secret."""
        moved = canvas_origin(url) != self._saved_origin()
        self.server_url = url
        self._bound_origin = canvas_origin(url)
        if moved:
            self.client_secret = ""
            self.canvas_user_name = ""
            self.canvas_user_id = None
            self.root_account_id = None
            self.root_account_uuid = ""
            self.reauth_notified_at = None
            self.reset(
                "The Canvas Server changed, so the client secret and tokens saved for the previous one were "
                "cleared. Enter the Client Secret (or access token) for this server in LMS Settings."
            )
        return moved

    def _saved_origin(self) -> tuple | None:
        if "_bound_origin" not in self.__dict__:
            # Loaded without server_url (deferred), or built by hand: ask the database.
            saved = None
            if not self._state.adding:
                saved = type(self).objects.filter(pk=self.pk).values_list("server_url", flat=True).first()
            self._bound_origin = canvas_origin(self.server_url if saved is None else saved)
        return self._bound_origin


class CourseIdType(models.TextChoices):
    SIS = "sis", "SIS ID"
    REFERENCE = "integration", "Reference ID"
    CANVAS = "canvas", "Course ID"

    @property
    def canvas_field(self) -> str:
        """The Canvas course attribute that holds this ID ("id" for the Canvas id)."""
        return {"sis": "sis_course_id", "integration": "integration_id", "canvas": "id"}[self.value]


class SectionIdType(models.TextChoices):
    SIS = "sis", "SIS ID"
    REFERENCE = "integration", "Reference ID"
    CANVAS = "canvas", "Section ID"

    @property
    def canvas_field(self) -> str:
        """The Canvas section attribute that holds this ID ("id" for the Canvas id)."""
        return {"sis": "sis_section_id", "integration": "integration_id", "canvas": "id"}[self.value]


class StudentIdType(models.TextChoices):
    SIS = "sis", "SIS ID"
    REFERENCE = "integration", "Reference ID"
    EMAIL = "email", "Email"
    LOGIN = "login", "Login ID"

    @property
    def canvas_field(self) -> str:
        """The Canvas user attribute that holds this ID."""
        return {"sis": "sis_user_id", "integration": "integration_id", "email": "email", "login": "login_id"}[
            self.value
        ]


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
        """Canvas's built-in Teacher and TA as course admins, its built-in Student as student, until the
        admin chooses otherwise. Chosen by base role type and built-in state: a label is Canvas's display
        text (translated, and a custom role may be called "Teacher"), never a key (CANVAS_API.md §5.6)."""
        if not self.course_admin_role_ids:
            self.course_admin_role_ids = self._built_in_role_ids(DEFAULT_COURSE_ADMIN_BASE_ROLES)
        if not self.student_role_ids:
            self.student_role_ids = self._built_in_role_ids(DEFAULT_STUDENT_BASE_ROLES)

    def _built_in_role_ids(self, base_role_types: tuple[str, ...]) -> list[int]:
        return [r["id"] for r in self.available_roles if r.get("built_in") and r["base_role_type"] in base_role_types]

    def role_choice_label(self, role: dict) -> str:
        """A role in Configure's (and the run's) words: Canvas's own label; a custom role also names the
        built-in role it is based on, in Canvas's words. No mapping of ours (CANVAS_API.md §5.6)."""
        if role.get("built_in") or "built_in" not in role:  # roles read before built_in was kept: as Canvas said
            return role["label"]
        return f"{role['label']} (based on {self.base_role_label(role['base_role_type'])})"

    def base_role_label(self, base_role_type: str) -> str:
        """Canvas's own label of the built-in role a custom role is based on ("Student")."""
        for role in self.available_roles:
            if role.get("built_in") and role["base_role_type"] == base_role_type:
                return role["label"]
        return base_role_type
