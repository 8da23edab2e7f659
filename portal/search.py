"""The longest search a page runs, and what a page says about a longer one, instead of searching for
it as it is or cut short without a word (issue 15: a 5,000-character search showed the whole catalogue)."""

from __future__ import annotations

MAX_QUERY = 255


def too_long(q: str) -> str:
    """ "" when `q` can be searched; else the sentence the page shows instead of results."""
    if len(q) <= MAX_QUERY:
        return ""
    return f"A search can be at most {MAX_QUERY} characters; this one has {len(q)}. Shorten it and search again."
