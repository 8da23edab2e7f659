"""`{% instant_sync_section institution %}`: LMS Settings' "Instant sync (Canvas Live Events)" section, a
partial of its own (templates/sync/_instant_sync.html) so the page's code imports nothing of sync."""

from __future__ import annotations

from django import template
from django.urls import reverse

from portal.models import Institution
from sync.live.status import EVENT_TYPES, live_sync_of, status_of
from sync.models import SyncRun

register = template.Library()


@register.inclusion_tag("sync/_instant_sync.html", takes_context=True)
def instant_sync_section(context: template.Context, institution: Institution) -> dict:
    live = live_sync_of(institution)
    request = context["request"]
    return {
        "live": live,
        "status": status_of(live),
        "webhook_url": request.build_absolute_uri(reverse("live-events-webhook", args=[live.webhook_token])),
        "event_types": EVENT_TYPES,
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("sync/_touched_courses.html")
def touched_courses(run: SyncRun, shown: int = 3) -> dict:
    """The courses an instant sync touched, for its View History row ("Contracts I, Torts II and 2 more")."""
    labels = list(run.course_results.order_by("label").values_list("label", flat=True)[: shown + 1])
    total = len(run.params.get("courses") or ())
    return {"labels": labels[:shown], "more": max(0, total - shown)}
