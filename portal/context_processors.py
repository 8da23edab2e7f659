from __future__ import annotations

from django.http import HttpRequest


def institution(request: HttpRequest) -> dict:
    """The signed-in admin's institution for the page header, if they have one."""
    user = getattr(request, "user", None)
    membership = getattr(user, "institution_membership", None) if user and user.is_authenticated else None
    return {"current_institution": membership.institution if membership else None}
