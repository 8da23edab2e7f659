"""The one issue writer: every SyncIssue a run records (refresh, sync, grade post) is written here.

The reason's registry entry (sync.runs.reasons) gives the severity and, unless the caller passes
Canvas's own words, the sentence and the fix. A code without an entry is a bug: `reason()` raises.

What a sync leaves out of a course is tracked across runs (`track_course`): a problem already open
is not written again, one no longer found is resolved, so a night where nothing changed writes no row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol, cast

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from sync.models import Resolution, SyncIssue, SyncRun
from sync.runs import open_counts, versions
from sync.runs.reasons import ReasonCode, reason

BATCH = 1000
ENTRY_ENDED: ReasonCode = "entry_ended"


class Excluded(Protocol):
    """What a sync left out or found (sync.engine.plan.Exclusion, also a held roster): a reason code and
    the object it concerns."""

    # Read-only properties, so a frozen dataclass satisfies it.
    @property
    def code(self) -> str: ...
    @property
    def object_type(self) -> str: ...
    @property
    def canvas_id(self) -> int | None: ...
    @property
    def label(self) -> str: ...
    @property
    def detail(self) -> str: ...


def record(
    run_id: int,
    code: ReasonCode,
    *,
    object_type: str = "run",
    canvas_id: int | None = None,
    canvas_course_id: int | None = None,
    label: str = "",
    detail: str = "",
    message: str = "",
    fix: str = "",
) -> SyncIssue:
    """One issue; a run-level issue (the default) is labelled with the reason's title."""
    issue = _issue(run_id, code, object_type, canvas_id, canvas_course_id, label, detail, message, fix)
    issue.save()  # its institution is the run's (SyncIssue.save)
    versions.bump([versions.run_page(run_id)])  # a run ended as it starts (a skipped nightly) records after
    return issue


@dataclass(frozen=True)
class Tracked:
    new: int
    resolved: int
    still_open: int


Scope = tuple[int, int | None]  # a synced course's Canvas id, and its section's when a section is listed alone


def track_course(run: SyncRun, canvas_course_id: int, section_id: int | None, found: Iterable[Excluded]) -> Tracked:
    """`track_courses` for one course (or sync-list section)."""
    scope = (canvas_course_id, section_id)
    return track_courses(run, {scope: found})[scope]


def track_courses(run: SyncRun, found: Mapping[Scope, Iterable[Excluded]]) -> dict[Scope, Tracked]:
    """Reconcile synced courses (or sync-list sections) with their open problems, a few statements
    for all of them: what `found[scope]` has and no open item has is recorded, first seen in `run`; an
    open item it no longer has is resolved by `run`; one still there is left as it is (a changed label
    or detail is updated in place).

    Only for courses this run synced: a course it could not read keeps its open items as they were."""
    # Plain tuples until a problem turns out to be new: most of a night's are already open, and a model
    # instance for each (built, then thrown away) was most of a re-sync's time here.
    rows: dict[Scope, dict[tuple, tuple[Excluded, str, str]]] = {}
    for scope, excluded in found.items():
        mine = rows.setdefault(scope, {})
        for e in excluded:
            label, message = _words(e.code, e.object_type, e.label, e.detail)
            which = (e.code, e.object_type, e.canvas_id, "" if e.canvas_id is not None else label)
            mine.setdefault(which, (e, label, message))  # one item per object and reason, however often named
    open_items = _open(run.institution_id).filter(canvas_course_id__in={course for course, _ in found})
    gone, changed = [], []
    first_seen_in: set[int] = set()  # the runs whose pages show a problem whose words change here
    counts = {scope: [0, 0, 0] for scope in found}  # new, resolved, still open
    for item_id, code, object_type, canvas_id, course, section, label, message, first in open_items.values_list(
        "id", "code", "object_type", "canvas_id", "canvas_course_id", "scope_section_id", "label", "message", "run_id"
    ):
        key = cast(Scope, (course, section))  # its course: one of `found`'s
        if key not in rows:  # the course's other entry (the course or one of its sections), not synced here
            continue
        now = rows[key].pop((code, object_type, canvas_id, "" if canvas_id is not None else label), None)
        if now is None:
            gone.append(item_id)
            counts[key][1] += 1
            continue
        counts[key][2] += 1
        if (now[1], now[2]) != (label, message):
            changed.append(SyncIssue(id=item_id, label=now[1], message=now[2]))
            if first is not None:
                first_seen_in.add(first)
    for scope, new in rows.items():
        counts[scope][0] = len(new)
    created = _insert_tracked(run, [(scope, *row) for scope, new in rows.items() for row in new.values()])
    if created:
        _changed(run)
    if gone:
        _resolve(SyncIssue.objects.filter(id__in=gone), run, Resolution.GONE)
    if changed:
        SyncIssue.objects.bulk_update(changed, ["label", "message"], batch_size=BATCH)
        # The cached Open problems page shows labels and details, and so do the pages of the runs that first saw them.
        _changed(run, first_seen_in)
    return {scope: Tracked(*n) for scope, n in counts.items()}


