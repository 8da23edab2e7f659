from __future__ import annotations

from lms_canvas.models import CanvasConfig


def test_connected_institution_reads_canvas_and_has_default_roles(connected):
    config = CanvasConfig.objects.get(institution=connected.institution)
    labels = {config.role_label(r) for r in config.course_admin_role_ids}
    assert labels == {"Teacher", "TA"}  # Canvas's labels (CANVAS_API.md §5.6), chosen by base role type
    assert [config.role_label(r) for r in config.student_role_ids] == ["Student"]
    assert connected.root_account_id == 1
