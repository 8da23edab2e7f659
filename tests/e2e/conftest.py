"""The browser tests' shared fixtures."""

from __future__ import annotations

import pytest

from tests.e2e.widths import WIDTHS


@pytest.fixture(params=list(WIDTHS))
def width(request, page) -> str:
    """Each test that asks for it runs at a laptop's and at a phone's width ("desktop", "phone")."""
    page.set_viewport_size({"width": WIDTHS[request.param], "height": 800})
    return request.param
