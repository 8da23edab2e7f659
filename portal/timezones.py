"""An admin reads every time in their institution's time zone; support and logged-out pages use UTC."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from portal.models import InstitutionAdmin


class InstitutionTimezoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        membership = None
        if user.is_authenticated:
            # The membership and its institution in one query, kept on the user, where the access helper
            # and the page header read them: two queries on every page before (issue 18's pages under load).
            membership = InstitutionAdmin.objects.select_related("institution").filter(user_id=user.pk).first()
            if membership is not None:
                user.institution_membership = membership
        if membership is not None:
            timezone.activate(membership.institution.tz)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
