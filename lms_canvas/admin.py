"""Support sees every institution's connection, but never a secret: only whether one is set."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from lms_canvas import connect, oauth
from lms_canvas.errors import CanvasError
from lms_canvas.models import CanvasConfig, CanvasConnection
from lms_canvas.urlguard import normalize_canvas_url

NOT_AUTHORIZED_YET = (
    "the portal holds no Canvas token for it; an institution admin must choose Generate Key in LMS Settings."
)


def mask(secret: str) -> str:
    """Whether a secret is set, and nothing of it: not even its last characters reach support's screen."""
    return "•••• (set, never shown)" if secret else "—"


class CanvasConnectionForm(forms.ModelForm):
    # A CharField, not the model's URLField: that one would prefix http:// before the guard could say https.
    server_url = forms.CharField(label="Canvas Server", max_length=200, required=False)

    class Meta:
        model = CanvasConnection
        fields = ["lms_type", "server_url", "client_id"]

    def clean_server_url(self) -> str:
        value = self.cleaned_data["server_url"]
        return normalize_canvas_url(value) if value.strip() else ""


# The encrypted fields are excluded from every form: support can never read or type a secret here.
CONNECTION_FIELDS = (
    "institution",
    "lms_type",
    "server_url",
    "client_id",
    "client_secret_masked",
    "access_token_masked",
    "refresh_token_masked",
    "token_expires_at",
    "status",
    "status_reason",
    "verified_at",
    "verified_by",
    "canvas_user_name",
    "canvas_user_id",
    "root_account_id",
    "capabilities",
    "reauth_notified_at",
)


@admin.register(CanvasConnection)
class CanvasConnectionAdmin(admin.ModelAdmin):
    form = CanvasConnectionForm
    list_display = ["institution", "lms_type", "server_url", "client_id", "status", "verified_at", "token_expires_at"]
    list_filter = ["status", "lms_type"]
    search_fields = ["institution__name", "institution__slug", "server_url", "client_id"]
    list_select_related = ["institution"]
    fields = CONNECTION_FIELDS
    readonly_fields = [f for f in CONNECTION_FIELDS if f not in {"lms_type", "server_url", "client_id"}]
    actions = ["reverify", "refresh_token"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: CanvasConnection | None = None) -> bool:
        # A deleted row would leave the portal's token live at Canvas (nothing revokes it) and take the
        # institution's Canvas Server and client ID with it. An institution admin disconnects on LMS Settings,
        # which asks first, revokes the token at Canvas and keeps the mapping and sync list.
        return False

    def save_model(self, request: HttpRequest, obj: CanvasConnection, form: forms.ModelForm, change: bool) -> None:
        if obj.change_server_url(obj.server_url):
            self.message_user(
                request,
                f"{obj.institution}: the Canvas Server changed, so its client secret and tokens were cleared. "
                "An institution admin must enter the Client Secret in LMS Settings and choose Generate Key.",
                messages.WARNING,
            )
        super().save_model(request, obj, form, change)

    @admin.display(description="Client secret")
    def client_secret_masked(self, obj: CanvasConnection) -> str:
        return mask(obj.client_secret)

    @admin.display(description="Access token")
    def access_token_masked(self, obj: CanvasConnection) -> str:
        return mask(obj.access_token)

    @admin.display(description="Refresh token")
    def refresh_token_masked(self, obj: CanvasConnection) -> str:
        return mask(obj.refresh_token)

    @admin.action(description="Re-verify (live call to Canvas and capability check)")
    def reverify(self, request: HttpRequest, queryset: QuerySet[CanvasConnection]) -> None:
        for conn in queryset.select_related("institution"):
            if not conn.has_token:
                self.message_user(request, f"{conn.institution}: {NOT_AUTHORIZED_YET}", messages.WARNING)
                continue
            findings = connect.verify(conn, request.user)
            conn.refresh_from_db()
            level = messages.SUCCESS if conn.is_verified and not findings else messages.WARNING
            detail = "; ".join(f.message for f in findings) or "all checks passed"
            self.message_user(request, f"{conn.institution}: {conn.get_status_display()} ({detail})", level)

    @admin.action(description="Refresh the access token now")
    def refresh_token(self, request: HttpRequest, queryset: QuerySet[CanvasConnection]) -> None:
        for conn in queryset.select_related("institution"):
            if not conn.has_token:
                self.message_user(request, f"{conn.institution}: {NOT_AUTHORIZED_YET}", messages.WARNING)
                continue
            try:
                oauth.refresh_access_token(conn.id, rejected_token=conn.access_token)
            except CanvasError as exc:
                self.message_user(request, f"{conn.institution}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{conn.institution}: token refreshed.", messages.SUCCESS)


@admin.register(CanvasConfig)
class CanvasConfigAdmin(admin.ModelAdmin):
    list_display = ["institution", "course_id_type", "section_id_type", "student_id_type", "saved_at"]
    list_filter = ["course_id_type", "section_id_type", "student_id_type"]
    search_fields = ["institution__name", "institution__slug"]
    list_select_related = ["institution"]
    readonly_fields = ["available_roles", "roles_loaded_at", "saved_at"]
