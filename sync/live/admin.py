from __future__ import annotations

from django.contrib import admin

from sync.live.models import LiveEvent, LiveSync, PendingCourse


@admin.register(LiveSync)
class LiveSyncAdmin(admin.ModelAdmin):
    # The webhook token is the address's secret: support never sees it (the admin rotates it in LMS Settings).
    list_display = ("institution", "enabled", "enabled_at", "last_event_at")
    list_filter = ("enabled",)
    search_fields = ("institution__name",)
    fields = ("institution", "enabled", "enabled_at", "token_rotated_at", "last_event_at")
    readonly_fields = ("institution", "enabled_at", "token_rotated_at", "last_event_at")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(LiveEvent)
class LiveEventAdmin(admin.ModelAdmin):
    list_display = ("received_at", "institution", "event_name", "canvas_course_id", "handled_at")
    list_filter = ("event_name",)
    search_fields = ("institution__name", "canvas_course_id")
    list_select_related = ("institution",)
    readonly_fields = [f.name for f in LiveEvent._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(PendingCourse)
class PendingCourseAdmin(admin.ModelAdmin):
    list_display = ("institution", "canvas_course_id", "events", "first_event_at", "last_event_at")
    list_select_related = ("institution",)
