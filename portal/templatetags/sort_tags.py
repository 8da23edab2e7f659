"""`{% sort_th sort "started" "Started" %}`: a table's column header that sorts by it (portal.sorting)."""

from __future__ import annotations

from django import template

from portal.sorting import Sort, sort_header

register = template.Library()


@register.inclusion_tag("portal/_sort_th.html", takes_context=True)
def sort_th(context: template.Context, sort: Sort, key: str, label: str, params=None) -> dict:
    """`params`: the query parameters to keep, name -> values (default: the request's)."""
    kept = dict(context["request"].GET.lists()) if params is None else params
    return {"header": sort_header(sort, key, label, kept)}


@register.inclusion_tag("portal/_sort_menu.html", takes_context=True)
def sort_menu(context: template.Context, sort: Sort, name: str, *columns: str, params=None) -> dict:
    """The same sorts as links above a table whose headers a phone folds away (its rows become cards):
    `columns` are key, label, key, label..."""
    kept = dict(context["request"].GET.lists()) if params is None else params
    pairs = zip(columns[::2], columns[1::2], strict=True)
    return {"name": name, "headers": [sort_header(sort, key, label, kept) for key, label in pairs]}
