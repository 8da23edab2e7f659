"""The developer key scopes the portal needs: the one list, in the setup guide's order and groups."""

from __future__ import annotations

import re
from functools import cache
from urllib.parse import urlsplit

# Seed: canvas-developer-key-setup.txt, "Setup Canvas" step 8. The labels are the categories Canvas
# shows on the developer key's scope list, so an admin finds each group where the guide says.
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

REQUIRED_SCOPES: tuple[str, ...] = tuple(scope for _, scopes in SCOPE_GROUPS for scope in scopes)


def scope_for(method: str, path: str) -> str | None:
    """The required scope that authorizes `method path`, matched the way Canvas matches it.

    Canvas turns each scope's route into a regex (`:param` is one path segment, an optional
    `.format` suffix) that must match the whole request path; HEAD is checked as GET.
    None means no scope in our list covers the request.
    """
    verb = "GET" if method.upper() == "HEAD" else method.upper()
    request_path = urlsplit(path).path
    for scope_verb, pattern, scope in _compiled_scopes():
        if scope_verb == verb and pattern.fullmatch(request_path):
            return scope
    return None


@cache
def _compiled_scopes() -> tuple[tuple[str, re.Pattern[str], str], ...]:
    compiled = []
    for scope in REQUIRED_SCOPES:
        verb, route = scope.removeprefix("url:").split("|", 1)
        regex = re.sub(r":\w+", "[^/]+", re.escape(route))
        compiled.append((verb, re.compile(regex + r"(?:\.[^/.]+)?"), scope))
    return tuple(compiled)
