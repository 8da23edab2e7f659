"""A table sorted by its headers without JavaScript: `?sort=started` or `?sort=-started` (descending),
one of the table's whitelisted keys; anything else is the table's default. Each header is a link to the
same page with the other sort, keeping the search and filter parameters (and going back to page 1)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

# A longer ?sort= is no key of any table; it is not even looked at.
MAX_SORT = 40


@dataclass(frozen=True)
class Sort:
    key: str
    descending: bool
    default: str

    @property
    def param(self) -> str:
        return f"-{self.key}" if self.descending else self.key

    @property
    def is_default(self) -> bool:
        return self.param == self.default


def read_sort(value: str | None, keys: Collection[str], default: str) -> Sort:
    """The sort asked for, if it names one of `keys`; else `default` ("-started": started, descending)."""
    value = (value or "")[:MAX_SORT]
    descending = value.startswith("-")
    key = value[1:] if descending else value
    if key not in keys:
        descending = default.startswith("-")
        key = default.lstrip("-")
    return Sort(key, descending, default)


@dataclass(frozen=True)
class SortHeader:
    label: str
    href: str
    aria_sort: str  # "ascending" / "descending" on the sorted column, "" elsewhere
    next_order: str  # what choosing the link does, for its accessible name


def sort_header(sort: Sort, key: str, label: str, params: Mapping[str, list[str]]) -> SortHeader:
    """The header of column `key`: sorted by it already, the link reverses the order; else it sorts by it
    ascending. `params` are the page's query parameters (a QueryDict's lists), kept but for sort and page."""
    descending = not sort.descending if sort.key == key else False
    kept = [(name, v) for name, values in params.items() if name not in ("sort", "page") for v in values]
    kept.append(("sort", f"-{key}" if descending else key))
    aria = ("descending" if sort.descending else "ascending") if sort.key == key else ""
    return SortHeader(label, "?" + urlencode(kept), aria, "descending" if descending else "ascending")


def query_without_page(params: Mapping[str, list[str]]) -> str:
    """The page's query parameters but for page, encoded: what pagination links keep."""
    return urlencode([(name, v) for name, values in params.items() if name != "page" for v in values])
