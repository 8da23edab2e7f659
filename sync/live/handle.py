"""The worker's part of an event: which synced courses it concerns (marked for a refetch), and what it
tells the catalogue about a course or section (a course created or published appears in Select
Courses without a refresh). Enrollment and user events carry no role and no SIS ids, so they never
write people: the refetch reads them from Canvas."""

from __future__ import annotations

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from portal.models import Enrollment
from sync.live import coalesce
from sync.live.models import LiveEvent
from sync.live.receive import local_id
from sync.models import CatalogCourse, CatalogSection, SyncListEntry

# Canvas's course workflow states in events, as the API (and so the catalogue) names them.
COURSE_STATES = {"created": "unpublished", "claimed": "unpublished"}


BATCH = 2000  # events one drain takes; more waiting are drained by the next one, sent at once


def handle_pending(institution_id: int) -> int:
    """Every accepted, unhandled event of the institution, in one go: a burst of thousands of
    deliveries is one or two tasks, and each synced course it touched is marked once. The number handled."""
    cache.delete(coalesce.drain_key(institution_id))
    with transaction.atomic():
        events = list(
            LiveEvent.objects.select_for_update(skip_locked=True)
            .filter(institution_id=institution_id, handled_at__isnull=True)
            .order_by("id")[:BATCH]
        )
        courses: dict[int, int] = {}  # course -> its events here
        for event in events:
            for course_id in _courses_of(event):
                courses[course_id] = courses.get(course_id, 0) + 1
        synced = SyncListEntry.objects.filter(institution_id=institution_id, course__canvas_id__in=list(courses))
        for course_id in set(synced.values_list("course__canvas_id", flat=True)):
            coalesce.mark(institution_id, course_id, events=courses[course_id])
        LiveEvent.objects.filter(id__in=[e.id for e in events]).update(handled_at=timezone.now())
    if len(events) == BATCH:
        coalesce.schedule_drain(institution_id, again=True)
    return len(events)


def _courses_of(event: LiveEvent) -> set[int]:
    """The courses the event concerns, after writing what it tells the catalogue."""
    name, body = event.event_name, event.payload.get("body", {})
    if name in ("course_created", "course_updated"):
        _catalog_course(event.institution_id, body)
    elif name in ("course_section_created", "course_section_updated"):
        _catalog_section(event.institution_id, body)
    if name.startswith("user_"):
        return _courses_of_user(event.institution_id, local_id(body.get("user_id")))
    return {event.canvas_course_id} if event.canvas_course_id else set()


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
