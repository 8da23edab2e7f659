"""What the audit trail tracks, by area of the portal, and whose institution a change belongs to.

Apart from the models and the auditlog registration (tracking.py), so both can use it."""

from __future__ import annotations

from django.db import models


class Area(models.TextChoices):
    LMS_SETTINGS = "lms_settings", "LMS Settings"
    CONFIGURE = "configure", "Configure"
    SYNC_LIST = "sync_list", "Sync list"
    SCHEDULE = "schedule", "Schedule and notifications"
    RUNS = "runs", "Sync Now and refreshes"
    HELD = "held", "Held courses approved"
    GRADES = "grades", "Grades posted"


# model label -> (area, fields recorded, fields recorded only as set / not set)
TRACKED: dict[str, tuple[str, list[str], list[str]]] = {
    "lms_canvas.CanvasConnection": (
        Area.LMS_SETTINGS,
        ["lms_type", "server_url", "client_id", "client_secret", "status"],
        ["client_secret"],
    ),
    "lms_canvas.CanvasConfig": (
        Area.CONFIGURE,
        ["course_id_type", "section_id_type", "student_id_type", "course_admin_role_ids", "student_role_ids"],
        [],
    ),
    "sync.SyncListEntry": (Area.SYNC_LIST, ["course", "section", "department", "start_date", "end_date"], []),
    "portal.Institution": (
        Area.SCHEDULE,
        [
            "name",
            "slug",
            "timezone",
            "nightly_sync_hour",
            "notification_emails",
            "sync_hold_percent",
            "sync_hold_min_people",
        ],
        [],
    ),
}


def institution_id_of(instance: models.Model) -> int | None:
    if instance._meta.label == "portal.Institution":
        return instance.pk
    return getattr(instance, "institution_id", None)


def area_of(instance: models.Model) -> str:
    tracked = TRACKED.get(instance._meta.label)
    return tracked[0] if tracked else ""
