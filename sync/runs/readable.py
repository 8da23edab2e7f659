"""Readable results: a run's issues grouped by reason with their counts, each row with the course it
concerns named as the admin knows it, and stored messages in plain words.

The reason's sentence and fix are said once per group; a row shows only what it adds (Canvas's own
words, a detail). No page shows an exception's class name: the engine no longer stores them, and
`plain()` takes them out of rows written before it stopped ("Unexpected error (IntegrityError)").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.paginator import Page, Paginator
from django.db.models import Count, QuerySet

from lms_canvas import links
from portal.models import Course, Institution
from sync.models import CatalogCourse, IssueSeverity, SyncIssue, SyncRun
from sync.runs.reasons import REASONS, Reason

# Rows a group shows on the run page before "Show all", which opens that group alone, in pages.
GROUP_PREVIEW = 10
SEVERITY_ORDER: dict[str, int] = {IssueSeverity.ERROR: 0, IssueSeverity.WARNING: 1, IssueSeverity.INFO: 2}
PEOPLE = ("person", "enrollment")

# A Python exception's class name, dotted or not: IntegrityError, Course.DoesNotExist, ReadTimeout.
_NAME = (
    r"\b(?:[A-Za-z_]\w*\.)*"
    r"(?:[A-Z]\w*(?:Error|Exception|Timeout|Warning|Interrupt)|DoesNotExist|MultipleObjectsReturned|StopIteration)\b"
)
_SCRUBS = [
    (re.compile(rf"\s*\(\s*{_NAME}\s*\)"), ""),  # "Unexpected error (IntegrityError); ..."
    (re.compile(rf"\s*:\s*{_NAME}\s*(?=[.;,)]|$)"), ""),  # "... on GET /x: ReadTimeout."
    (re.compile(rf"\s*{_NAME}:.*$"), ""),  # "... IntegrityError: UNIQUE constraint failed: ..." (its text too)
    (re.compile(rf"\s*{_NAME}"), ""),
]


def plain(text: str) -> str:
    """`text` without any exception class name (and without the exception's own text after one)."""
    for pattern, replacement in _SCRUBS:
        text = pattern.sub(replacement, text)
    return text.strip()


def reason_for(code: str) -> Reason:
    """The registry's entry; a code an older version wrote and this one no longer knows reads as words."""
    return REASONS.get(code) or Reason(code, code.replace("_", " ").capitalize(), "", "")


def row_detail(issue: SyncIssue, why: Reason) -> str:
    """What this issue's message adds to its reason's sentence: a detail, or Canvas's own words."""
    if why.code == "internal_error":
        return ""  # older rows appended the exception here; the reason's sentence says what it means
    message = issue.message.strip()
    if why.sentence and message.startswith(why.sentence):
        message = message[len(why.sentence) :]
    return plain(message)


def row_fix(issue: SyncIssue, why: Reason) -> str:
    """The issue's own fix when it is not the reason's (Canvas errors bring theirs)."""
    fix = issue.fix.strip()
    return "" if not fix or fix == why.fix else plain(fix)


def issue_text(issue: SyncIssue, why: Reason | None = None) -> str:
    """The issue in full, as a CSV or a log line says it: its reason's sentence, then what this one adds.
    Rows keep only what they add (sync.runs.issues._words); rows written before kept the sentence too."""
    why = why or reason_for(issue.code)
    return " ".join(part for part in (why.sentence, row_detail(issue, why)) if part)


def issue_fix(issue: SyncIssue, why: Reason | None = None) -> str:
    """What to do about the issue: its own fix, or its reason's."""
    why = why or reason_for(issue.code)
    return row_fix(issue, why) or why.fix


def course_names(institution: Institution, canvas_ids: Iterable[int | None]) -> dict[int, str]:
    """Each Canvas course id's name as the admin knows it: the catalogue's (with its course code), or
    the portal course's when the catalogue no longer has it."""
    wanted = {i for i in canvas_ids if i is not None}
    if not wanted:
        return {}
    names = {
        canvas_id: f"{name} ({code})" if code else name
        for canvas_id, name, code in CatalogCourse.objects.filter(
            institution=institution, canvas_id__in=wanted
        ).values_list("canvas_id", "name", "course_code")
    }
    missing = wanted - names.keys()
    if missing:
        for lms_id, name, course_id in Course.objects.filter(institution=institution, lms_id__in=missing).values_list(
            "lms_id", "name", "course_id"
        ):
            if lms_id is not None:
                names[lms_id] = f"{name} ({course_id})"
    return names


def issue_canvas_url(server_url: str, issue: SyncIssue) -> str:
    if not server_url or not issue.canvas_id:
        return ""
    if issue.object_type in PEOPLE and issue.canvas_course_id:
        return links.course_user_page(server_url, issue.canvas_course_id, issue.canvas_id)
    if issue.object_type == "section" and issue.canvas_course_id:
        return links.section_page(server_url, issue.canvas_course_id, issue.canvas_id)
    return links.course_page(server_url, issue.canvas_id)


@dataclass(frozen=True)
class IssueRow:
    issue: SyncIssue
    who: str
    course: str  # the course a person or section issue concerns; "" for a course's or the run's own
    detail: str
    fix: str
    canvas_url: str


@dataclass
class IssueGroup:
    """One reason's issues in a run: the reason said once, its count, and some or a page of its rows."""

    reason: Reason
    count: int
    courses: int  # how many courses its issues concern
    rows: list[IssueRow] = field(default_factory=list)
    page: Page | None = None  # when the group is shown alone, paginated

    @property
    def severity_label(self) -> str:
        return IssueSeverity(self.reason.severity).label

    @property
    def kind(self) -> str:
        """What its rows are: "person", "course", "section" or "" (a mix, or the run itself)."""
        kinds = {"person" if r.issue.object_type in PEOPLE else r.issue.object_type for r in self.rows}
        return kinds.pop() if len(kinds) == 1 and kinds <= {"person", "course", "section"} else ""

    @property
    def counted(self) -> str:
        """ "96 people in 12 courses", "1 course", "3 issues"."""
        one, many = {
            "person": ("person", "people"),
            "course": ("course", "courses"),
            "section": ("section", "sections"),
        }.get(self.kind, ("issue", "issues"))
        text = f"{self.count} {one if self.count == 1 else many}"
        if self.kind in ("person", "section") and self.courses > 1:
            text += f" in {self.courses} courses"
        return text

    @property
    def who_heading(self) -> str:
        return {"person": "Person", "course": "Course", "section": "Section"}.get(self.kind, "Who or what")

    @property
    def has_course_column(self) -> bool:
        return any(r.course for r in self.rows)

    @property
    def has_details(self) -> bool:
        return any(r.detail or r.fix for r in self.rows)

    @property
    def more(self) -> int:
        """Rows not shown in the unfiltered preview."""
        return self.count - len(self.rows) if self.page is None else 0


def issue_groups(
    run: SyncRun,
    server_url: str,
    *,
    code: str = "",
    page_number: str | None = None,
    page_size: int = 100,
    issues: QuerySet[SyncIssue] | None = None,
) -> list[IssueGroup]:
    """The run's issues (or `issues`: the ones it resolved) by reason, errors first, then the largest
    groups. With `code`, that reason's group alone and one page of it; without, each group's first
    GROUP_PREVIEW rows."""
    found = run.issues.all() if issues is None else issues
    totals = found.values("code").annotate(n=Count("id"), courses=Count("canvas_course_id", distinct=True))
    groups = [
        IssueGroup(reason_for(t["code"]), t["n"], t["courses"])
        for t in totals.order_by()
        if not code or t["code"] == code
    ]
    groups.sort(key=lambda g: (SEVERITY_ORDER.get(g.reason.severity, 9), -g.count, g.reason.title))
    chosen: dict[str, list[SyncIssue]] = {}
    for group in groups:
        rows = found.filter(code=group.reason.code).order_by("canvas_course_id", "label", "id")
        if code:
            group.page = Paginator(rows, page_size).get_page(page_number)
            chosen[group.reason.code] = list(group.page)
        else:
            chosen[group.reason.code] = list(rows[:GROUP_PREVIEW])
    names = course_names(run.institution, (i.canvas_course_id for rows in chosen.values() for i in rows))
    for group in groups:
        group.rows = [_row(issue, group.reason, names, server_url) for issue in chosen[group.reason.code]]
    return groups


def _row(issue: SyncIssue, why: Reason, names: dict[int, str], server_url: str) -> IssueRow:
    detail = row_detail(issue, why)
    who = issue.label
    if issue.object_type == "run" and who == why.title and detail:
        who, detail = detail, ""  # a run-level row names its object in the detail ("X ended on ...")
    course = ""
    if issue.object_type in (*PEOPLE, "section") and issue.canvas_course_id:
        course = names.get(issue.canvas_course_id) or f"Canvas course {issue.canvas_course_id}"
    return IssueRow(issue, who, course, detail, row_fix(issue, why), issue_canvas_url(server_url, issue))
