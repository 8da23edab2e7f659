"""Institution A with one of everything (catalogue, sync list, synced roster, runs, an exam), for the crawlers."""

from __future__ import annotations

from decimal import Decimal

from django.urls import URLPattern, URLResolver, get_resolver

from portal.models import Course, Department, Exam, ExamScore, Section
from sync.models import CatalogCourse, CatalogSection, SyncCourseResult, SyncRun
from tests.sync.engine_helpers import add_entry, catalog_from_sim, sync

# Which objects a URL's integer parameter can name; a new view with a new parameter name fails the
# crawler until it is added here, so every new view is covered.
PARAM_MODELS = {
    "department_id": [Department],
    "course_id": [Course, CatalogCourse],
    "section_id": [CatalogSection, Section],
    "run_id": [SyncRun],
    "result_id": [SyncCourseResult],
    "exam_id": [Exam],
}
# The part of the site that is Django admin (support), covered by its own tests; and Canvas's Live Events
# webhook, which no person opens: its gates are the address's secret and Canvas's signature, tested in
# tests/sync/live/test_webhook.py.
SKIPPED_PREFIXES = ("support/", "live-events/")


def build_world(institution, sim) -> None:
    catalog_from_sim(institution, sim)
    add_entry(institution, 501)
    add_entry(institution, 502)
    sync(institution)
    course = Course.objects.get(institution=institution, lms_id=501)
    exam = Exam.objects.create(course=course, title="Alpha midterm", points_possible=Decimal("10"))
    for enrollment in course.enrollments.select_related("exam_taker")[:2]:
        ExamScore.objects.create(exam=exam, exam_taker=enrollment.exam_taker, score=Decimal("7"))


def ids_of(model, institution) -> list[int]:
    filters = {
        Department: {"institution": institution},
        Course: {"institution": institution},
        CatalogCourse: {"institution": institution},
        CatalogSection: {"institution": institution},
        Section: {"course__institution": institution},
        SyncRun: {"institution": institution},
        SyncCourseResult: {"run__institution": institution},
        Exam: {"course__institution": institution},
    }[model]
    return list(model.objects.filter(**filters).order_by("id").values_list("id", flat=True)[:1])


def routes(resolver=None, prefix: str = ""):
    """(route, url name, [int parameter names]) for every portal URL."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if route.startswith(SKIPPED_PREFIXES):
            continue
        if isinstance(entry, URLResolver):
            yield from routes(entry, route)
        elif isinstance(entry, URLPattern) and entry.name:
            yield route, entry.name, list(entry.pattern.converters)
