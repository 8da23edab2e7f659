"""Instant sync's state: the institution's switch and webhook address, each event kept once, and the
courses waiting for their refetch."""

from __future__ import annotations

import secrets

from django.db import models
from django.utils import timezone

from portal.models import Institution


def new_webhook_token() -> str:
    return secrets.token_urlsafe(32)


class LiveSync(models.Model):
    """One institution's instant sync. The webhook's address holds `webhook_token`: unguessable, and
    rotated by the admin (the old address then answers 404, so a leaked one stops working)."""

    institution = models.OneToOneField(Institution, on_delete=models.CASCADE, related_name="live_sync")
    enabled = models.BooleanField(default=False)
    webhook_token = models.CharField(max_length=64, unique=True, default=new_webhook_token)
    enabled_at = models.DateTimeField(null=True, blank=True)
    token_rotated_at = models.DateTimeField(null=True, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Instant sync for {self.institution}"

    def rotate_token(self) -> None:
        self.webhook_token = new_webhook_token()
        self.token_rotated_at = timezone.now()


class LiveEvent(models.Model):
    """An event the webhook accepted, once: Canvas retries and does not deduplicate, so a second copy
    (same `digest`) is dropped at the door. Kept two days for the status and the duplicates check."""

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="+")
    digest = models.CharField(max_length=64)
    event_name = models.CharField(max_length=64)
    event_time = models.CharField(max_length=40, blank=True)
    canvas_course_id = models.BigIntegerField(null=True, blank=True)
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["institution", "digest"], name="live_event_once")]
        indexes = [models.Index(fields=["institution", "-received_at"], name="live_event_recent")]

    def __str__(self) -> str:
        return f"{self.event_name} at {self.received_at:%Y-%m-%d %H:%M:%S}"


class PendingCourse(models.Model):
    """A synced course an event said changed, waiting for the quiet window to end before its refetch."""

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="+")
    canvas_course_id = models.BigIntegerField()
    first_event_at = models.DateTimeField()
    last_event_at = models.DateTimeField()
    events = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["institution", "canvas_course_id"], name="live_pending_course_once")
        ]

    def __str__(self) -> str:
        return f"Course {self.canvas_course_id} of {self.institution} ({self.events} events)"
