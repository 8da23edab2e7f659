"""View History's query: an institution's runs filtered by kind, status, trigger and dates (days in the
institution's time zone), searched by a course or a person (the runs that touched them, through the
course results and issues each run recorded), sorted by a header; and the 30-day chart."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, DurationField, ExpressionWrapper, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from portal.dates import date_text
from portal.models import Course, CourseAdmin, ExamTaker, Institution
from portal.sorting import Sort
from sync.models import CatalogCourse, RunKind, SyncCourseResult, SyncIssue, SyncMonthTotal, SyncRun
from sync.runs.readable import PEOPLE

CHART_DAYS = 30
CHART_MONTHS = 12
CHART_SERIES = ("runs", "minutes", "created", "deactivated", "issues")
DEFAULT_SORT = "-started"
# What each sortable header orders by; the run's id breaks ties, so a page never repeats or skips a row.
SORTS = {
    "run": "id",
    "kind": "kind",
    "status": "status",
    "started": "created_at",
    "duration": "run_duration",
    "issues": "issue_count",
}


@dataclass(frozen=True)
class HistoryFilters:
    kind: str = ""
    status: str = ""
    trigger: str = ""
    q: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def runs_for(institution: Institution, filters: HistoryFilters, sort: Sort) -> QuerySet[SyncRun]:
    runs = SyncRun.objects.filter(institution=institution)
    runs = runs.filter(**{name: value for name in ("kind", "status", "trigger") if (value := getattr(filters, name))})
    tz = institution.tz
    if filters.date_from:
        runs = runs.filter(created_at__gte=_midnight(filters.date_from, tz))
    if filters.date_to:
        runs = runs.filter(created_at__lt=_midnight(filters.date_to + dt.timedelta(days=1), tz))
    if filters.q:
        runs = runs.filter(touching(institution, filters.q))
    field = SORTS[sort.key]
    order = F(field).desc(nulls_last=True) if sort.descending else F(field).asc(nulls_last=True)
    tiebreak = "-id" if sort.descending else "id"
    return (
        runs.select_related("requested_by")
        .annotate(
            issue_count=issues_of_run(),
            run_duration=ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField()),
        )
        .order_by(order, tiebreak)
    )


def issues_of_run() -> Coalesce:
    """A run's issue count, counted apart for each run from the (run, code) index: a join of the runs
    with their issues, grouped, counted every issue of every run listed or charted (40,000 for a
    3,000-course night: the History page's 130 ms of CPU), and the list's page count joined them too."""
    counted = SyncIssue.objects.filter(run_id=OuterRef("id")).order_by().values("run_id").annotate(n=Count("id"))
    return Coalesce(Subquery(counted.values("n")), 0)


def _midnight(day: dt.date, tz) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=tz)


def touching(institution: Institution, q: str) -> Q:
    """Runs whose course results or issues concern a course (name, course code, SIS ID, Course ID or Canvas
    id) or a person (name, email, SIS/Student ID or Canvas id) matching `q`, of this institution only.
    A course a sync found nothing to change in and no problem has no result left in it (folded into
    the run's count once it ended), so these are the runs that changed a course or found problems in it."""
    courses = _canvas_courses(institution, q)
    people = _canvas_people(institution, q)
    number = _canvas_id(q)  # also a Canvas course or user id the portal has no row for (an issue names it)
    results = SyncCourseResult.objects.filter(run__institution=institution).filter(
        Q(label__icontains=q)
        | Q(canvas_course_id__in=[*courses, *([number] if number is not None else [])])
        | Q(canvas_course_id__in=_courses_of(institution, people))
    )
    issues = SyncIssue.objects.filter(run__institution=institution).filter(
        Q(canvas_course_id__in=courses)
        | Q(object_type__in=["course", "section"], label__icontains=q)
        | Q(object_type__in=PEOPLE, canvas_id__in=[*people, *([number] if number is not None else [])])
        | Q(object_type__in=PEOPLE, label__icontains=q)
    )
    return Q(id__in=results.values("run_id")) | Q(id__in=issues.values("run_id"))


def _canvas_id(q: str) -> int | None:
    # ASCII digits only ("²".isdigit() is true and int() refuses it), within a bigint.
    return int(q) if q.isascii() and q.isdigit() and int(q) < 2**63 else None


def _canvas_courses(institution: Institution, q: str) -> list[int]:
    """Canvas ids of the catalogue's and the portal's courses that match."""
    match = Q(name__icontains=q) | Q(course_code__icontains=q) | Q(sis_course_id__iexact=q)
    portal = Q(name__icontains=q) | Q(course_id__iexact=q)
    if (number := _canvas_id(q)) is not None:
        match |= Q(canvas_id=number)
        portal |= Q(lms_id=number)
    ids = set(CatalogCourse.objects.filter(match, institution=institution).values_list("canvas_id", flat=True))
    ids |= _present(Course.objects.filter(portal, institution=institution).values_list("lms_id", flat=True))
    return sorted(ids)


def _canvas_people(institution: Institution, q: str) -> list[int]:
    """Canvas user ids of the portal's exam-takers and course admins that match."""
    words = q.split()
    name = Q()
    for word in words:  # "Ada Lovelace": every word in the first or the last name
        name &= Q(first_name__icontains=word) | Q(last_name__icontains=word)
    match = Q(email__iexact=q) | (name if words else Q(pk__in=[]))
    if (number := _canvas_id(q)) is not None:
        match |= Q(lms_id=number)
    ids: set[int] = set()
    for model, own_id in ((ExamTaker, "student_id"), (CourseAdmin, "admin_id")):
        found = model.objects.filter(match | Q(**{f"{own_id}__iexact": q}), institution=institution)
        ids |= _present(found.values_list("lms_id", flat=True))
    return sorted(ids)


def _courses_of(institution: Institution, people: list[int]) -> list[int]:
    """Canvas ids of the courses these people are enrolled in (as exam-takers or course admins)."""
    if not people:
        return []
    enrolled = Q(enrollments__exam_taker__lms_id__in=people) | Q(admin_enrollments__course_admin__lms_id__in=people)
    found = Course.objects.filter(enrolled, institution=institution)
    return sorted(_present(found.values_list("lms_id", flat=True)))


def _present(values: Iterable[int | None]) -> set[int]:
    """The Canvas ids of rows that have one (a course or person not from Canvas has none)."""
    return {value for value in values if value is not None}


def chart_data(institution: Institution, now: dt.datetime | None = None) -> dict:
    """Per day of the last 30 (institution's time zone): runs, minutes, people added/deactivated, issues."""
    now = timezone.localtime(now or timezone.now(), institution.tz)
    days = [(now - dt.timedelta(days=n)).date() for n in range(CHART_DAYS - 1, -1, -1)]
    rows = {d: {"runs": 0, "minutes": 0.0, "created": 0, "deactivated": 0, "issues": 0} for d in days}
    since = now - dt.timedelta(days=CHART_DAYS)
    recent = SyncRun.objects.filter(institution=institution, created_at__gte=since).annotate(n=issues_of_run())
    for run in recent:
        day = timezone.localtime(run.created_at, institution.tz).date()
        if day not in rows:
            continue
        row = rows[day]
        row["runs"] += 1
        row["minutes"] += round(run.duration.total_seconds() / 60, 2) if run.duration else 0
        if run.kind == RunKind.SYNC:  # a refresh's or grade post's counts are not people
            row["created"] += (run.counts or {}).get("created", 0)
            row["deactivated"] += (run.counts or {}).get("deactivated", 0)
        row["issues"] += run.n
    return {
        "labels": [date_text(d) for d in days],
        **{k: [rows[d][k] for d in days] for k in next(iter(rows.values()))},
    }


def month_chart_data(institution: Institution, now: dt.datetime | None = None) -> dict:
    """Per month of the last 12 (UTC months, as retention sums them): the month's totals of the runs
    retention removed (SyncMonthTotal) plus the runs still kept, so the chart survives retention."""
    now = now or timezone.now()
    first = now.astimezone(dt.UTC).date().replace(day=1)
    months = [_months_before(first, n) for n in range(CHART_MONTHS - 1, -1, -1)]
    rows = {m: dict.fromkeys(CHART_SERIES, 0.0) for m in months}
    for total in SyncMonthTotal.objects.filter(institution=institution, month__gte=months[0]):
        if total.month in rows:
            for name in CHART_SERIES:
                rows[total.month][name] += getattr(total, name)
    kept = SyncRun.objects.filter(
        institution=institution, created_at__gte=dt.datetime.combine(months[0], dt.time.min, tzinfo=dt.UTC)
    )
    for run in kept.annotate(month=TruncMonth("created_at", tzinfo=dt.UTC), n=issues_of_run()).only(
        "created_at", "started_at", "finished_at", "counts", "kind"
    ):
        row = rows.get(run.month.date())
        if row is None:
            continue
        row["issues"] += run.n
        row["runs"] += 1
        row["minutes"] += run.duration.total_seconds() / 60 if run.duration and run.finished_at else 0
        if run.kind == RunKind.SYNC:  # a refresh's or grade post's counts are not people
            row["created"] += (run.counts or {}).get("created", 0)
            row["deactivated"] += (run.counts or {}).get("deactivated", 0)
    return {
        "labels": [f"{m:%b %Y}" for m in months],
        **{k: [round(rows[m][k], 2) if k == "minutes" else int(rows[m][k]) for m in months] for k in CHART_SERIES},
    }


def _months_before(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 - n
    return dt.date(index // 12, index % 12 + 1, 1)
