"""Select Courses while Canvas hides SIS ids from the portal (issue 16 item 4): a course or section with
no SIS ID in the catalogue is not said to have none in Canvas (it may be hidden), and the admin is sent
to LMS Settings, not to fill a field that may be filled."""

from __future__ import annotations

import pytest
from django.urls import reverse

from lms_canvas import visibility
from lms_canvas.models import CanvasConfig, CanvasConnection
from sync.catalog.search import course_reason, section_reason
from sync.models import CatalogCourse, CatalogSection
from tests.sync.catalog_helpers import make_catalog, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog_a(institution_a):
    CanvasConfig.objects.create(institution=institution_a)
    return make_catalog(institution_a)


def hide(institution, hidden: bool = True) -> None:
    CanvasConnection.objects.update_or_create(
        institution=institution,
        defaults={"capabilities": {visibility.SIS: visibility.sis_capability(not hidden)}},
    )


def test_a_blank_sis_id_reads_as_hidden_while_canvas_hides_them(institution_a, catalog_a):
    hide(institution_a)
    config = CanvasConfig.objects.get(institution=institution_a)

    course = course_reason(CatalogCourse.objects.get(canvas_id=502), config)
    section = section_reason(CatalogSection.objects.get(canvas_id=802), config)

    assert course is not None and course.code == "sis_hidden" and "LMS Settings" in course.text
    assert section is not None and section.code == "sis_hidden"
    assert course_reason(CatalogCourse.objects.get(canvas_id=501), config) is None  # its kept SIS id


def test_a_blank_sis_id_is_blank_when_canvas_shows_them(institution_a, catalog_a):
    hide(institution_a, hidden=False)
    config = CanvasConfig.objects.get(institution=institution_a)

    reason = course_reason(CatalogCourse.objects.get(canvas_id=502), config)

    assert reason is not None and reason.code == "no_course_id"


def test_select_courses_says_so(client_a, institution_a, catalog_a):
    hide(institution_a)

    body = text(client_a.get(reverse("sync-settings")))

    assert "Canvas hides SIS IDs from the user who authorized the portal" in body
    assert "No SIS ID in Canvas" not in body
