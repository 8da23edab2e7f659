from __future__ import annotations

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "sync.audit"
    label = "audit"  # the app label its migrations, its table and AUDITLOG_LOGENTRY_MODEL name
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from sync.audit import tracking

        tracking.register_all()
