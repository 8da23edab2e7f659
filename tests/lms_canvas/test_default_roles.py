"""Configure's default roles and labels come from Canvas's roles as real Canvas reports them
(CANVAS_API.md §5.6): built-in roles carry a display label ("Teacher") unlike their name."""

from __future__ import annotations

from lms_canvas.connect import store_roles
from lms_canvas.forms import ConfigureForm
from lms_canvas.objects import Role


def canvas_role(rid: int, name: str, label: str, base: str, state: str = "built_in") -> Role:
    return Role.from_json({"id": rid, "role": name, "label": label, "base_role_type": base, "workflow_state": state})


def test_defaults_are_the_built_in_teacher_ta_and_student_whatever_their_labels(db, connected):
    # A French-language account: Canvas translates built-in labels, so no label is a key.
    roles = [
        canvas_role(3, "StudentEnrollment", "Étudiant", "StudentEnrollment"),
        canvas_role(4, "TeacherEnrollment", "Enseignant", "TeacherEnrollment"),
        canvas_role(5, "TaEnrollment", "Assistant", "TaEnrollment"),
        canvas_role(6, "DesignerEnrollment", "Concepteur", "DesignerEnrollment"),
        canvas_role(20, "Auditor", "Auditor", "StudentEnrollment", "active"),
    ]
    config = store_roles(connected, roles)
    config.course_admin_role_ids = config.student_role_ids = []
    config.apply_default_roles()
    assert sorted(config.course_admin_role_ids) == [4, 5]
    assert config.student_role_ids == [3]


def test_a_custom_role_labelled_like_a_built_in_one_is_not_a_default(db, connected):
    roles = [
        canvas_role(3, "StudentEnrollment", "Student", "StudentEnrollment"),
        canvas_role(4, "TeacherEnrollment", "Teacher", "TeacherEnrollment"),
        canvas_role(30, "Teacher", "Teacher", "StudentEnrollment", "active"),  # a custom role named Teacher
    ]
    config = store_roles(connected, roles)
    config.course_admin_role_ids = config.student_role_ids = []
    config.apply_default_roles()
    assert config.course_admin_role_ids == [4]
    assert config.student_role_ids == [3]


def test_configure_shows_canvas_labels_and_names_a_custom_roles_base_in_canvas_words(db, connected):
    roles = [
        canvas_role(3, "StudentEnrollment", "Étudiant", "StudentEnrollment"),
        canvas_role(4, "TeacherEnrollment", "Enseignant", "TeacherEnrollment"),
        canvas_role(20, "Auditor", "Auditor", "StudentEnrollment", "active"),
    ]
    form = ConfigureForm(config=store_roles(connected, roles))
    assert dict(form.role_choices) == {3: "Étudiant", 4: "Enseignant", 20: "Auditor (based on Étudiant)"}
