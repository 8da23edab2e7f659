"""Issue 18: what a sync leaves out of a course becomes one open item across runs.

Existing rows move into that shape: every sync's copy of one problem (same institution, reason,
Canvas object, course and sync-list scope) becomes one row, first seen in the earliest run that
recorded it. It stays open when the latest sync of its course still recorded it; otherwise it is
resolved by the first sync of its course after the last run that recorded it. A problem that went
away and came back between two recorded nights is kept as one item, first seen the first time.
Facts of one run (failures, ended entries, run-level reasons, refreshes, grade posts) stay as they are.
"""

from __future__ import annotations

from collections import defaultdict

from django.db import migrations
from django.db.models import OuterRef, Subquery

# Recorded per run (a course's failure, an ended entry): not problems a later sync can resolve.
PER_RUN_CODES = ("canvas_error", "canvas_access_lost", "internal_error", "entry_ended")
SYNCED = ("applied", "held", "skipped", "approved")
CHUNK = 1000


def collapse(apps, schema_editor) -> None:
    Issue = apps.get_model("sync", "SyncIssue")
    Run = apps.get_model("sync", "SyncRun")
    Result = apps.get_model("sync", "SyncCourseResult")
    Issue.objects.update(
        institution_id=Subquery(Run.objects.filter(id=OuterRef("run_id")).values("institution_id")[:1])
    )
    # order_by(): a model's default ordering would make DISTINCT repeat each institution per run.
    for institution_id in Issue.objects.order_by().values_list("institution_id", flat=True).distinct():
        _collapse_institution(Issue, Run, Result, institution_id)


def _collapse_institution(Issue, Run, Result, institution_id: int) -> None:
    when = {
        run_id: finished or created
        for run_id, finished, created in Run.objects.filter(institution_id=institution_id, kind="sync").values_list(
            "id", "finished_at", "created_at"
        )
    }
    section_of: dict[tuple[int, int], int | None] = {}  # (run, course) -> the entry's section
    syncs_of: dict[tuple[int, int | None], list[int]] = defaultdict(list)  # scope -> runs that synced it
    results = Result.objects.filter(run__institution_id=institution_id, run__kind="sync", status__in=SYNCED)
    for run_id, course_id, section_id in results.order_by("run_id", "id").values_list(
        "run_id", "canvas_course_id", "canvas_section_id"
    ):
        section_of.setdefault((run_id, course_id), section_id)
        syncs_of[(course_id, section_id)].append(run_id)
    candidates = (
        Issue.objects.filter(institution_id=institution_id, run__kind="sync", canvas_course_id__isnull=False)
        .exclude(object_type="run")
        .exclude(code__in=PER_RUN_CODES)
        .order_by("code", "object_type", "canvas_id", "canvas_course_id", "label", "run_id", "id")
        .values_list("id", "run_id", "code", "object_type", "canvas_id", "canvas_course_id", "label")
    )
    kept: list = []
    dropped: list[int] = []
    group: list[tuple] = []
    group_key = None
    for row in candidates.iterator(chunk_size=CHUNK):
        issue_id, run_id, code, object_type, canvas_id, course_id, label = row
        scope = section_of.get((run_id, course_id))
        key = (code, object_type, canvas_id, course_id, label if canvas_id is None else "", scope)
        if key != group_key and group:
            _keep_first(Issue, group, group_key, syncs_of, when, kept, dropped)
            group = []
        group_key = key
        group.append(row)
        if len(dropped) >= CHUNK:
            Issue.objects.filter(id__in=dropped).delete()
            dropped.clear()
    if group:
        _keep_first(Issue, group, group_key, syncs_of, when, kept, dropped)
    Issue.objects.filter(id__in=dropped).delete()
    Issue.objects.bulk_update(kept, ["tracked", "scope_section_id", "resolved_run", "resolved_at"], batch_size=CHUNK)


def _keep_first(Issue, group, key, syncs_of, when, kept, dropped) -> None:
    first, last_run = group[0], group[-1][1]
    course_id, scope = key[3], key[5]
    later = [r for r in syncs_of.get((course_id, scope), []) if r > last_run]
    resolved_run = later[0] if later else None
    kept.append(
        Issue(
            id=first[0],
            tracked=True,
            scope_section_id=scope,
            resolved_run_id=resolved_run,
            resolved_at=when.get(resolved_run) if resolved_run else None,
        )
    )
    dropped.extend(row[0] for row in group[1:])


class Migration(migrations.Migration):
    dependencies = [("sync", "0007_issues_tracked_across_runs")]

    operations = [migrations.RunPython(collapse, migrations.RunPython.noop)]
