"""Support sees every institution's connection, but never a secret: only whether one is set."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from lms_canvas import connect, oauth
from lms_canvas.errors import CanvasError
from lms_canvas.models import CanvasConfig, CanvasConnection


def mask(secret: str) -> str:
    """At most the last four characters, and only of a long secret."""
    if not secret:
        return "—"
    return "••••" + secret[-4:] if len(secret) >= 16 else "•••• (set)"


@admin.register(CanvasConnection)
class CanvasConnectionAdmin(admin.ModelAdmin):
    list_display = ["institution", "lms_type", "server_url", "client_id", "status", "verified_at", "token_expires_at"]
    list_filter = ["status", "lms_type"]
    search_fields = ["institution__name", "institution__slug", "server_url", "client_id"]
    list_select_related = ["institution"]
    # The encrypted fields are excluded from every form: support can never read or type a secret here.
    fields = [
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
    ]
    readonly_fields = [f for f in fields if f not in {"lms_type", "server_url", "client_id"}]
    actions = ["reverify", "refresh_token"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

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
            findings = connect.verify(conn, request.user)
            conn.refresh_from_db()
            level = messages.SUCCESS if conn.is_verified and not findings else messages.WARNING
            detail = "; ".join(f.message for f in findings) or "all checks passed"
            self.message_user(request, f"{conn.institution}: {conn.get_status_display()} ({detail})", level)

    @admin.action(description="Refresh the access token now")
    def refresh_token(self, request: HttpRequest, queryset: QuerySet[CanvasConnection]) -> None:
        for conn in queryset.select_related("institution"):
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
