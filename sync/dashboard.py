"""The dashboard's setup checklist (the guide's steps, each ticked once it is done) and, once a first sync
has finished, the status card it becomes: the connection, the last sync and its outcome, the next one
and what is open. Shown by `{% setup_status institution %}` (sync/templatetags/setup_tags.py)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q
from django.urls import reverse

from lms_canvas.models import CanvasConfig, CanvasConnection, ConnectionStatus, LmsType
from portal.models import Institution
from sync.models import CatalogCourse, CourseResultStatus, RunKind, RunStatus, SyncCourseResult, SyncListEntry, SyncRun
from sync.runs.open_counts import open_total
from sync.schedule import NextSync, next_nightly_sync

FINISHED_SYNC = (RunStatus.SUCCEEDED, RunStatus.WITH_ISSUES)


@dataclass(frozen=True)
class Step:
    title: str
    done: bool
    url: str
    action: str  # the link's words, for the step still to do
    hint: str = ""  # what to do, or why it is not done


@dataclass(frozen=True)
class Status:
    connection: CanvasConnection
    last_sync: SyncRun | None  # the latest, perhaps still running
    last_ended: SyncRun | None  # the latest that ended: what is open comes from it
    next_sync: NextSync
    issue_count: int  # the last ended sync's issues: the problems it found first, and its own
    open_count: int  # what the syncs left out and is still so (Open problems)
    held_count: int  # its courses held for approval and not approved yet


def _connection(institution: Institution) -> CanvasConnection:
    return CanvasConnection.objects.filter(institution=institution).first() or CanvasConnection(institution=institution)


def _syncs(institution: Institution):
    real = Q(params__preview=False) | Q(params__preview__isnull=True)  # a preview syncs nothing
    return SyncRun.objects.filter(real, institution=institution, kind=RunKind.SYNC)


def is_set_up(institution: Institution) -> bool:
    """A first sync has finished: from then on the dashboard shows the status card."""
    return _syncs(institution).filter(status__in=FINISHED_SYNC).exists()


def checklist(institution: Institution) -> list[Step]:
    """The guide's portal-side steps, in its order, each ticked by what the portal can see."""
    conn = _connection(institution)
    config = CanvasConfig.objects.filter(institution=institution).first()
    entered = bool(conn.server_url) and (
        conn.has_token if conn.lms_type == LmsType.ACCESS_TOKEN else bool(conn.client_id and conn.has_secret)
    )
    refreshed = CatalogCourse.objects.filter(institution=institution).exists()
    listed = SyncListEntry.objects.filter(institution=institution).exists()
    lms, sync_settings = reverse("lms-settings"), reverse("sync-settings")
    not_verified = conn.status_reason if conn.status != ConnectionStatus.VERIFIED else ""
    return [
        Step(
            "Create the developer key in Canvas and enter it in LMS Settings",
            entered,
            lms,
            "Open LMS Settings",
            "LMS Settings lists the scopes to tick in Canvas; then enter the Canvas Server, Client ID and "
            "Client Secret and Save.",
        ),
        Step(
            "Generate Key and Authorize in Canvas",
            conn.is_verified,
            lms,
            "Generate Key",
            not_verified or "Choose Generate Key, log in to Canvas as an admin and select Authorize.",
        ),
        Step(
            "Configure the ID types and roles",
            config is not None and config.saved_at is not None,
            reverse("canvas-configure"),
            "Open Configure",
            "Choose which Canvas IDs become portal IDs, and which roles are course admins and exam-takers.",
        ),
        Step(
            "Refresh Courses",
            refreshed,
            sync_settings,
            "Open Edit Sync Settings",
            "Refresh Courses reads the list of courses from Canvas (it syncs nothing yet).",
        ),
        Step(
            "Add courses to the sync list",
            listed,
            sync_settings,
            "Select courses",
            "Search for each course and select + to add it (or > to add one section); set dates and departments.",
        ),
        Step(
            "Sync Now",
            is_set_up(institution),
            reverse("sync-history"),
            "Open View History",
            "Choose Sync Now; from then on the nightly sync keeps the portal up to date.",
        ),
    ]


def status(institution: Institution) -> Status:
    syncs = _syncs(institution).order_by("-created_at")
    last_ended = syncs.exclude(status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).first()
    held = SyncCourseResult.objects.filter(run=last_ended, status=CourseResultStatus.HELD) if last_ended else None
    return Status(
        connection=_connection(institution),
        last_sync=syncs.first(),
        last_ended=last_ended,
        next_sync=next_nightly_sync(institution),
        issue_count=last_ended.issues.count() if last_ended else 0,
        open_count=open_total(institution.id),
        held_count=held.count() if held is not None else 0,
    )