def track_sync_list(run: SyncRun, current: Iterable[Scope], ended: Iterable[tuple[Scope, str, str]]) -> None:
    """Reconcile the institution's open problems with its sync list as a full sync reads it.

    An entry past its end date (`ended`: scope, label, "It ended on ...") is one open item, recorded by
    the first sync that finds it so and left as it is by later ones; its other problems are resolved,
    since nothing syncs that course any more (Resolution.ENDED). An entry that is current again (its
    end date extended) has that item resolved. A problem of a course or section no longer on the list
    at all is resolved (Resolution.REMOVED): nothing would ever sync it again to find it gone."""
    ending = {scope: (label, detail) for scope, label, detail in ended}
    listed = set(current) | set(ending)
    open_items = list(_open(run.institution_id).values_list("id", "code", "canvas_course_id", "scope_section_id"))
    removed, stopped, extended, flagged = [], [], [], set()
    for item_id, code, course, section in open_items:
        where = (course, section)
        if where not in listed:
            removed.append(item_id)
        elif where in ending:
            if code == ENTRY_ENDED:
                flagged.add(where)
            else:
                stopped.append(item_id)
        elif code == ENTRY_ENDED:
            extended.append(item_id)
    for ids, resolution in ((removed, Resolution.REMOVED), (stopped, Resolution.ENDED), (extended, Resolution.GONE)):
        for start in range(0, len(ids), BATCH):
            _resolve(SyncIssue.objects.filter(id__in=ids[start : start + BATCH]), run, resolution)
    new = []
    for scope, (label, detail) in ending.items():
        if scope in flagged:
            continue
        issue = _issue(run.id, ENTRY_ENDED, "course", scope[0], scope[0], label, detail, "", "")
        issue.institution_id, issue.tracked, issue.scope_section_id = run.institution_id, True, scope[1]
        new.append(issue)
    if SyncIssue.objects.bulk_create(new, batch_size=BATCH):
        _changed(run)


def resolve(run: SyncRun, canvas_course_id: int, section_id: int | None, code: ReasonCode) -> int:
    """Resolve the course's open item of one reason (an approved held roster), by `run`."""
    items = _open(run.institution_id).filter(canvas_course_id=canvas_course_id, scope_section_id=section_id, code=code)
    return _resolve(items, run, Resolution.APPROVED)


def _open(institution_id: int) -> QuerySet[SyncIssue]:
    return SyncIssue.objects.open_for(institution_id)


def _resolve(items: QuerySet[SyncIssue], run: SyncRun, resolution: Resolution) -> int:
    resolved = items.update(resolved_run=run, resolved_at=timezone.now(), resolution=resolution)
    if resolved:
        _changed(run)
    return resolved


def _changed(run: SyncRun, first_seen_in: Iterable[int] = ()) -> None:
    """The institution's open problems changed, and so did the pages of `run` and `first_seen_in`."""
    pages = [versions.run_page(run_id) for run_id in {run.id, *first_seen_in}]
    versions.bump([open_counts.version_key(run.institution_id), *pages])


