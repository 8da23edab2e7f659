"""`{% breadcrumbs "sync-history" "Sync #12" %}`: Admin › Global Settings › LMS Settings › View History ›
Sync #12, the one trail every page shows, from where each page sits (PAGES) down to the page itself."""

from __future__ import annotations

from typing import NamedTuple

from django import template
from django.urls import reverse

register = template.Library()


class Place(NamedTuple):
    label: str
    url: str | None  # a URL name (with an optional "?query"), or None for a crumb that is no page
    parent: str | None


PAGES = {
    "dashboard": Place("Dashboard", "dashboard", None),
    "exams": Place("Exams", "exams", "dashboard"),
    "admin": Place("Admin", None, None),
    "global-settings": Place("Global Settings", "global-settings", "admin"),
    "audit-trail": Place("Audit trail", "audit-trail", "global-settings"),
    "schedule-settings": Place("Schedule and notifications", "schedule-settings", "global-settings"),
    "lms-settings": Place("LMS Settings", "lms-settings", "global-settings"),
    "setup-guide": Place("Setup guide", "setup-guide", "global-settings"),
    "canvas-configure": Place("Configure", "canvas-configure", "lms-settings"),
    "sync-settings": Place("Edit Sync Settings", "sync-settings", "lms-settings"),
    "sync-list": Place("Edit Sync List", "sync-settings?tab=list", "sync-settings"),
    "sync-history": Place("View History", "sync-history", "lms-settings"),
    "sync-errors": Place("LMS Sync Errors", "sync-errors", "sync-history"),
    "sync-why": Place("Why isn't this synced?", "sync-why", "sync-history"),
    "sync-problems": Place("Open problems", "sync-problems", "sync-history"),
}


def _url(name: str) -> str:
    path, _, query = name.partition("?")
    return reverse(path) + (f"?{query}" if query else "")


def trail_to(page: str) -> list[tuple[str, str | None]]:
    """(label, url) from the top down to `page`, every crumb linked except those that are no page."""
    crumbs = []
    key: str | None = page
    while key is not None:
        place = PAGES[key]
        crumbs.append((place.label, _url(place.url) if place.url else None))
        key = place.parent
    return crumbs[::-1]


@register.inclusion_tag("portal/_breadcrumbs.html")
def breadcrumbs(page: str, *more: str) -> dict:
    """The trail down to `page`, then `more`: pairs of label and URL, and last the current page's label.
    Without `more`, `page` is the current page."""
    if len(more) % 2 == 0 and more:
        raise template.TemplateSyntaxError("breadcrumbs: pairs of label and URL, then the current page's label")
    crumbs = trail_to(page)
    if more:
        crumbs += list(zip(more[:-1:2], more[1:-1:2], strict=True))
        current = more[-1]
    else:
        current = crumbs.pop()[0]
    return {"crumbs": crumbs, "current": current}
