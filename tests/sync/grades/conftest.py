"""An exam of three scores on a synced course of the connected institution A (the post and check tests'
world; a module may override either fixture)."""

from __future__ import annotations

import pytest

from tests.sync.passback_helpers import make_course, make_exam


@pytest.fixture
def course(connected, institution_a):
    return make_course(institution_a)


@pytest.fixture
def exam(course):
    return make_exam(course, {"S0001": "92.5", "S0002": "64", "zmuller": "100"})
