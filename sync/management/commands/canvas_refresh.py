"""`manage.py canvas_refresh --institution SLUG [--course ID]`: Refresh Courses for support, in the foreground."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from portal.models import Institution
from sync.catalog import refresh
from sync.models import RunKind, RunStatus, RunTrigger
from sync.runs import lifecycle


class Command(BaseCommand):
    help = "Refresh an institution's course catalogue from Canvas (or one course with --course), recorded as a run."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--institution", required=True, help="the institution's slug")
        parser.add_argument("--course", help="one course only: its Canvas course id or SIS ID")

    def handle(self, *args, institution: str, course: str | None, **options) -> str:
        inst = Institution.objects.filter(slug=institution).first()
        if inst is None:
            raise CommandError(f"No institution with slug “{institution}”.")
        try:
            if course:
                params = {"course": course}
                queued = lifecycle.create_run(inst, RunKind.COURSE_REFRESH, trigger=RunTrigger.SUPPORT, params=params)
                run = refresh.run_course_refresh(queued.id)
            else:
                queued = lifecycle.create_run(inst, RunKind.REFRESH, trigger=RunTrigger.SUPPORT)
                self.stdout.write(f"Refreshing {inst} as run #{queued.id}…")
                run = refresh.run_refresh(queued.id)
        except lifecycle.RunAlreadyActive as exc:
            raise CommandError(f"{exc} Wait for it to finish, or cancel it on Edit Sync Settings.") from None
        if run is None:
            raise CommandError("The run was claimed by another worker.")
        if run.status == RunStatus.FAILED:
            raise CommandError(run.message)
        self.stdout.write(run.message)
        return f"{run.get_status_display()}."
