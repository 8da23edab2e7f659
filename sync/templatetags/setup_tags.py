"""`{% setup_status institution %}`: the dashboard's setup checklist, or the status card it becomes once a
first sync has finished (sync.dashboard). A template tag, so the portal's dashboard shows it while the
portal's code imports nothing of sync."""

from __future__ import annotations

from django import template

from portal.models import Institution
from sync import dashboard

register = template.Library()


@register.inclusion_tag("sync/_setup_status.html")
def setup_status(institution: Institution) -> dict:
    if dashboard.is_set_up(institution):
        return {"status": dashboard.status(institution)}
    steps = dashboard.checklist(institution)
    next_step = next((s for s in steps if not s.done), None)
    done = sum(s.done for s in steps)
    return {"institution": institution, "steps": steps, "next_step": next_step, "done_count": done}
