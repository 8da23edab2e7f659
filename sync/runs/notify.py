"""Emails about how a run went: one per event, to the institution's admins, only for nightly runs (an
admin who clicked is looking at the page). Called when a run ends (sync.runs.lifecycle.finish) and
when the reaper ends one."""

from __future__ import annotations

from django.conf import settings
from django.template.defaultfilters import pluralize
from django.urls import reverse

from lms_canvas.models import CanvasConnection, ConnectionStatus
from lms_canvas.notify import notify_reauth_once
from portal.notify import email_admins
from sync.models import RunStatus, RunTrigger, SyncRun
from sync.runs import canvas_view
from sync.runs.reasons import reason


def notify_run_outcome(run: SyncRun) -> None:
    """One email per event: a nightly sync failed, held changes, or found Canvas needs re-authorizing."""
    if run.trigger != RunTrigger.NIGHTLY or run.params.get("preview"):
        return
    link = settings.SITE_URL.rstrip("/") + reverse("sync-run", args=[run.id])
    name = run.institution.name
    if run.status == RunStatus.SKIPPED:
        _notify_reauth_once(run, link)
    elif run.status == RunStatus.FAILED:
        email_admins(
            run.institution,
            "Nightly sync failed",
            f"The nightly sync of {name} failed.\n\nWhat happened: {run.message}\n\n"
            f"What to do: open {link} for each course's cause and fix, then choose Sync Now.\n"
            "Nothing synced earlier was changed.\n"
            + "".join(f"\n{reason(code).title}: {reason(code).fix}\n" for code in canvas_view.found(run.id)),
        )
    elif run.counts.get("held"):
        email_admins(
            run.institution,
            "Nightly sync held changes for your approval",
            f"The nightly sync of {name} held {run.counts['held']} deactivation{pluralize(run.counts['held'])}: some course rosters "
            "would have shrunk drastically at once, which is usually a mistake in Canvas.\n\n"
            f"What to do: open {link}, check those courses in Canvas, and choose Approve if the change is real.\n",
        )

    if run.status != RunStatus.FAILED and canvas_view.found(run.id):
        email_admins(
            run.institution,
            "Nightly sync: Canvas left data out",
            f"The nightly sync of {name} ended {run.get_status_display().lower()}: Canvas answered without "
            f"data the portal needs, and nothing was changed or removed for lack of it.\n\n"
            + "".join(
                f"{reason(code).title}: {reason(code).sentence}\nWhat to do: {reason(code).fix}\n\n"
                for code in canvas_view.found(run.id)
            )
            + f"The run's page: {link}\n",
        )


def _notify_reauth_once(run: SyncRun, link: str) -> None:
    conn = CanvasConnection.objects.filter(institution=run.institution).first()
    if conn is not None and conn.status == ConnectionStatus.NEEDS_REAUTH:
        notify_reauth_once(conn.id, details_url=link)
