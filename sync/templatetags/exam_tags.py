"""`{{ score|points }}`: 87.50 -> "87.5", 100.00 -> "100" (never "1E+2"); `{{ run|post_counts }}`: a grade
post's counts in its own words."""

from __future__ import annotations

from decimal import Decimal

from django import template

from sync.grades.person import counts_text

register = template.Library()


@register.filter
def points(value: Decimal | None) -> str:
    if value is None:
        return ""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


@register.filter
def post_counts(run) -> str:
    return counts_text(run.counts or {}, check_only=bool((run.params or {}).get("check_only")))
