from __future__ import annotations

from lms_canvas.models import CanvasConfig


def test_connected_institution_reads_canvas_and_has_default_roles(connected):
    config = CanvasConfig.objects.get(institution=connected.institution)
    labels = {config.role_label(r) for r in config.course_admin_role_ids}
    assert labels == {"TeacherEnrollment", "TaEnrollment"}
    assert [config.role_label(r) for r in config.student_role_ids] == ["StudentEnrollment"]
    assert connected.root_account_id == 1
