"""An admin reads every time in their institution's time zone; support and logged-out pages use UTC."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone


class InstitutionTimezoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        membership = getattr(user, "institution_membership", None) if user.is_authenticated else None
        if membership is not None:
            timezone.activate(membership.institution.tz)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
