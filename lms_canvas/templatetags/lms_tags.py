"""`{{ fix|on_this_page }}`: a fix written for any page ("... Generate Key in LMS Settings") as LMS Settings
itself says it ("... Generate Key below")."""

from __future__ import annotations

from django import template

from lms_canvas.settings_service import on_this_page as reworded

register = template.Library()


@register.filter
def on_this_page(fix: str) -> str:
    return reworded(fix or "")
