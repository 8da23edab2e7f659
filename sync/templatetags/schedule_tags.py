"""`{% next_nightly_sync institution %}`: the "Next nightly sync: ..." line of LMS Settings, View History,
the dashboard and the schedule page, from sync.schedule.next_nightly_sync. A template tag, so the portal's
and lms_canvas's pages can show it while their code imports nothing of sync."""

from __future__ import annotations

from django import template

from portal.models import Institution
from sync.schedule import next_nightly_sync as next_sync_of

register = template.Library()


@register.inclusion_tag("sync/_next_sync.html")
def next_nightly_sync(institution: Institution, link: bool = True) -> dict:
    """`link`: whether to link to the schedule page (not on that page itself)."""
    return {"next_sync": next_sync_of(institution), "link": link}
