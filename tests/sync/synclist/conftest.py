"""The sync list tests' shared state: institution A's catalogue and Canvas configuration."""

from __future__ import annotations

import pytest

from lms_canvas.models import CanvasConfig
from tests.sync.catalog_helpers import make_catalog


@pytest.fixture
def config(institution_a):
    make_catalog(institution_a)
    return CanvasConfig.objects.create(institution=institution_a)
