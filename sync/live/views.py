"""The Live Events webhook Canvas posts to, and LMS Settings' instant sync actions (on/off, new address)."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from portal.access import get_institution_for
from sync.live import refusals
from sync.live.keys import InvalidEvent
from sync.live.models import LiveSync
from sync.live.receive import Outcome, receive

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024  # a Canvas event is a few kB


@csrf_exempt
@require_POST
def webhook(request: HttpRequest, token: str) -> HttpResponse:
    """Canvas's Data Services delivery: answered within milliseconds, the work done by a worker."""
    live = LiveSync.objects.filter(webhook_token=token).first()
    if live is None:
        logger.warning("Live Events webhook: a delivery to an unknown address (404)")
        return _refused("Unknown webhook address.", 404)
    if len(request.body) > MAX_BODY_BYTES:
        return _refused("Too large for a Live Event.", 413)
    try:
        outcome = receive(live, request.body)
    except InvalidEvent as exc:
        logger.warning("Live Events webhook of institution %s refused a delivery: %s", live.institution_id, exc.reason)
        refusals.note(live.institution_id, exc.code)
        return _refused("Not a Live Event signed by Canvas.", 401)
    if outcome == Outcome.OTHER_CANVAS:
        refusals.note(live.institution_id, "other_canvas")
    return HttpResponse(status=202 if outcome == Outcome.ACCEPTED else 200)


def _refused(text: str, status: int) -> HttpResponse:
    response = HttpResponse(text, status=status, content_type="text/plain")
    # Django's own 4xx warning names the path, which holds the address's secret: this module logs
    # the refusal instead, without it (django.utils.log.log_response skips a response so marked).
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def live_sync_for(institution) -> LiveSync:
    live, _ = LiveSync.objects.get_or_create(institution=institution)
    return live


@login_required
@require_POST
def instant_sync_switch(request: HttpRequest) -> HttpResponse:
    live = live_sync_for(get_institution_for(request))
    turn_on = request.POST.get("enabled") == "on"
    if turn_on and not live.enabled:
        live.enabled, live.enabled_at = True, timezone.now()
        live.save(update_fields=["enabled", "enabled_at"])
        messages.success(request, "Instant sync is on. Add the subscription in Canvas's Data Services as shown below.")
    elif not turn_on and live.enabled:
        live.enabled = False
        live.save(update_fields=["enabled"])
        messages.success(
            request,
            "Instant sync is off: events Canvas sends are answered and dropped. Remove the subscription in "
            "Canvas's Data Services too. Courses still sync nightly and on Sync Now.",
        )
    return redirect("lms-settings")


@login_required
@require_POST
def instant_sync_rotate(request: HttpRequest) -> HttpResponse:
    live = live_sync_for(get_institution_for(request))
    live.rotate_token()
    live.save(update_fields=["webhook_token", "token_rotated_at"])
    messages.warning(
        request,
        "The webhook address changed and the old one no longer works. In Canvas's Data Services, edit the "
        "subscription and paste the new address, or events will stop arriving.",
    )
    return redirect("lms-settings")
