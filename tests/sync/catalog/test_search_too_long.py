"""A search longer than Select Courses runs is refused with a message, never run as an empty one."""

from __future__ import annotations

import pytest
from django.urls import reverse

from lms_canvas.models import CanvasConfig
from portal.search import MAX_QUERY
from tests.sync.catalog_helpers import make_catalog, text

TOO_LONG = "LAW" * 1700  # 5,100 characters


@pytest.fixture
def catalog_a(institution_a):
    CanvasConfig.objects.create(institution=institution_a)
    return make_catalog(institution_a)


@pytest.mark.parametrize("url", ["sync-course-search", "sync-settings"])
def test_a_search_too_long_is_refused_and_says_so(client_a, catalog_a, url):
    body = text(client_a.get(reverse(url), {"q": TOO_LONG}))

    assert f"A search can be at most {MAX_QUERY} characters; this one has 5100. Shorten it and search again." in body
    assert "Contracts I" not in body  # not the whole catalogue instead
    assert 'data-testid="result-count"' not in body


def test_a_search_of_the_longest_length_runs(client_a, catalog_a):
    body = text(client_a.get(reverse("sync-course-search"), {"q": "x" * MAX_QUERY}))

    assert "No course matches" in body
    assert "at most" not in body


def test_a_bad_page_number_shows_the_first_page(client_a, catalog_a):
    body = text(client_a.get(reverse("sync-course-search"), {"q": "LAW", "page": "abc"}))

    assert "2 courses matching “LAW”" in body
