from __future__ import annotations

from django.core.management.base import BaseCommand

from sync.schedule import DISPATCH_EVERY_MINUTES, install_periodic_task


class Command(BaseCommand):
    help = "Install the Celery beat entry that starts each institution's nightly sync (safe to run again)."

    def handle(self, *args, **options) -> str:
        created = install_periodic_task()
        verb = "Installed" if created else "Already installed; checked"
        return f"{verb} the nightly sync dispatcher (every {DISPATCH_EVERY_MINUTES} minutes)."
