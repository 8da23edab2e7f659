from __future__ import annotations

from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "sync.live"
    label = "live"  # its own migrations, apart from sync's
    verbose_name = "Instant sync (Canvas Live Events)"
