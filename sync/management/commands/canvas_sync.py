from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from portal.models import Institution
from sync.engine import start_sync
from sync.engine.dispatch import run_here
from sync.models import RunTrigger
from sync.runs import lifecycle
from sync.runs.readable import issue_text


class Command(BaseCommand):
    help = (
        "Sync an institution's sync list from Canvas now, in this process, through the same batch tasks the "
        "workers run (--preview: show, write nothing)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--institution", required=True, help="The institution's slug.")
        parser.add_argument("--preview", action="store_true", help="Plan and report the changes without applying them.")

    def handle(self, *args, institution: str, preview: bool, **options) -> str:
        inst = Institution.objects.filter(slug=institution).first()
        if inst is None:
            raise CommandError(f"No institution with slug “{institution}”.")
        try:
            run = start_sync(inst, trigger=RunTrigger.SUPPORT, preview=preview, enqueue=False)
        except lifecycle.RunAlreadyActive as exc:
            raise CommandError(f"{exc} Wait for it to finish (View History), then try again.") from None
        if run.is_active:
            run = run_here(run)
        for result in run.course_results.all():
            line = f"  {result.label}: {result.get_status_display()}"
            if result.details.get("totals"):
                t = result.details["totals"]
                line += f" (add {t['added']}, re-label {t['relabelled']}, deactivate {t['deactivated']}, skip {t['skipped']})"
            elif result.message:
                line += f" - {result.message}"
            self.stdout.write(line)
        if run.quiet_courses:
            self.stdout.write(f"  and {run.quiet_courses} course(s) synced with nothing to change")
        for issue in run.issues.filter(severity__in=["error", "warning"])[:50]:
            self.stdout.write(f"  [{issue.code}] {issue.label}: {issue_text(issue)}")
        return f"Sync #{run.id}: {run.get_status_display()}. {run.message}"
