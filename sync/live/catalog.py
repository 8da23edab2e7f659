"""What course and section events tell Select Courses (the catalogue): a course created or published in
Canvas appears there without a refresh, and a renamed, unpublished or deleted one says so.

A course event carries the course's name, state and account, but not its SIS ID, Reference ID, course
code or term (CANVAS_API.md §9). A course the catalogue has from a refresh keeps those; one it has not
seen would be greyed out as "no Course ID" although Canvas has one, so a published course new to the
catalogue is read from Canvas once (the FAQ's specific course refresh: the course and its sections),
as is a course the catalogue has never seen that enrollment or section events name (a course created
since the last refresh: its course_created is not among the event types LMS Settings lists),
by the worker after the events are handled, a few per drain so an SIS import's thousands of new
courses cost no more than LOOKUPS_PER_DRAIN requests a drain (the rest wait for the next refresh).
"""

from __future__ import annotations

import logging

from django.utils import timezone

from lms_canvas.connect import client_for
from lms_canvas.errors import CanvasError
from lms_canvas.gates import gate_for
from lms_canvas.models import CanvasConnection
from sync.catalog import writes
from sync.catalog.syncable import SYNCABLE_STATES
from sync.live.receive import local_id
from sync.models import CatalogCourse, CatalogSection

logger = logging.getLogger(__name__)

# Canvas's course workflow states in events, as the API (and so the catalogue) names them.
COURSE_STATES = {"created": "unpublished", "claimed": "unpublished"}
LOOKUPS_PER_DRAIN = 20


def note_course(institution_id: int, body: dict) -> int | None:
    """Write what a course event says. The course's Canvas id when it should be read from Canvas: it is
    published and the catalogue has none of what only the API gives (new to it, or made by an event)."""
    canvas_id = local_id(body.get("course_id"))
    if canvas_id is None:
        return None
    state = body.get("workflow_state", "")
    state = COURSE_STATES.get(state, state)[:20]
    fields: dict = {"workflow_state": state, "refreshed_at": timezone.now()}
    if state != "deleted":
        fields["gone_at"] = None  # Canvas has just said it has the course
    if body.get("name"):
        fields["name"] = body["name"][:255]
    if body.get("account_id"):
        fields["account_id"] = local_id(body["account_id"])
    known = CatalogCourse.objects.filter(institution_id=institution_id, canvas_id=canvas_id)
    if not known.update(**fields):
        CatalogCourse.objects.get_or_create(
            institution_id=institution_id, canvas_id=canvas_id, defaults={"name": "", **fields}
        )
    from_api = known.exclude(course_code="", sis_course_id="", integration_id="").exists()
    return canvas_id if state in SYNCABLE_STATES and not from_api else None


def note_section(institution_id: int, body: dict) -> None:
    canvas_id, course_id = local_id(body.get("course_section_id")), local_id(body.get("course_id"))
    if canvas_id is None or course_id is None:
        return
    course = CatalogCourse.objects.filter(institution_id=institution_id, canvas_id=course_id).first()
    if course is None:
        return  # a section of a course the catalogue does not know yet: reading the course brings both
    now = timezone.now()
    fields = {
        "course": course,
        "name": (body.get("name") or "")[:255],
        "sis_section_id": (body.get("sis_source_id") or "")[:255],
        "integration_id": (body.get("integration_id") or "")[:255],
        "nonxlist_course_id": local_id(body["nonxlist_course_id"]) if body.get("nonxlist_course_id") else None,
        "refreshed_at": now,
        "gone_at": now if body.get("workflow_state") == "deleted" else None,
    }
    CatalogSection.objects.update_or_create(institution_id=institution_id, canvas_id=canvas_id, defaults=fields)


def read_courses(institution_id: int, canvas_ids: list[int]) -> int:
    """Read these courses and their sections from Canvas into the catalogue (at most LOOKUPS_PER_DRAIN);
    how many were read. A failure leaves what the event wrote, for the next refresh to complete."""
    conn = CanvasConnection.objects.filter(institution_id=institution_id).first()
    if not canvas_ids or conn is None or not conn.is_verified:
        return 0
    client = client_for(conn, throttle=gate_for(conn.id))
    read = 0
    for canvas_id in sorted(canvas_ids)[:LOOKUPS_PER_DRAIN]:
        started = timezone.now()
        try:
            course = client.get_course(canvas_id, account_id=conn.account_ref)
            dropped = client.dropped_includes
            writes.save_courses(
                institution_id, [course], started, counts="total_students" not in dropped, terms="term" not in dropped
            )
            saved = CatalogCourse.objects.get(institution_id=institution_id, canvas_id=course.id)
            sections = list(client.iter_sections(course.id))
        except CanvasError as exc:
            logger.warning("Instant sync of institution %s: course %s not read: %s", institution_id, canvas_id, exc)
            continue
        writes.save_sections(institution_id, [(saved.pk, s) for s in sections], started)
        read += 1
    return read
