"""Refresh never stops early: Canvas decides the page size (older Canvas caps it at 50), not us."""

from __future__ import annotations

import pytest

from lms_canvas.models import CanvasConfig
from sync.catalog import refresh
from sync.models import CatalogCourse, RunKind, RunStatus
from sync.runs import lifecycle
from tests.conftest import connect_to


@pytest.mark.parametrize("max_per_page", [50, 7])
def test_a_canvas_with_smaller_pages_still_gives_every_course(institution_a, make_sim, max_per_page):
    big = make_sim(generate=130)
    big.store.settings["max_per_page"] = max_per_page
    connect_to(institution_a, big)
    CanvasConfig.objects.get_or_create(institution=institution_a)

    run = refresh.run_refresh(lifecycle.create_run(institution_a, RunKind.REFRESH).id)

    assert run.status in (RunStatus.SUCCEEDED, RunStatus.WITH_ISSUES), run.message
    assert CatalogCourse.objects.filter(institution=institution_a).count() == len(big.store.tables["courses"])
