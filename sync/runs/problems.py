"""Open problems: what syncs left out and is still so, as open items (sync.runs.issues.track_course
writes them), filtered for the Open problems page and its CSV; and what one run changed among them.

Run ids grow with time within an institution, so "open after run R" is: first seen in R or before
(or in a run retention has since removed), and not resolved by R or before.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from portal.models import Institution
from sync.models import CatalogCourse, CourseResultStatus, SyncIssue, SyncRun
from sync.runs.readable import PEOPLE

# A course result of these statuses means the run read the course and reconciled its problems.
SYNCED = (
    CourseResultStatus.APPLIED,
    CourseResultStatus.HELD,
    CourseResultStatus.SKIPPED,
    CourseResultStatus.APPROVED,
)


def open_problems(institution: Institution) -> QuerySet[SyncIssue]:
    return SyncIssue.objects.open_for(institution.id)


def open_after(run: SyncRun) -> QuerySet[SyncIssue]:
    """The problems open once `run` ended, in the courses it synced."""
    synced = run.course_results.filter(status__in=SYNCED).values("canvas_course_id")
    return SyncIssue.objects.filter(
        Q(run_id__lte=run.id) | Q(run__isnull=True),
        Q(resolved_run__isnull=True, resolved_at__isnull=True) | Q(resolved_run_id__gt=run.id),
        institution_id=run.institution_id,
        tracked=True,
        canvas_course_id__in=synced,
    )


@dataclass(frozen=True)
class RunChanges:
    """What a sync changed among the open problems: new (first seen in it), resolved by it, and the
    ones earlier runs found that it still found."""

    new: int
    resolved: int
    still_open: int


def run_changes(run: SyncRun) -> RunChanges:
    return RunChanges(
        new=run.issues.filter(tracked=True).count(),
        resolved=run.resolved_issues.count(),
        still_open=(
            run.problems_still_open
            if run.problems_still_open is not None
            else open_after(run).exclude(run_id=run.id).count()
        ),
    )


@dataclass(frozen=True)
class ProblemFilters:
    code: str = ""
    course: str = ""
    person: str = ""


def filtered(institution: Institution, filters: ProblemFilters) -> QuerySet[SyncIssue]:
    """The open problems of a reason, of courses matching `course` (name, course code, SIS ID or Canvas
    id) and of people matching `person` (name, email or Canvas id, as the issue labels them)."""
    problems = open_problems(institution)
    if filters.code:
        problems = problems.filter(code=filters.code)
    if filters.course:
        problems = problems.filter(canvas_course_id__in=_courses(institution, filters.course))
    if filters.person:
        who = Q(label__icontains=filters.person)
        if (number := _number(filters.person)) is not None:
            who |= Q(canvas_id=number)
        problems = problems.filter(who, object_type__in=PEOPLE)
    return problems.order_by("canvas_course_id", "code", "label", "id")


def _courses(institution: Institution, q: str) -> list[int]:
    match = Q(name__icontains=q) | Q(course_code__icontains=q) | Q(sis_course_id__iexact=q)
    number = _number(q)
    ids = list(CatalogCourse.objects.filter(match, institution=institution).values_list("canvas_id", flat=True))
    return ids + ([number] if number is not None else [])


def _number(q: str) -> int | None:
    # ASCII digits within a bigint ("²".isdigit() is true and int() refuses it).
    return int(q) if q.isascii() and q.isdigit() and int(q) < 2**63 else None
