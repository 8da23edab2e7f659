"""“Why isn't this synced?”: answer for a course or a person from the catalogue and the latest sync."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q

from portal.models import Course, CourseAdmin, ExamTaker, Institution
from sync.models import CatalogCourse, RunKind, SyncCourseResult, SyncIssue, SyncListEntry, SyncRun

MAX_MATCHES = 5


@dataclass
class Answer:
    title: str
    lines: list[str] = field(default_factory=list)
    issues: list[SyncIssue] = field(default_factory=list)
    course: Course | None = None


def latest_sync(institution: Institution) -> SyncRun | None:
    finished = SyncRun.objects.filter(institution=institution, kind=RunKind.SYNC, finished_at__isnull=False)
    return finished.exclude(params__preview=True).exclude(status="skipped").order_by("-created_at").first()


def explain(institution: Institution, q: str) -> list[Answer]:
    """Courses and people matching `q` (Canvas id, SIS id, email, login, course code or name)."""
    q = q.strip()[:255]
    if not q:
        return []
    run = latest_sync(institution)
    return [*_courses(institution, q, run), *_people(institution, q, run)]


def _courses(institution: Institution, q: str, run: SyncRun | None) -> list[Answer]:
    match = Q(sis_course_id__iexact=q) | Q(integration_id__iexact=q) | Q(course_code__iexact=q) | Q(name__icontains=q)
    if q.isascii() and q.isdigit():
        match |= Q(canvas_id=int(q))
    answers = []
    for cat in CatalogCourse.objects.filter(match, institution=institution).order_by("name")[:MAX_MATCHES]:
        a = Answer(f"Course: {cat.name} (Canvas id {cat.canvas_id})")
        a.course = (
            Course.objects.filter(institution=institution, lms_id=cat.canvas_id).select_related("department").first()
        )
        if cat.gone_at:
            a.lines.append("The last Refresh Courses no longer found it in Canvas (deleted or moved).")
        if cat.workflow_state in ("unpublished", "deleted"):
            a.lines.append(f"In Canvas it is {cat.workflow_state}; only published courses are synced.")
        entries = list(SyncListEntry.objects.filter(institution=institution, course=cat))
        if not entries:
            a.lines.append("It is not on the sync list. Add it with + in Edit Sync Settings, then Sync Now.")
        for entry in entries:
            if not entry.is_current():
                a.lines.append(f"Its sync list entry ended on {entry.end_date}; extend the end date to sync it again.")
        result = SyncCourseResult.objects.filter(run=run, canvas_course_id=cat.canvas_id).first() if run else None
        if run and result:
            a.lines.append(f"Latest sync (#{run.id}): {result.get_status_display()}. {result.message}".strip())
            a.issues = list(run.issues.filter(canvas_course_id=cat.canvas_id, object_type__in=["course", "section"]))
        elif entries and run:
            a.lines.append(f"The latest sync (#{run.id}) ran before it was added; Sync Now to sync it.")
        if a.course:
            a.lines.append(f"In the portal: {a.course.course_id} in {a.course.department.name}.")
        answers.append(a)
    return answers


def _people(institution: Institution, q: str, run: SyncRun | None) -> list[Answer]:
    answers = []
    person_match = Q(email__iexact=q)
    if q.isascii() and q.isdigit():
        person_match |= Q(lms_id=int(q))
    for model, id_field, role in ((ExamTaker, "student_id", "exam-taker"), (CourseAdmin, "admin_id", "course admin")):
        for person in model.objects.filter(person_match | Q(**{f"{id_field}__iexact": q}), institution=institution)[
            :MAX_MATCHES
        ]:
            a = Answer(f"Person: {person.full_name} ({role} {getattr(person, id_field)})")
            enrollments = person.enrollments.select_related("course")
            for e in enrollments:
                a.lines.append(f"Synced into {e.course.course_id} {e.course.name}: {e.get_status_display()}.")
            if not a.lines:
                a.lines.append("In the portal, but in no course.")
            answers.append(a)
    if run is not None:
        issue_match = Q(label__icontains=q)
        if q.isascii() and q.isdigit():
            issue_match |= Q(canvas_id=int(q))
        found = list(run.issues.filter(issue_match, object_type__in=["person", "enrollment"])[:50])
        if found:
            a = Answer(f"Not synced in the latest sync (#{run.id}) for “{q}”", issues=found)
            answers.append(a)
    if not answers:
        where = f"the latest sync (#{run.id})" if run else "any sync yet"
        answers.append(
            Answer(
                f"Nothing found for “{q}”",
                [
                    f"No course in the catalogue, no synced person and no skipped person in {where} matches.",
                    "Check the value in Canvas (Canvas id, SIS ID, email or login), that the person is enrolled "
                    "in a course on the sync list, and that Refresh Courses has run since the course was created.",
                ],
            )
        )
    return answers
