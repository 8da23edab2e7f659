"""Support reads every institution's audit trail here; nobody can add, change or delete an entry."""

from __future__ import annotations

from auditlog.admin import LogEntryAdmin
from django.contrib import admin
from django.http import HttpRequest

from sync.audit.models import AuditEntry

# auditlog registers its own admin for the log entry model; ours adds the institution and the area.
if admin.site.is_registered(AuditEntry):
    admin.site.unregister(AuditEntry)


@admin.register(AuditEntry)
class AuditEntryAdmin(LogEntryAdmin):
    list_display = ["created", "institution", "area", "resource_url", "action", "msg_short", "user_url"]
    list_filter = ["area", "action", "institution"]
    list_select_related = ["content_type", "actor", "institution"]
    search_fields = ["object_repr", "actor_email", "institution__name"]
    readonly_fields = ["created", "institution", "area", "resource_url", "action", "user_url", "remote_addr", "msg"]
    fieldsets = [
        (None, {"fields": ["created", "institution", "area", "user_url", "remote_addr", "resource_url"]}),
        ("Changes", {"fields": ["action", "msg"]}),
    ]

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
