"""The worker's part of an event: which synced courses it concerns (marked for a refetch), and what it
tells the catalogue about a course or section (a course created or published appears in Select
Courses without a refresh). Enrollment and user events carry no role and no SIS ids, so they never
write people: the refetch reads them from Canvas."""

from __future__ import annotations

from django.utils import timezone

from portal.models import Enrollment
from sync.live import coalesce
from sync.live.models import LiveEvent
from sync.live.receive import local_id
from sync.models import CatalogCourse, CatalogSection, SyncListEntry

# Canvas's course workflow states in events, as the API (and so the catalogue) names them.
COURSE_STATES = {"created": "unpublished", "claimed": "unpublished"}


def handle(event_id: int) -> None:
    event = LiveEvent.objects.filter(id=event_id, handled_at__isnull=True).first()
    if event is None:
        return
    name, body = event.event_name, event.payload.get("body", {})
    if name in ("course_created", "course_updated"):
        _catalog_course(event.institution_id, body)
    elif name in ("course_section_created", "course_section_updated"):
        _catalog_section(event.institution_id, body)
    courses = {event.canvas_course_id} if event.canvas_course_id else set()
    if name.startswith("user_"):
        courses = _courses_of_user(event.institution_id, local_id(body.get("user_id")))
    synced = SyncListEntry.objects.filter(institution_id=event.institution_id, course__canvas_id__in=courses)
    for course_id in set(synced.values_list("course__canvas_id", flat=True)):
        coalesce.mark(event.institution_id, course_id)
    LiveEvent.objects.filter(id=event.id).update(handled_at=timezone.now())


def _courses_of_user(institution_id: int, user_id: int | None) -> set[int]:
    if user_id is None:
        return set()
    rows = Enrollment.objects.filter(
        course__institution_id=institution_id, exam_taker__lms_id=user_id, course__lms_id__isnull=False
    )
    return {lms_id for lms_id in rows.values_list("course__lms_id", flat=True) if lms_id is not None}


def _catalog_course(institution_id: int, body: dict) -> None:
    canvas_id = local_id(body.get("course_id"))
    if canvas_id is None:
        return
    state = body.get("workflow_state", "")
    fields = {"workflow_state": COURSE_STATES.get(state, state)[:20], "refreshed_at": timezone.now()}
    if body.get("name"):
        fields["name"] = body["name"][:255]
    if body.get("account_id"):
        fields["account_id"] = local_id(body["account_id"])
    if not CatalogCourse.objects.filter(institution_id=institution_id, canvas_id=canvas_id).update(**fields):
        CatalogCourse.objects.get_or_create(
            institution_id=institution_id, canvas_id=canvas_id, defaults={"name": "", **fields}
        )


def _catalog_section(institution_id: int, body: dict) -> None:
    canvas_id, course_id = local_id(body.get("course_section_id")), local_id(body.get("course_id"))
    if canvas_id is None or course_id is None:
        return
    course = CatalogCourse.objects.filter(institution_id=institution_id, canvas_id=course_id).first()
    if course is None:
        return  # a section of a course the catalogue does not know yet: the next refresh brings both
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
