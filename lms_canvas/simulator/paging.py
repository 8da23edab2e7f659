"""Canvas's `Link` header pagination: numbered pages and bookmark pages (CANVAS_API.md section 3)."""

from __future__ import annotations

import base64
import json
import math
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from itertools import islice
from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Request

DEFAULT_PER_PAGE = 10
NOT_CARRIED = {"page", "per_page", "access_token", "api_key"}


def ruby_to_i(raw: str | None, default: int) -> int:
    """`"abc".to_i` is 0 and `"12abc".to_i` is 12; Canvas then clamps."""
    if raw is None:
        return default
    match = re.match(r"\s*[-+]?\d+", raw)
    return int(match.group()) if match else 0


def per_page(request: Request, max_per_page: int) -> int:
    raw = request.args.get("per_page", request.args.get("limit"))
    return min(max(ruby_to_i(raw, DEFAULT_PER_PAGE), 1), max_per_page)


def page_url(request: Request, page: Any, size: int) -> str:
    carried = [(k, v) for k, v in request.args.items(multi=True) if k not in NOT_CARRIED]
    query = urlencode([*carried, ("page", page), ("per_page", size)])
    return f"{request.host_url.rstrip('/')}{request.path}?{query}"


def link_header(request: Request, size: int, rels: list[tuple[str, Any]]) -> str:
    return ",".join(f'<{page_url(request, page, size)}>; rel="{rel}"' for rel, page in rels)


def paginate(request: Request, rows: Sequence | Iterable, max_per_page: int, *, with_last: bool) -> tuple[list, str]:
    """A numbered page. With `with_last` the rows are counted (a `last` link); without, only the
    window of one page plus one row is read, as Canvas does for its uncounted collections."""
    size = per_page(request, max_per_page)
    page = max(ruby_to_i(request.args.get("page"), 1), 1)
    start = (page - 1) * size
    if with_last:
        rows = rows if isinstance(rows, Sequence) else list(rows)
        items, has_next = list(rows[start : start + size]), start + size < len(rows)
    else:
        window = list(islice(rows, start, start + size + 1))
        items, has_next = window[:size], len(window) > size
    rels: list[tuple[str, Any]] = [("current", page)]
    if has_next:
        rels.append(("next", page + 1))
    if page > 1:
        rels.append(("prev", page - 1))
    rels.append(("first", 1))
    if with_last:
        rels.append(("last", max(1, math.ceil(len(rows) / size))))
    return items, link_header(request, size, rels)


def _encode_bookmark(key: list) -> str:
    return "bookmark:" + base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def _decode_bookmark(raw: str) -> list | None:
    token = raw.removeprefix("bookmark:")
    try:
        return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except ValueError:
        return None


def paginate_bookmark(
    request: Request, rows: Sequence, key: Callable[[Any], list], max_per_page: int, *, keys: Sequence | None = None
) -> tuple[list, str]:
    """Bookmark pages: `page=bookmark:<base64 JSON of the last row's sort key>`; no prev, no last.
    `rows` must already be sorted by `key`; `keys`, when given, are `key` of each row, already made."""
    size = per_page(request, max_per_page)
    raw = request.args.get("page", "first")
    start = 0
    if raw.startswith("bookmark:"):
        bookmark = _decode_bookmark(raw)
        if bookmark is not None:
            start = bisect_right(keys if keys is not None else [key(row) for row in rows], bookmark)
    items = list(rows[start : start + size])
    rels: list[tuple[str, Any]] = [("current", raw)]
    if start + size < len(rows) and items:
        rels.append(("next", _encode_bookmark(key(items[-1]))))
    rels.append(("first", "first"))
    return items, link_header(request, size, rels)
