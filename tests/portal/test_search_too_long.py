"""Issue 15 item 9: a search too long to run says so, on the department page and on Why isn't this
synced? too (Select Courses, View History and Open problems: their own tests). It was searched as it
was (the department) or cut to its first 255 characters without a word (Why)."""

from __future__ import annotations

import html

import pytest
from django.urls import reverse

from portal.models import Course
from portal.search import MAX_QUERY

pytestmark = pytest.mark.django_db
TOO_LONG = "x" * 5000
SAYS = f"A search can be at most {MAX_QUERY} characters; this one has 5000. Shorten it and search again."


@pytest.fixture
def course_a(institution_a) -> Course:
    return Course.objects.create(
        institution=institution_a, department=institution_a.departments.get(), course_id="LAW-101", name="Contracts"
    )


def text(r) -> str:
    return html.unescape(r.content.decode())


def test_a_department_search_too_long_says_so_and_lists_nothing(client_a, course_a):
    body = text(client_a.get(reverse("department", args=[course_a.department_id]), {"q": TOO_LONG}))
    assert SAYS in body
    assert "No course in this department matches" not in body and "LAW-101" not in body


def test_a_why_search_too_long_says_so_and_answers_nothing(client_a, course_a):
    body = text(client_a.get(reverse("sync-why"), {"q": TOO_LONG}))
    assert SAYS in body and "Nothing found" not in body


@pytest.mark.parametrize("name", ["sync-why", "department"])
def test_the_longest_search_still_runs(client_a, course_a, name):
    args = [course_a.department_id] if name == "department" else []
    body = text(client_a.get(reverse(name, args=args), {"q": "x" * MAX_QUERY}))
    assert "A search can be at most" not in body
