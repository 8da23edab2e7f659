"""“Why isn't this synced?”: answer for a course or a person from the catalogue and the latest sync.

Each answer says one thing once: a course's answers never claim an order of events the timestamps do
not show, and a person's list one line per course (named), whatever number of enrollments or issues
the latest sync has for them there."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.utils import timezone

from portal.dates import date_text, datetime_text
from portal.models import Course, CourseAdmin, ExamTaker, Institution
from sync.models import OPEN_PROBLEM, CatalogCourse, RunKind, SyncCourseResult, SyncIssue, SyncListEntry, SyncRun
from sync.runs.readable import PEOPLE, course_names, plain, reason_for, row_detail, row_fix
from sync.runs.reasons import Reason

MAX_MATCHES = 5


@dataclass(frozen=True)
class Why:
    """One reason the latest sync left something out, in the registry's words and the row's own."""

    reason: Reason
    detail: str
    fix: str


@dataclass
class LeftOut:
    """One thing the latest sync left out: a person of one course (labelled by the course), or a
    course or its section (labelled by itself), with each of its reasons once."""

    label: str
    whys: list[Why] = field(default_factory=list)


@dataclass
class Answer:
    title: str
    lines: list[str] = field(default_factory=list)
    left_out_intro: str = ""  # what the list of `left_out` is
    left_out: list[LeftOut] = field(default_factory=list)
    course: Course | None = None

    @property
    def reasons(self) -> list[Reason]:
        """The reasons of everything left out, each once: their sentence and fix are said once."""
        seen: dict[str, Reason] = {}
        for left in self.left_out:
            for why in left.whys:
                seen.setdefault(why.reason.code, why.reason)
        return list(seen.values())


def latest_sync(institution: Institution) -> SyncRun | None:
    finished = SyncRun.objects.filter(institution=institution, kind=RunKind.SYNC, finished_at__isnull=False)
    return finished.exclude(params__preview=True).exclude(status="skipped").order_by("-created_at").first()


def now_left_out(institution: Institution, run: SyncRun) -> QuerySet[SyncIssue]:
    """The open problems (whichever sync found them first) and the latest sync's own issues."""
    return SyncIssue.objects.filter(OPEN_PROBLEM | Q(run=run, tracked=False), institution=institution)


def explain(institution: Institution, q: str) -> list[Answer]:
    """Courses and people matching `q` (Canvas id, SIS id, email, login, course code or name); one
    "Nothing found" answer when nothing does."""
    q = q.strip()[:255]
    if not q:
        return []
    run = latest_sync(institution)
    answers = [*_courses(institution, q, run), *_people(institution, q, run)]
    return answers or [_nothing_found(q, run)]


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
        entries = list(SyncListEntry.objects.filter(institution=institution, course=cat))
        result = SyncCourseResult.objects.filter(run=run, canvas_course_id=cat.canvas_id).first() if run else None
        quiet = run is not None and result is None and any(_folded_into(run, entry) for entry in entries)
        if run and (result or quiet):
            found = now_left_out(institution, run).filter(
                canvas_course_id=cat.canvas_id, object_type__in=["course", "section"]
            )
            a.left_out = _left_out(institution, found, by_course=False)
            a.left_out_intro = f"What the syncs could not sync, still so after the latest sync (#{run.id}):"
        said_by_reasons = {r.code for r in a.reasons}
        if cat.gone_at and not said_by_reasons & GONE_REASONS:
            a.lines.append("The last Refresh Courses no longer found it in Canvas (deleted or moved).")
        if cat.workflow_state in ("unpublished", "deleted") and not said_by_reasons & UNPUBLISHED_REASONS:
            a.lines.append(f"In Canvas it is {cat.workflow_state}; only published courses are synced.")
        if not entries:
            a.lines.append("It is not on the sync list. Add it with + in Edit Sync Settings, then Sync Now.")
        a.lines += [line for entry in entries if (line := _entry_line(entry, run, result, quiet))]
        if run and (result or quiet):
            a.lines.append(f"Latest sync (#{run.id}): {_result_said(result, bool(a.left_out))}")
        if a.course:
            a.lines.append(f"In the portal: {a.course.course_id} in {a.course.department.name}.")
        answers.append(a)
    return answers


# The reasons that already say what the catalogue's state line would (a course's answer says it once).
GONE_REASONS = {"course_gone", "course_deleted"}
UNPUBLISHED_REASONS = {"course_unpublished", "course_deleted"}


def _result_said(result: SyncCourseResult | None, explained_below: bool) -> str:
    """What the latest sync did with the course. Its message is the left-out reasons' sentence and fix,
    so when those are listed below the line only says the outcome."""
    if result is None:
        return "Synced, nothing to change."
    if explained_below:
        return f"{result.get_status_display()}; why and what to do are below."
    return f"{result.get_status_display()}. {plain(result.message)}".strip()


def _folded_into(run: SyncRun, entry: SyncListEntry) -> bool:
    """Whether `run` synced `entry` with nothing to change and no new problem, its result folded into
    the run's count (sync.engine.runner.fold_quiet_results): it was listed and current when the run began."""
    if not run.quiet_courses or entry.added_at > run.created_at:
        return False
    return entry.is_current(timezone.localtime(run.created_at, entry.institution.tz).date())


