"""The worker's part of an event: which synced courses it concerns (marked for a refetch), and what it
tells the catalogue about a course or section (a course created or published appears in Select
Courses without a refresh). Enrollment and user events carry no role and no SIS ids, so they never
write people: the refetch reads them from Canvas."""

from __future__ import annotations

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from portal.models import Enrollment
from sync.live import catalog, coalesce
from sync.live.models import LiveEvent
from sync.live.receive import local_id
from sync.models import CatalogCourse, SyncIssue, SyncListEntry

ENROLLMENT_EVENTS = ("enrollment_created", "enrollment_updated")
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
        _place_state_events(institution_id, events)
        courses: dict[int, int] = {}  # course -> its events here
        to_read: set[int] = set()  # courses the catalogue lacks what only Canvas can say, read below
        for event in events:
            for course_id in _courses_of(event, to_read):
                courses[course_id] = courses.get(course_id, 0) + 1
        synced = SyncListEntry.objects.filter(institution_id=institution_id, course__canvas_id__in=list(courses))
        for course_id in set(synced.values_list("course__canvas_id", flat=True)):
            coalesce.mark(institution_id, course_id, events=courses[course_id])
        LiveEvent.objects.filter(id__in=[e.id for e in events]).update(handled_at=timezone.now())
        # A course Canvas sent events about that the catalogue has never seen (created since the last
        # refresh: course_created is not among the subscribed types, its enrollments and sections are).
        to_read |= set(courses) - set(
            CatalogCourse.objects.filter(institution_id=institution_id, canvas_id__in=list(courses)).values_list(
                "canvas_id", flat=True
            )
        )
    catalog.read_courses(institution_id, sorted(to_read))  # Canvas is read outside the transaction
    if len(events) == BATCH:
        coalesce.schedule_drain(institution_id, again=True)
    return len(events)


def _courses_of(event: LiveEvent, to_read: set[int]) -> set[int]:
    """The courses the event concerns, after writing what it tells the catalogue (and adding to
    `to_read` a course to read from Canvas for it)."""
    name, body = event.event_name, event.payload.get("body", {})
    if name in ("course_created", "course_updated"):
        if (new := catalog.note_course(event.institution_id, body)) is not None:
            to_read.add(new)
    elif name in ("course_section_created", "course_section_updated"):
        catalog.note_section(event.institution_id, body)
    if name.startswith("user_"):
        return _courses_of_user(event.institution_id, local_id(body.get("user_id")))
    return {event.canvas_course_id} if event.canvas_course_id else set()


def _place_state_events(institution_id: int, events: list[LiveEvent]) -> None:
    """Give an enrollment_state event without a course the course of its enrollment. Its body names only
    the enrollment, and a background job's metadata (an SIS import, Canvas's date-driven recalculation)
    no course; an enrollment event for the same enrollment, in this drain or kept from the last two
    days, says which. Not found (a date-driven change of an older enrollment): the nightly sync."""
    unplaced = [e for e in events if e.event_name.startswith("enrollment_state_") and e.canvas_course_id is None]
    if not unplaced:
        return
    known: dict[str, int] = {}
    for event in events:
        if event.event_name in ENROLLMENT_EVENTS and event.canvas_course_id:
            known[str(event.payload.get("body", {}).get("enrollment_id"))] = event.canvas_course_id
    wanted = {str(e.payload.get("body", {}).get("enrollment_id")) for e in unplaced} - known.keys()
    if wanted:
        earlier = LiveEvent.objects.filter(
            institution_id=institution_id,
            event_name__in=ENROLLMENT_EVENTS,
            canvas_course_id__isnull=False,
            payload__body__enrollment_id__in=sorted(wanted),
        ).values_list("payload__body__enrollment_id", "canvas_course_id")
        known.update({str(enrollment): course for enrollment, course in earlier if course is not None})
    for event in unplaced:
        event.canvas_course_id = known.get(str(event.payload.get("body", {}).get("enrollment_id")))


def _courses_of_user(institution_id: int, user_id: int | None) -> set[int]:
    """The courses a user event concerns: those the portal holds the person in, and those a sync left
    the person out of (an open problem, e.g. no SIS ID: adding it in Canvas is a user_updated event)."""
    if user_id is None:
        return set()
    rows = Enrollment.objects.filter(
        course__institution_id=institution_id, exam_taker__lms_id=user_id, course__lms_id__isnull=False
    )
    left_out = SyncIssue.objects.open_for(institution_id).filter(
        object_type__in=("person", "enrollment"), canvas_id=user_id, canvas_course_id__isnull=False
    )
    found = set(rows.values_list("course__lms_id", flat=True)) | set(
        left_out.values_list("canvas_course_id", flat=True)
    )
    return {course_id for course_id in found if course_id is not None}
