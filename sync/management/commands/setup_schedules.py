from __future__ import annotations

from django.core.management.base import BaseCommand

from sync.schedule import PERIODIC_TASKS, install_periodic_tasks


class Command(BaseCommand):
    help = (
        "Check beat's periodic tasks (the nightly sync dispatcher and the run reaper) and restore any that "
        "is missing, disabled or changed. Safe to run again; beat does the same when it starts."
    )

    def handle(self, *args, **options) -> str:
        changed = install_periodic_tasks()
        lines = [
            f"{'Restored' if name in changed else 'OK'}: {name} (every {seconds} s)"
            for name, (_task, seconds) in PERIODIC_TASKS.items()
        ]
        return "\n".join(lines)
