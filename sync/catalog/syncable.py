"""Can this course sync? The one rule, asked of a course in the catalogue (Select Courses, adding to
the sync list) and of a course as Canvas returns it at sync time (sync.engine.plan). Each answer is
None or a code of the reasons registry (sync.runs.reasons), the first in the order an admin fixes them.
"""

from __future__ import annotations

from django.db.models import Q

from lms_canvas.models import CanvasConfig, CourseIdType
from sync.runs.reasons import ReasonCode

SYNCABLE_STATES = ("available", "completed")


def course_block(workflow_state: str, course_id: str, *, gone: bool = False) -> ReasonCode | None:
    """`course_id`: the course's value for the Course ID Type chosen on Configure ("" when none);
    `gone`: the last full refresh no longer found it."""
    if gone:
        return "course_gone"
    if workflow_state == "deleted":
        return "course_deleted"
    if workflow_state not in SYNCABLE_STATES:
        return "course_unpublished"
    if not course_id:
        return "no_course_id"
    return None


def section_block(section_id: str, *, course_blocked: bool, gone: bool = False) -> ReasonCode | None:
    """A section syncs when its course does, it is still in Canvas, and it has a Section ID."""
    if course_blocked:
        return "course_unsyncable"
    if gone:
        return "section_gone"
    if not section_id:
        return "no_section_id"
    return None


def syncable_courses_q(config: CanvasConfig) -> Q:
    """`course_block(...) is None` as a filter on CatalogCourse (Select Courses' "hide those that cannot sync")."""
    q = Q(gone_at__isnull=True, workflow_state__in=SYNCABLE_STATES)
    field = CourseIdType(config.course_id_type).canvas_field
    return q & ~Q(**{field: ""}) if field != "id" else q
