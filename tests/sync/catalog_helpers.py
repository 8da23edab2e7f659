"""A small catalogue written straight to the database, mirroring small_dataset()'s awkward cases."""

from __future__ import annotations

import datetime as dt

from sync.models import CatalogCourse, CatalogSection

FALL_START = dt.datetime(2026, 8, 24, tzinfo=dt.UTC)
FALL_END = dt.datetime(2026, 12, 18, tzinfo=dt.UTC)


def make_catalog(institution, offset: int = 0):
    def course(canvas_id, name, sis, state, **extra):
        return CatalogCourse.objects.create(
            institution=institution,
            canvas_id=canvas_id + offset,
            name=name,
            sis_course_id=sis,
            workflow_state=state,
            term_name="Fall 2026",
            term_start_at=FALL_START,
            term_end_at=FALL_END,
            **extra,
        )

    contracts = course(501, "Contracts I", "LAW-101-F26", "available", course_code="LAW-101")
    history = course(502, "History of Science", "", "available")
    philosophy = course(503, "Philosophy II", "PHIL-202-F26", "unpublished")
    course(504, "Torts (old)", "LAW-102-F25", "deleted")
    course(505, "Statistics I", "STAT-101-F26", "completed")

    def section(canvas_id, parent, name, sis):
        return CatalogSection.objects.create(
            institution=institution, course=parent, canvas_id=canvas_id + offset, name=name, sis_section_id=sis
        )

    section(801, contracts, "Section A", "LAW-101-F26-A")
    section(802, contracts, "Section B", "")
    section(803, history, "History of Science", "")
    section(805, philosophy, "Philosophy II", "PHIL-202-F26-A")
    return institution


def text(response) -> str:
    """The response body as a reader sees it (entities such as &#x27; decoded)."""
    import html

    return html.unescape(response.content.decode())