def _words(code: str, object_type: str, label: str, detail: str, message: str = "") -> tuple[str, str]:
    """The label and message an issue is stored with (a run-level issue is labelled with the reason's title).
    A tracked problem is matched by its label where it has no Canvas id (a person or section without one).

    The message is only what this issue adds to its reason's sentence (a detail, or Canvas's own words):
    the sentence and the fix are the registry's, read back by sync.runs.readable. A copy in each row
    was 264 of a problem's 465 bytes, written again for every person a night leaves out."""
    why = reason(code)
    label = (label or (why.title if object_type == "run" else ""))[:255]
    return label, "" if message == why.sentence else message or detail


def _own_fix(code: str, fix: str) -> str:
    """The fix an issue is stored with: blank when it is its reason's (the registry has that one)."""
    return "" if fix == reason(code).fix else fix


# What _insert_tracked writes of each problem, as (column, PostgreSQL array type).
TRACKED_COLUMNS = (
    ("scope_section_id", "bigint"),
    ("code", "text"),
    ("severity", "text"),
    ("object_type", "text"),
    ("canvas_id", "bigint"),
    ("canvas_course_id", "bigint"),
    ("label", "text"),
    ("message", "text"),
    ("fix", "text"),
)


def _insert_tracked(run: SyncRun, rows: list[tuple[Scope, Excluded, str, str]]) -> int:
    """Write new tracked problems (scope, what, label, message), first seen in `run`; how many.

    On PostgreSQL in one statement whose values travel as one array per column (as write.py's upserts):
    a first sync finds about a dozen per course, and bulk_create's model instances and per-value
    quoting cost 5x the CPU (25 against 5 ms for a 50-course institution's 600)."""
    if not rows:
        return 0
    if connection.vendor != "postgresql":
        return len(SyncIssue.objects.bulk_create([_tracked(run, *row) for row in rows], batch_size=BATCH))
    values = [
        (
            scope[1],
            e.code,
            reason(e.code).severity,
            e.object_type,
            e.canvas_id,
            scope[0],
            label,
            message,
            "",  # the reason's fix (_own_fix)
        )
        for scope, e, label, message in rows
    ]
    q = connection.ops.quote_name
    columns = ", ".join(q(c) for c in ("run_id", "institution_id", "tracked", "created_at", "resolution"))
    names = ", ".join(q(c) for c, _ in TRACKED_COLUMNS)
    arrays = ", ".join(f"%s::{sql_type}[]" for _, sql_type in TRACKED_COLUMNS)
    # Only quoted column names are interpolated; every value is a parameter.
    sql = (
        f"INSERT INTO {q(SyncIssue._meta.db_table)} ({columns}, {names}) "  # noqa: S608
        f"SELECT %s, %s, true, %s, '', u.* FROM unnest({arrays}) u"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [run.id, run.institution_id, timezone.now(), *(list(c) for c in zip(*values, strict=True))])
        return cursor.rowcount


def _tracked(run: SyncRun, scope: Scope, e: Excluded, label: str, message: str) -> SyncIssue:
    return SyncIssue(
        run_id=run.id,
        institution_id=run.institution_id,
        tracked=True,
        scope_section_id=scope[1],
        code=e.code,
        severity=reason(e.code).severity,
        object_type=e.object_type,
        canvas_id=e.canvas_id,
        canvas_course_id=scope[0],
        label=label,
        message=message,
    )


def _issue(run_id, code, object_type, canvas_id, canvas_course_id, label, detail, message, fix) -> SyncIssue:
    why = reason(code)
    label, message = _words(code, object_type, label, detail, message)
    return SyncIssue(
        run_id=run_id,
        code=code,
        severity=why.severity,
        object_type=object_type,
        canvas_id=canvas_id,
        canvas_course_id=canvas_course_id,
        label=label,
        message=message,
        fix=_own_fix(code, fix),
    )


def record_once(run_id: int, code: ReasonCode, *, detail: str = "") -> SyncIssue | None:
    """A run-level issue recorded once however many courses (or batches, at once) find it; None if
    the run has it already. The run's row lock makes two batches finding it together write one."""
    from sync.models import SyncRun

    with transaction.atomic():
        list(SyncRun.objects.select_for_update().filter(id=run_id).values_list("id", flat=True))
        if SyncIssue.objects.filter(run_id=run_id, code=code, object_type="run").exists():
            return None
        return record(run_id, code, detail=detail)
