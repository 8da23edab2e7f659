"""Versions that cached pages carry in their keys, replaced when what the page shows is written.

`bump` replaces a version both at once and when the writer's transaction commits: a reader that read
the old rows before the commit stored its page under the version it read, which is never current
again after the commit. `cached` reads a page's version and the page in one round trip to the cache:
the page is stored with the version it was rendered under, and counts only while that is current.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from django.core.cache import cache
from django.db import transaction


def current(key: str) -> int:
    """The version under `key`, made now if it has none (or the cache lost it)."""
    version = cache.get(key)
    if version is None:
        cache.add(key, time.time_ns(), timeout=None)
        version = cache.get(key)
    return int(version or 0)


def bump(keys: Iterable[str]) -> None:
    """What the versions under `keys` stand for was written."""
    keys = list(keys)
    if not keys:
        return

    def replace() -> None:
        cache.set_many(dict.fromkeys(keys, time.time_ns()), timeout=None)

    replace()
    transaction.on_commit(replace)


def cached(version_key: str, key: str, render: Callable[[], tuple[str, bool]], timeout: int) -> str:
    """The text stored under `key` if it was rendered under the current version of `version_key`, else
    `render()`'s, stored unless `render` says it must not be (a page with a session's CSRF token)."""
    found = cache.get_many([version_key, key])
    version = found.get(version_key)
    stored = found.get(key)
    if version is not None and isinstance(stored, tuple) and stored[0] == version:
        return stored[1]
    if version is None:
        version = current(version_key)
    text, keep = render()
    if keep:
        cache.set(key, (version, text), timeout=timeout)
    return text


def run_page(run_id: int) -> str:
    """The version key of a run's page: replaced when the issue writer writes that run's problems (it
    records or resolves them, as the run or an approval in it does) or a later sync updates the words
    of one it first saw. Only those: a finished run's page stays cached while the next sync runs."""
    return f"run-page:version:{run_id}"