def _entry_line(entry: SyncListEntry, run: SyncRun | None, result: SyncCourseResult | None, quiet: bool) -> str:
    """What the sync list entry says about the latest sync, true to its dates: the run reads the sync
    list when it is created, so an entry added after that moment was not in it."""
    if not entry.is_current():
        also = f", so the latest sync (#{run.id}) left it out" if run and not (result or quiet) else ""
        return f"Its sync list entry ended on {date_text(entry.end_date)}{also}; extend the end date to sync it again."
    if run is None:
        return "It is on the sync list, but no sync has finished yet; Sync Now to sync it."
    if result or quiet:
        return ""
    if entry.added_at > run.created_at:
        return (
            f"It was added to the sync list on {datetime_text(entry.added_at, entry.institution.tz)}, after the latest sync (#{run.id}) "
            "started; Sync Now to sync it."
        )
    return f"The latest sync (#{run.id}) did not include it; Sync Now to sync it."


def _people(institution: Institution, q: str, run: SyncRun | None) -> list[Answer]:
    answers: list[Answer] = []
    by_canvas_user: dict[int, Answer] = {}
    person_match = Q(email__iexact=q)
    if q.isascii() and q.isdigit():
        person_match |= Q(lms_id=int(q))
    for model, id_field, role in ((ExamTaker, "student_id", "exam-taker"), (CourseAdmin, "admin_id", "course admin")):
        for person in model.objects.filter(person_match | Q(**{f"{id_field}__iexact": q}), institution=institution)[
            :MAX_MATCHES
        ]:
            a = Answer(f"Person: {person.full_name} ({role} {getattr(person, id_field)})")
            for e in person.enrollments.select_related("course"):
                a.lines.append(f"Synced into {e.course.course_id} {e.course.name}: {e.get_status_display()}.")
            answers.append(a)
            if person.lms_id is not None:
                by_canvas_user.setdefault(person.lms_id, a)
    if run is not None:
        answers += _left_out_people(institution, q, run, by_canvas_user)
    for a in answers:
        if not a.lines and not a.left_out:
            a.lines.append("In the portal, but in no course.")
    return answers


def _left_out_people(institution: Institution, q: str, run: SyncRun, known: dict[int, Answer]) -> list[Answer]:
    """The people matching `q` the latest sync left out, each once, with one line per course; a person
    already answered for (in the portal) gets the lines on that answer."""
    match = Q(label__icontains=q) | Q(canvas_id__in=list(known))
    if q.isascii() and q.isdigit():
        match |= Q(canvas_id=int(q))
    people = now_left_out(institution, run).filter(object_type__in=PEOPLE)
    matched = people.filter(match).order_by("label", "canvas_id")
    user_ids = [i for i in dict.fromkeys(matched.values_list("canvas_id", flat=True)) if i is not None]
    unknown = [i for i in user_ids if i not in known]
    shown = [i for i in user_ids if i in known] + unknown[:MAX_MATCHES]
    found = list(people.filter(canvas_id__in=shown).order_by("canvas_id", "canvas_course_id", "id"))
    answers = []
    for user_id in shown:
        issues = [i for i in found if i.canvas_id == user_id]
        a = known.get(user_id)
        if a is None:
            a = Answer(f"Person: {issues[0].label}, Canvas user {user_id}")
            answers.append(a)
        a.left_out_intro = f"Left out of {_courses_count(issues)}, still so after the latest sync (#{run.id}):"
        a.left_out = _left_out(institution, issues, by_course=True)
    if len(unknown) > MAX_MATCHES:
        more = len(unknown) - MAX_MATCHES
        answers.append(
            Answer(
                f"{more} more {'person matches' if more == 1 else 'people match'} “{q}”",
                [f"Showing the first {MAX_MATCHES}; search by email or Canvas id to find one person."],
            )
        )
    return answers


def _courses_count(issues: list[SyncIssue]) -> str:
    n = len({i.canvas_course_id for i in issues})
    return "1 course" if n == 1 else f"{n} courses"


def _left_out(institution: Institution, issues: Iterable[SyncIssue], *, by_course: bool) -> list[LeftOut]:
    """One LeftOut per course (`by_course`: one person's issues) or per object of one course (the
    course itself, each section), each reason once."""
    issues = list(issues)
    names = course_names(institution, (i.canvas_course_id for i in issues)) if by_course else {}
    grouped: dict[tuple, LeftOut] = {}
    for issue in issues:
        if by_course:
            key: tuple = (issue.canvas_course_id,)
            label = names.get(issue.canvas_course_id or 0) or f"Canvas course {issue.canvas_course_id}"
        else:
            key = (issue.object_type, issue.canvas_id)
            label = "The course" if issue.object_type == "course" else issue.label
        left = grouped.setdefault(key, LeftOut(label))
        why = reason_for(issue.code)
        if all(w.reason.code != why.code for w in left.whys):
            left.whys.append(Why(why, row_detail(issue, why), row_fix(issue, why)))
    return list(grouped.values())


def _nothing_found(q: str, run: SyncRun | None) -> Answer:
    where = f"the latest sync (#{run.id})" if run else "any sync yet"
    return Answer(
        f"Nothing found for “{q}”",
        [
            f"No course in the catalogue, no synced person and no skipped person in {where} matches.",
            "Check the value in Canvas (Canvas id, SIS ID, email or login), that the person is enrolled "
            "in a course on the sync list, and that Refresh Courses has run since the course was created.",
        ],
    )
