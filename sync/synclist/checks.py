"""What a saved sync list would not sync as it is: entries whose end date has passed, rows without a
department, a course listed together with one of its sections. Warnings, never errors: Save keeps
everything and the Edit Sync List tab lists them with what to do (Extend to term end, for the first)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone

from portal.dates import date_text
from portal.models import Course, Institution
from sync.engine.runner import today_for
from sync.models import SyncListEntry
from sync.runs.reasons import REASONS, reason
from sync.synclist.edit import NOT_ON_LIST, ListedEntry, RowChange, default_dates

# Not a run issue (the sync copes: both entries land in one portal course), so not a code of the reasons
# registry, and the help page has no entry for it.
COURSE_AND_SECTION = "course_and_section"
COURSE_AND_SECTION_TITLE = "Course listed together with its section"
COURSE_AND_SECTION_TEXT = "The course already includes its sections; remove the section entry or the course."
NO_DEPARTMENT_TEXT = (
    "It will not sync until a department is set. What to do: choose one in its Department column "
    "(or check the rows and use Department for checked rows), then Save."
)
NO_TERM_END = (
    "Canvas gives no term end date for this course. What to do: type a later End Date (or clear it) and Save, "
    "or remove the entry."
)
TERM_ENDED = (
    "Its term ended on {term_end} too. What to do: if it should still sync, type a later End Date "
    "(or clear it) and Save; otherwise remove the entry."
)
CANNOT_EXTEND = "“{label}” cannot be extended to its term end: {why}"
NOTHING_TO_EXTEND = "No entry on the list can be extended to its term end now; nothing was saved."


@dataclass(frozen=True)
class EntryWarning:
    """One entry the next sync would skip or merge: the note its row shows, the panel's line about it,
    and, for an ended entry whose term ends later, the date Extend to term end sets."""

    item: ListedEntry
    note: str
    detail: str = ""
    extend_to: dt.date | None = None


@dataclass
class WarningGroup:
    code: str  # a reasons registry code, or COURSE_AND_SECTION
    title: str
    text: str
    warnings: list[EntryWarning] = field(default_factory=list)

    @property
    def registered(self) -> bool:
        """Whether the LMS Sync Errors help page explains it (its code is in the reasons registry)."""
        return self.code in REASONS

    @property
    def extendable(self) -> list[EntryWarning]:
        return [w for w in self.warnings if w.extend_to is not None]


def term_end(item: ListedEntry, institution: Institution) -> dt.date | None:
    """The term end date the catalogue knows for the entry's course, as a date in the institution's zone."""
    end = item.entry.course.term_end_at
    return timezone.localtime(end, institution.tz).date() if end else None


def extend_date(item: ListedEntry, institution: Institution, today: dt.date) -> dt.date | None:
    """The date Extend to term end sets, or None when that would not make the entry sync again."""
    end, term = item.entry.end_date, term_end(item, institution)
    if item.gone or end is None or term is None or term < today or term <= end:
        return None
    return term


def list_warnings(
    institution: Institution, listed: Sequence[ListedEntry], today: dt.date | None = None
) -> list[WarningGroup]:
    """The warning groups that have entries, in the order the panel shows them."""
    today = today or today_for(institution)
    ended = reason("entry_ended")
    no_department = reason("no_department")
    groups = {
        "entry_ended": WarningGroup("entry_ended", ended.title, f"{ended.sentence} {ended.fix}"),
        "no_department": WarningGroup(
            "no_department", no_department.title, f"{no_department.sentence} {NO_DEPARTMENT_TEXT}"
        ),
        COURSE_AND_SECTION: WarningGroup(COURSE_AND_SECTION, COURSE_AND_SECTION_TITLE, COURSE_AND_SECTION_TEXT),
    }
    live = [item for item in listed if not item.gone]  # a gone course's row says so already
    current = []
    for item in live:
        if item.entry.is_current(today):
            current.append(item)
        else:
            groups["entry_ended"].warnings.append(_ended(item, institution, today))
    in_portal = _in_portal(institution, [item for item in current if item.entry.department_id is None])
    for item in current:
        if item.entry.department_id is None and item.entry.course.canvas_id not in in_portal:
            groups["no_department"].warnings.append(EntryWarning(item, no_department.title))
    whole = {item.entry.course_id: item for item in live if item.entry.section_id is None}
    for item in live:
        course_entry = whole.get(item.entry.course_id)
        if item.entry.section_id is not None and course_entry is not None:
            detail = f"the whole course “{course_entry.entry.label}” is listed too"
            groups[COURSE_AND_SECTION].warnings.append(EntryWarning(item, "Its course is listed too", detail))
    return [group for group in groups.values() if group.warnings]


def _ended(item: ListedEntry, institution: Institution, today: dt.date) -> EntryWarning:
    end = item.entry.end_date
    note = f"Ended {date_text(end)}"
    extend_to = extend_date(item, institution, today)
    if extend_to is not None:
        return EntryWarning(item, note, f"ended {date_text(end)}; its term ends {date_text(extend_to)}", extend_to)
    term = term_end(item, institution)
    why = NO_TERM_END if term is None else TERM_ENDED.format(term_end=date_text(term))
    return EntryWarning(item, note, f"ended {date_text(end)}. {why}")


def _in_portal(institution: Institution, items: Iterable[ListedEntry]) -> set[int]:
    """The Canvas ids of these entries' courses that are already portal courses: the sync keeps their
    department, so a row without one still syncs (the engine matches by Canvas id, else by Course ID)."""
    items = list(items)
    if not items:
        return set()
    by_value = {item.course_id_value: item.entry.course.canvas_id for item in items if item.course_id_value}
    match = Q(lms_id__in=[item.entry.course.canvas_id for item in items]) | Q(
        lms_id__isnull=True, course_id__in=list(by_value)
    )
    found: set[int] = set()
    for lms_id, course_id in Course.objects.filter(match, institution=institution).values_list("lms_id", "course_id"):
        found.add(lms_id if lms_id is not None else by_value[course_id])
    return found


def summary(groups: Sequence[WarningGroup]) -> str:
    """After a Save: how many entries the next sync would skip or merge, and why, in one sentence."""
    if not groups:
        return ""
    count = len({w.item.id for group in groups for w in group.warnings})
    kinds = ", ".join(f"{group.title.lower()} ({len(group.warnings)})" for group in groups)
    entries = f"{count} entr{'y' if count == 1 else 'ies'}"
    return f"{entries} will not sync as {'it is' if count == 1 else 'they are'}: {kinds}. See “Before the next sync” below."


def extension(
    institution: Institution, listed: Sequence[ListedEntry], which: str, today: dt.date | None = None
) -> tuple[dict[int, RowChange], str]:
    """Extend to term end for one entry (its id) or "all" ended ones: the end dates to set, or the reason it
    is refused. Only this institution's listed entries can be extended; an id that is not among them is refused."""
    today = today or today_for(institution)
    if which == "all":  # the entries the panel lists as ended, not a current one that ends before its term
        ended = [item for item in listed if not item.entry.is_current(today)]
        targets = [(item, extend_date(item, institution, today)) for item in ended]
        changes = {item.id: RowChange(end_date=date) for item, date in targets if date is not None}
        return changes, "" if changes else NOTHING_TO_EXTEND
    item = next((item for item in listed if str(item.id) == which), None)
    if item is None:
        return {}, NOT_ON_LIST
    date = extend_date(item, institution, today)
    if date is None:
        return {}, CANNOT_EXTEND.format(label=item.entry.label, why=_why_not(item, institution, today))
    return {item.id: RowChange(end_date=date)}, ""


