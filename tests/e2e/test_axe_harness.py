"""The accessibility check itself: axe, run as assert_accessible runs it, still reports every element of a
serious or critical violation, so a page that breaks a rule fails the browser tests."""

from __future__ import annotations

import pytest

from tests.e2e.axe import assert_accessible, axe_violations

pytestmark = pytest.mark.e2e

BROKEN = """<!doctype html><html lang="en"><head><title>Broken</title></head><body><main><h1>Broken</h1>
<img src="/static/a.png"><img src="/static/b.png"><button></button></main></body></html>"""


def test_it_reports_each_element_of_a_violation_and_fails_the_page(page):
    page.set_content(BROKEN)
    by_rule = {v["id"]: v for v in axe_violations(page)}

    assert by_rule["image-alt"]["impact"] == "critical"
    assert [n["target"] for n in by_rule["image-alt"]["nodes"]] == [
        ['img[src="/static/a.png"]'],
        ['img[src="/static/b.png"]'],
    ]
    assert by_rule["button-name"]["impact"] == "critical"
    with pytest.raises(AssertionError, match="image-alt"):
        assert_accessible(page, "a broken page")
