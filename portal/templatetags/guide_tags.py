"""`{% guide_help "configure" %}`: a page's Help, the setup guide's steps for that page (portal.guide);
several keys show several parts (LMS Settings: the key made in Canvas, then the page's own steps)."""

from __future__ import annotations

from django import template

from portal.guide import BY_KEY

register = template.Library()


@register.inclusion_tag("portal/_guide_help.html")
def guide_help(*keys: str) -> dict:
    return {"parts": [BY_KEY[key] for key in keys], "anchor": keys[-1]}
