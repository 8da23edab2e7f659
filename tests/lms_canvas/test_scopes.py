from __future__ import annotations

import re
from pathlib import Path

import pytest

from lms_canvas.scopes import REQUIRED_SCOPES, SCOPE_GROUPS, scope_for

SEED = Path("/work/shared/seeds/canvas-developer-key-setup.txt")


def _seed_groups() -> list[list[str]]:
    """The seed's step 8 bullets, split into groups at blank-line gaps."""
    text = SEED.read_text()
    step = text[text.index("8. Enable the following endpoints") : text.index("9. Select")]
    groups: list[list[str]] = []
    previous_was_scope = False
    for line in step.splitlines():
        found = re.search(r"(url:\S+)", line)
        if found and not previous_was_scope:
            groups.append([])
        if found:
            groups[-1].append(found.group(1))
        previous_was_scope = bool(found)
    return groups


@pytest.mark.skipif(not SEED.exists(), reason="the shared seed is not mounted")
def test_required_scopes_are_exactly_the_seeds_in_its_order_and_groups():
    assert [list(scopes) for _, scopes in SCOPE_GROUPS] == _seed_groups()
    assert list(REQUIRED_SCOPES) == [scope for group in _seed_groups() for scope in group]


def test_there_are_seventeen_distinct_scopes_and_every_group_has_a_label():
    assert len(REQUIRED_SCOPES) == len(set(REQUIRED_SCOPES)) == 17
    assert all(label for label, _ in SCOPE_GROUPS)


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("GET", "/api/v1/accounts", "url:GET|/api/v1/accounts"),
        ("GET", "/api/v1/accounts/self", "url:GET|/api/v1/accounts/:id"),
        ("GET", "/api/v1/accounts/1/courses", "url:GET|/api/v1/accounts/:account_id/courses"),
        (
            "GET",
            "/api/v1/accounts/self/courses/sis_course_id:LAW-101",
            "url:GET|/api/v1/accounts/:account_id/courses/:id",
        ),
        ("GET", "/api/v1/courses/sis_course_id:X/sections", "url:GET|/api/v1/courses/:course_id/sections"),
        ("GET", "/api/v1/courses/7/sections/sis_section_id:A%2F1", "url:GET|/api/v1/courses/:course_id/sections/:id"),
        ("GET", "/api/v1/sections/801", "url:GET|/api/v1/sections/:id"),
        ("POST", "/api/v1/courses/5/assignments", "url:POST|/api/v1/courses/:course_id/assignments"),
        (
            "PUT",
            "/api/v1/courses/5/assignments/9/submissions/101",
            "url:PUT|/api/v1/courses/:course_id/assignments/:assignment_id/submissions/:user_id",
        ),
    ],
)
def test_scope_for_maps_concrete_paths_to_their_scope(method, path, scope):
    assert scope_for(method, path) == scope


def test_head_is_checked_as_get():
    assert scope_for("HEAD", "/api/v1/accounts/self") == "url:GET|/api/v1/accounts/:id"


def test_method_must_match():
    assert scope_for("POST", "/api/v1/accounts") is None
    assert scope_for("DELETE", "/api/v1/courses/5/assignments") is None


def test_the_whole_path_must_match_not_a_prefix_or_suffix():
    assert scope_for("GET", "/api/v1/accounts/1/sub_accounts") is None
    assert scope_for("GET", "/api/v1/courses/5") is None
    assert scope_for("GET", "/prefix/api/v1/accounts") is None


def test_a_parameter_matches_exactly_one_segment():
    assert scope_for("GET", "/api/v1/sections/1/2") is None
    assert scope_for("GET", "/api/v1/sections/") is None


def test_query_string_and_format_suffix_are_ignored():
    assert scope_for("GET", "/api/v1/accounts?per_page=100") == "url:GET|/api/v1/accounts"
    assert scope_for("GET", "/api/v1/accounts.json") == "url:GET|/api/v1/accounts"
