"""The endpoint scopes the vendor guide enables, grouped the way its step 8 groups them."""

from __future__ import annotations

import re
from functools import lru_cache

SCOPE_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "Accounts",
        (
            "url:GET|/api/v1/accounts",
            "url:GET|/api/v1/course_accounts",
            "url:GET|/api/v1/accounts/:id",
            "url:GET|/api/v1/accounts/:account_id/help_links",
            "url:GET|/api/v1/accounts/:account_id/courses",
        ),
    ),
    (
        "Assignments",
        (
            "url:GET|/api/v1/courses/:course_id/assignments",
            "url:POST|/api/v1/courses/:course_id/assignments",
        ),
    ),
    (
        "Courses",
        (
            "url:GET|/api/v1/accounts/:account_id/courses/:id",
            "url:GET|/api/v1/courses/:course_id/users",
        ),
    ),
    ("Enrollments", ("url:GET|/api/v1/courses/:course_id/enrollments",)),
    ("Live Assessments", ("url:GET|/api/v1/courses/:course_id/live_assessments/:assessment_id/results",)),
    ("Roles", ("url:GET|/api/v1/accounts/:account_id/roles",)),
    (
        "Sections",
        (
            "url:GET|/api/v1/courses/:course_id/sections",
            "url:GET|/api/v1/courses/:course_id/sections/:id",
            "url:GET|/api/v1/sections/:id",
        ),
    ),
    (
        "Submissions",
        (
            "url:GET|/api/v1/courses/:course_id/assignments/:assignment_id/submissions/:user_id",
            "url:PUT|/api/v1/courses/:course_id/assignments/:assignment_id/submissions/:user_id",
        ),
    ),
)
SEED_SCOPES: tuple[str, ...] = tuple(scope for _, scopes in SCOPE_GROUPS for scope in scopes)

# Endpoints the simulator also serves (canvasapi calls them) but the guide does not enable;
# a key only gets them when they are ticked or set through /_sim/keys.
EXTRA_SCOPE_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Accounts", ("url:GET|/api/v1/accounts/:account_id/permissions",)),
    ("Assignments", ("url:GET|/api/v1/courses/:course_id/assignments/:id",)),
    ("Courses", ("url:GET|/api/v1/courses/:id", "url:GET|/api/v1/courses/:course_id/search_users")),
)
ALL_SCOPES: tuple[str, ...] = SEED_SCOPES + tuple(s for _, scopes in EXTRA_SCOPE_GROUPS for s in scopes)


@lru_cache(maxsize=4096)
def scope_pattern(scope: str) -> tuple[str, re.Pattern[str]] | None:
    """Canvas turns `url:VERB|/path/:param` into a regex that must match the whole path."""
    if not scope.startswith("url:") or "|" not in scope:
        return None
    verb, _, path = scope[4:].partition("|")
    pattern = re.escape(path)
    pattern = re.sub(r"\\\((.*?)\\\)", r"(?:\1)?", pattern)
    pattern = re.sub(r":\w+", "[^/]+", pattern)
    pattern = re.sub(r"\\\*\w+", ".+", pattern)
    return verb.upper(), re.compile(rf"^{pattern}(?:\.[^/]+)?$")


def scope_allows(scopes: list[str], method: str, path: str) -> bool:
    method = "GET" if method == "HEAD" else method
    for scope in scopes:
        parsed = scope_pattern(scope)
        if parsed and parsed[0] == method and parsed[1].match(path):
            return True
    return False
