"""Plan: read one sync-list entry from Canvas and decide what the portal should hold for it.

Reads only Canvas, never writes. The result says what the course, its sections and its people
should look like, keyed by Canvas id, and every Canvas enrollment it leaves out, with the reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils.dateparse import parse_datetime

from lms_canvas import links
from lms_canvas.client import ENROLLMENT_STATES, CanvasClient
from lms_canvas.errors import NotFound
from lms_canvas.models import CanvasConfig, CourseIdType, SectionIdType, StudentIdType
from lms_canvas.objects import Course, Enrollment, Section, User
from sync.catalog.syncable import course_block
from sync.models import SyncListEntry
from sync.runs.reasons import ReasonCode

PENDING_STATES = {"invited", "creation_pending"}
STATE_REASONS: dict[str, ReasonCode] = {"inactive": "inactive_enrollment", "completed": "completed_enrollment"}
TEST_STUDENT_TYPE = "StudentViewEnrollment"
# The ID types' Canvas fields that "SIS Data - read" guards (a login needs "Users - view login IDs").
SIS_FIELDS = frozenset({"sis_course_id", "sis_section_id", "sis_user_id", "integration_id"})


@dataclass(frozen=True)
class Exclusion:
    """A Canvas object left out, with its reason code (see reasons.py) and what identifies it."""

    code: str
    object_type: str
    canvas_id: int | None
    label: str
    detail: str = ""


@dataclass(frozen=True)
class PlannedPerson:
    lms_id: int
    portal_id: str
    first_name: str
    last_name: str
    email: str

    @property
    def label(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or f"Canvas user {self.lms_id}"


@dataclass(frozen=True)
class PlannedSection:
    lms_id: int
    section_id: str
    name: str


@dataclass(frozen=True)
class PlannedCourse:
    lms_id: int
    course_id: str
    name: str
    start_date: dt.date | None
    end_date: dt.date | None
    department_id: int | None
    lms_url: str


@dataclass
class CoursePlan:
    """What one sync-list entry should be in the portal. `blocked` means: change nothing in it."""

    entry_id: int
    canvas_course_id: int
    canvas_section_id: int | None
    label: str
    course: PlannedCourse | None = None
    sections: dict[int, PlannedSection] = field(default_factory=dict)
    exam_takers: dict[int, PlannedPerson] = field(default_factory=dict)
    course_admins: dict[int, PlannedPerson] = field(default_factory=dict)
    # (Canvas user id, Canvas section id or None when the section has no portal ID)
    student_enrollments: set[tuple[int, int | None]] = field(default_factory=set)
    admin_enrollments: set[int] = field(default_factory=set)
    exclusions: list[Exclusion] = field(default_factory=list)
    blocked: Exclusion | None = None
    # Whether Canvas showed this course's SIS fields (None: the course was not read): a later sync that
    # finds them again clears LMS Settings' "SIS IDs hidden".
    sis_shown: bool | None = None

    @property
    def is_section_entry(self) -> bool:
        return self.canvas_section_id is not None


def plan_entry(
    client: CanvasClient,
    config: CanvasConfig,
    entry: SyncListEntry,
    *,
    account_id: int | str = "self",
    server_url: str = "",
    on_page: Callable[[], None] | None = None,
) -> CoursePlan:
    """Read the entry's course, sections and enrollments (every state, every page) and map them.

    Canvas errors (CanvasError) propagate: the caller records them against the entry.
    """
    catalog = entry.course
    section_id = entry.section.canvas_id if entry.section else None
    plan = CoursePlan(entry.id, catalog.canvas_id, section_id, entry.label[:255])
    try:
        # Its term and student count are not needed here, but asked for: that they come back shows the
        # key still Allows Include Parameters (the run says so if not; CanvasClient.dropped_includes).
        course = client.get_course(catalog.canvas_id, account_id=account_id)
    except NotFound:
        course = Course(catalog.canvas_id, catalog.name, "", "", "", "deleted", None, None, None, None, None)
    else:
        plan.sis_shown = not course.sis_hidden
        if course.sis_hidden and CourseIdType(config.course_id_type).canvas_field in SIS_FIELDS:
            raise SisHidden("course")
    blocked = course_block(course.workflow_state, _id_value(course, CourseIdType(config.course_id_type).canvas_field))
    if blocked:
        plan.blocked = Exclusion(blocked, "course", catalog.canvas_id, plan.label)
        return plan
    plan.course = _planned_course(course, config, entry, server_url)

    canvas_sections = list(client.iter_sections(catalog.canvas_id))
    if section_id is not None:
        canvas_sections = [s for s in canvas_sections if s.id == section_id]
        if not canvas_sections:
            plan.blocked = Exclusion("section_gone", "section", section_id, plan.label)
            return plan
    section_field = SectionIdType(config.section_id_type).canvas_field
    if section_field in SIS_FIELDS and any(s.sis_hidden for s in canvas_sections):
        raise SisHidden("section")
    for section in canvas_sections:
        value = _id_value(section, SectionIdType(config.section_id_type).canvas_field)
        if value:
            plan.sections[section.id] = PlannedSection(section.id, value, section.name or value)
        else:
            plan.exclusions.append(Exclusion("no_section_id", "section", section.id, section.name))

    # The email is always asked for on this one listing (no request of its own): the course page shows
    # it. Only the Email ID type needs it; without it a missing one is a blank, and the run names the
    # checkbox (CanvasClient.dropped_includes).
    email_needed = config.student_id_type == StudentIdType.EMAIL
    enrollments = client.iter_enrollments(catalog.canvas_id, states=ENROLLMENT_STATES, include=("email",))
    _map_enrollments(plan, config, enrollments, {s.id for s in canvas_sections}, email_needed, on_page)
    return plan


def _map_enrollments(plan, config, enrollments, section_ids, email_needed, on_page) -> None:
    student_roles = set(config.student_role_ids)
    admin_roles = set(config.course_admin_role_ids)
    id_field = StudentIdType(config.student_id_type).canvas_field
    roles = {r["id"]: r for r in config.available_roles}
    owners: dict[tuple[str, str], int] = {}  # (kind, normalized portal id) -> Canvas user id
    duplicates: set[tuple[str, str]] = set()
    staged: list[tuple[str, PlannedPerson, int | None]] = []
    for count, enrollment in enumerate(enrollments, start=1):
        if on_page and count % 100 == 0:
            on_page()
        if enrollment.course_section_id not in section_ids:
            continue  # a single-section entry: another section's enrollment
        user = enrollment.user
        label = _person_label(user)
        excluded = _exclusion_code(enrollment, student_roles, admin_roles)
        if excluded:
            detail = _role_detail(enrollment, config, roles) if excluded == "role_not_chosen" else ""
            plan.exclusions.append(Exclusion(excluded, "enrollment", user.id, label, detail))
            continue
        if email_needed and user.email is None:
            raise IncludesOff()
        if (id_field in SIS_FIELDS and user.sis_hidden) or (id_field == "login_id" and user.login_hidden):
            raise SisHidden("login", plan.sis_shown) if id_field == "login_id" else SisHidden("person")
        value = _clean(getattr(user, id_field))
        if not value:
            plan.exclusions.append(Exclusion("no_person_id", "person", user.id, label))
            continue
        kind = "student" if enrollment.role_id in student_roles else "admin"
        person = _planned_person(user, value)
        key = (kind, value.lower() if id_field in ("email", "login_id") else value)
        if owners.setdefault(key, user.id) != user.id:
            duplicates.add(key)
        staged.append((kind, person, enrollment.course_section_id))
    for kind, person, canvas_section in staged:
        key = (kind, person.portal_id.lower() if id_field in ("email", "login_id") else person.portal_id)
        if key in duplicates:
            detail = f"{person.portal_id} is also the ID of another Canvas user in this course."
            plan.exclusions.append(Exclusion("duplicate_person_id", "person", person.lms_id, person.label, detail))
        elif kind == "student":
            plan.exam_takers[person.lms_id] = person
            section = canvas_section if canvas_section in plan.sections else None
            plan.student_enrollments.add((person.lms_id, section))
        else:
            plan.course_admins[person.lms_id] = person
            plan.admin_enrollments.add(person.lms_id)


class IncludesOff(Exception):
    """Canvas dropped include[]=email: the developer key does not Allow Include Parameters."""


class SisHidden(Exception):
    """Canvas left out the SIS ids (or logins) the ID types need, which it does when the authorizing
    user's role may not read them: not blank in Canvas, so nothing in the course is changed for it.
    `what`: "course", "section", "person" or "login"; `sis_shown`, for a login: whether the course's
    own SIS fields came (None: not known), so hidden logins alone are not taken for hidden SIS ids."""

    def __init__(self, what: str, sis_shown: bool | None = None) -> None:
        self.what = what
        self.sis_shown = sis_shown
        super().__init__(what)


def _exclusion_code(enrollment: Enrollment, student_roles: set[int], admin_roles: set[int]) -> ReasonCode | None:
    if enrollment.type == TEST_STUDENT_TYPE:
        return "test_student"
    role_id = enrollment.role_id
    if role_id not in student_roles and role_id not in admin_roles:
        return "role_not_chosen"
    state = enrollment.enrollment_state
    if state in PENDING_STATES:
        return "pending_invitation"
    if state != "active":
        return STATE_REASONS.get(state, "inactive_enrollment")
    return None


def _role_detail(enrollment: Enrollment, config: CanvasConfig, roles: dict[int, dict]) -> str:
    """The role as Configure lists it (Canvas's label, "Auditor (based on Student)"), not its name."""
    role = roles.get(enrollment.role_id) if enrollment.role_id is not None else None
    return "Canvas role: " + (config.role_choice_label(role) if role else enrollment.role or enrollment.type)


def _planned_course(course: Course, config: CanvasConfig, entry: SyncListEntry, server_url: str):
    start = entry.start_date or _date(course.start_at)
    end = entry.end_date or _date(course.end_at)
    if start and end and end < start:
        end = None
    return PlannedCourse(
        lms_id=course.id,
        course_id=_id_value(course, CourseIdType(config.course_id_type).canvas_field),
        name=(course.name or entry.course.name)[:255],
        start_date=start,
        end_date=end,
        department_id=entry.department_id,
        lms_url=links.course_page(server_url, course.id),
    )


def _id_value(canvas_object: Course | Section, field: str) -> str:
    """The portal ID of a Canvas course or section: the ID type's Canvas attribute, cleaned."""
    return _clean(getattr(canvas_object, field))


def _planned_person(user: User, portal_id: str) -> PlannedPerson:
    first, last = split_name(user)
    return PlannedPerson(user.id, portal_id[:255], first[:150], last[:150], _clean(user.email)[:254])


def split_name(user: User) -> tuple[str, str]:
    """Canvas's sortable_name is "Last, First"; fall back to the last word of the name."""
    sortable = user.sortable_name
    if ", " in sortable:
        last, first = sortable.split(", ", 1)
        return first.strip(), last.strip()
    parts = user.name.rsplit(" ", 1)
    return (parts[0], parts[1]) if len(parts) == 2 else ("", parts[0])


def _person_label(user: User) -> str:
    name = user.name or f"Canvas user {user.id}"
    ids = [
        f"{k} {value}"
        for k, value in (("SIS", user.sis_user_id), ("login", user.login_id), ("email", user.email))
        if value
    ]
    return (f"{name} ({', '.join(ids)})" if ids else name)[:255]


def _clean(value) -> str:
    return str(value).strip() if value not in (None, "") else ""


def _date(value: str | None) -> dt.date | None:
    parsed = parse_datetime(value) if value else None
    return parsed.date() if parsed else None