def _why_not(item: ListedEntry, institution: Institution, today: dt.date) -> str:
    term = term_end(item, institution)
    if item.gone:
        return "its course is no longer in Canvas."
    if item.entry.end_date is None or (term is not None and term <= item.entry.end_date):
        return "its End Date is already at or after the term end."
    return NO_TERM_END if term is None else TERM_ENDED.format(term_end=date_text(term))


def mark_ended(institution: Institution, courses: Iterable) -> None:
    """Select Courses' courses (CatalogCourse) whose Canvas end date has passed get `.ended_text`, what
    the status column says before + is pressed: added as it is, the entry would take that end date and
    not sync (added_warning says so only after the click)."""
    today = today_for(institution)
    for course in courses:
        end = default_dates(course, institution)[1]
        course.ended_text = (
            f"Ended {date_text(end)} in Canvas: once added, set a later End Date to sync it"
            if end is not None and end < today
            else ""
        )


def added_warning(institution: Institution, entry: SyncListEntry, today: dt.date | None = None) -> str:
    """Said when an entry is added: its end date (from Canvas) has already passed, or one of its course's
    sections is on the list too. Empty when neither."""
    today = today or today_for(institution)
    notes = []
    if not entry.is_current(today):
        notes.append(
            f"its end date ({date_text(entry.end_date)}, from Canvas) has passed, so it will not sync: "
            "set a later End Date on Edit Sync List and Save."
        )
    if entry.section_id is None:
        sections = SyncListEntry.objects.filter(
            institution=institution, course_id=entry.course_id, section__isnull=False
        )
        names = [f"“{name}”" for name in sections.values_list("section__name", flat=True)]
        if names:
            listed = f"section {names[0]} is" if len(names) == 1 else f"sections {', '.join(names)} are"
            notes.append(f"its {listed} on the list too. {COURSE_AND_SECTION_TEXT}")
    return ("Added, but " + " And ".join(notes)) if notes else ""
