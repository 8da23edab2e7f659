from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from portal.health import check_beat


class Command(BaseCommand):
    help = "Exit non-zero when Celery beat's last recorded tick is older than BEAT_STALE_SECONDS (compose's beat healthcheck)."
    requires_system_checks = []  # a healthcheck every few seconds need not check the whole project

    def handle(self, *args: object, **options: object) -> str:
        beat = check_beat()
        if not beat.ok:
            raise CommandError(f"beat: {beat.detail}")
        return f"beat: {beat.detail}"
