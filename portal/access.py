"""The one place that says which institution a request may touch.

Every portal view calls one of these first. An object of another institution is a 404, exactly
as if it did not exist, so ids cannot be probed.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404

from portal.models import Course, Department, Institution


def get_institution_for(request: HttpRequest) -> Institution:
    """The institution the signed-in admin administers; support staff use Django admin instead."""
    membership = getattr(request.user, "institution_membership", None) if request.user.is_authenticated else None
    if membership is None:
        raise PermissionDenied("This account does not administer an institution.")
    return membership.institution


def get_department_for(request: HttpRequest, department_id: int) -> Department:
    institution = get_institution_for(request)
    return get_object_or_404(Department, id=department_id, institution=institution)


def get_course_for(request: HttpRequest, course_id: int) -> Course:
    institution = get_institution_for(request)
    return get_object_or_404(Course.objects.select_related("department"), id=course_id, institution=institution)


def require_same_institution(request: HttpRequest, obj_institution_id: int) -> Institution:
    """For objects reached through other apps' models: 404 unless it is the admin's institution."""
    institution = get_institution_for(request)
    if institution.id != obj_institution_id:
        raise Http404
    return institution
