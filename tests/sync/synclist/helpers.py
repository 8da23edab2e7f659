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
