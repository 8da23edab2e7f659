"""Catalogue lookups and two listed courses, for the sync list tests."""

from __future__ import annotations

from sync.models import CatalogCourse, CatalogSection
from sync.synclist import edit


def course(canvas_id):
    return CatalogCourse.objects.get(canvas_id=canvas_id)


def section(canvas_id):
    return CatalogSection.objects.get(canvas_id=canvas_id)


def two_entries(institution, config):
    """Contracts I (501) and a second course (505) on the institution's sync list."""
    return (
        edit.add_course(institution, config, course(501).id),
        edit.add_course(institution, config, course(505).id),
    )


def rows_post(*rows, action="save"):
    """What Edit Sync List's Save posts: its formset, one mapping of field -> value per row (entry first)."""
    data = {"action": action, "rows-TOTAL_FORMS": str(len(rows)), "rows-INITIAL_FORMS": str(len(rows))}
    for index, row in enumerate(rows):
        data.update({f"rows-{index}-{name}": str(value) for name, value in row.items()})
    return data


def shown_row(response, entry):
    """The row form the page shows for `entry` (after a refused post: with what was typed)."""
    return next(form for form in response.context["rows"] if form.listed_entry.id == entry.id)
