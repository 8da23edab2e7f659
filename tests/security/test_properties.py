"""Properties of what reads outside input: the score CSV, the sync list CSV import, and the sync
engine's mapping of Canvas enrollments to portal people and roles (sync/engine/plan.py)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lms_canvas.models import CanvasConfig, StudentIdType
from lms_canvas.objects import Enrollment
from portal.models import ExamScore
from sync.engine.plan import CoursePlan, _map_enrollments
from sync.grades import scores
from sync.models import CatalogCourse, SyncListEntry
from sync.runs.reasons import REASONS
from sync.synclist import csv_io
from tests.sync.passback_helpers import STUDENTS, make_course, make_exam

STUDENT_IDS = [student_id for _, student_id, _, _ in STUDENTS]

DB_SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _line_count(data: bytes) -> int:
    return data.count(b"\n") + data.count(b"\r") + 1


# --- score CSV -----------------------------------------------------------------------------------


@pytest.fixture
def exam(institution_a):
    return make_exam(make_course(institution_a), points="10")


score_cells = st.one_of(
    st.sampled_from(["5", "10", "0", "-1", "11", "1.005", "NaN", "", " 7 ", "1e3", "\u0661"]), st.text(max_size=8)
)
score_files = st.one_of(
    st.binary(max_size=300),
    st.lists(
        st.tuples(st.sampled_from([*STUDENT_IDS, "S9999", "", " S0001", "s0001"]), score_cells), min_size=0, max_size=6
    ).map(
        lambda rows: (
            "Student ID,Score\n" + "\n".join(f'"{sid}","{cell.replace(chr(34), "")}"' for sid, cell in rows)
        ).encode()
    ),
)


@DB_SETTINGS
@given(data=score_files)
def test_score_errors_name_a_line_of_the_file_and_a_file_with_any_error_applies_nothing(exam, data):
    parsed = scores.read_scores_csv(data, exam)

    for line, message in parsed.errors:
        assert message
        assert line is None or 1 <= line <= _line_count(data)
    if parsed.errors:
        with pytest.raises(ValueError):
            scores.apply_scores(exam, parsed)
        assert not ExamScore.objects.filter(exam=exam).exists()
    else:
        scores.apply_scores(exam, parsed)
        saved = dict(ExamScore.objects.filter(exam=exam).values_list("exam_taker_id", "score"))
        assert saved == {row.exam_taker.id: row.score for row in parsed.rows}
        ExamScore.objects.filter(exam=exam).delete()


# --- sync list CSV import ------------------------------------------------------------------------


@pytest.fixture
def catalog(institution_a):
    CanvasConfig.objects.create(institution=institution_a)
    for canvas_id in (501, 502):
        CatalogCourse.objects.create(
            institution=institution_a,
            canvas_id=canvas_id,
            name=f"Course {canvas_id}",
            sis_course_id=f"SIS-{canvas_id}",
            workflow_state="available",
        )
    SyncListEntry.objects.create(institution=institution_a, course=CatalogCourse.objects.get(canvas_id=502))
    return institution_a


def _entries(institution) -> list[tuple]:
    return list(
        SyncListEntry.objects.filter(institution=institution)
        .order_by("id")
        .values_list("course_id", "section_id", "start_date", "end_date", "department_id")
    )


import_cells = st.one_of(
    st.sampled_from(["501", "502", "503", "SIS-501", "", "2026-01-01", "2025-01-01", "Law", "\u00b2", "-1"]),
    st.text(max_size=8),
)
import_texts = st.one_of(
    st.binary(max_size=300).map(lambda b: b.decode("utf-8", "replace")),
    st.text(max_size=300),
    st.lists(st.lists(import_cells, min_size=1, max_size=4), max_size=6).map(
        lambda rows: (
            "Canvas Course Id,Course ID,Start Date,End Date\n"
            + "\n".join(",".join(c.replace(",", "").replace('"', "") for c in row) for row in rows)
        )
    ),
)


@DB_SETTINGS
@given(text=import_texts, mode=st.sampled_from(list(csv_io.MODES)))
def test_the_import_never_raises_names_lines_and_applies_nothing_from_a_file_with_an_error(catalog, text, mode):
    config = CanvasConfig.objects.get(institution=catalog)
    before = _entries(catalog)

    plan = csv_io.plan_import(catalog, config, text, mode)

    for line, message in plan.errors:
        assert message
        assert 1 <= line <= text.count("\n") + text.count("\r") + 2
    assert _entries(catalog) == before  # planning (the preview) never writes
    if plan.errors:
        with pytest.raises(ValueError):
            csv_io.apply_import(catalog, plan)
        assert _entries(catalog) == before


# --- the mapping of Canvas enrollments ----------------------------------------------------------

STUDENT_ROLE, TEACHER_ROLE, OBSERVER_ROLE = 3, 4, 7
SECTION, OTHER_SECTION = 11, 12
ROLES = [
    {"id": STUDENT_ROLE, "label": "StudentEnrollment", "base_role_type": "StudentEnrollment"},
    {"id": TEACHER_ROLE, "label": "TeacherEnrollment", "base_role_type": "TeacherEnrollment"},
    {"id": OBSERVER_ROLE, "label": "ObserverEnrollment", "base_role_type": "ObserverEnrollment"},
]
id_values = st.one_of(
    st.none(),
    st.sampled_from(["", "  ", "A1", "a1", " A1 ", "A2", "x@EXAMPLE.edu", "X@example.edu", "\u00e9t\u00e9"]),
    st.text(max_size=6),
    st.integers(min_value=0, max_value=10**6),
)
users = st.builds(
    lambda uid, sis, integration, email, login, name: {
        "id": uid,
        "name": name,
        "sortable_name": "",
        "sis_user_id": sis,
        "integration_id": integration,
        "email": email,
        "login_id": login,
    },
    st.integers(min_value=1, max_value=12),
    id_values,
    id_values,
    id_values,
    id_values,
    st.text(max_size=10),
)
enrollment_fields = st.fixed_dictionaries(
    {
        "role_id": st.sampled_from([STUDENT_ROLE, TEACHER_ROLE, OBSERVER_ROLE, 99]),
        "type": st.sampled_from(["StudentEnrollment", "TeacherEnrollment", "StudentViewEnrollment"]),
        "enrollment_state": st.sampled_from(["active", "invited", "creation_pending", "inactive", "completed", "odd"]),
        "course_section_id": st.sampled_from([SECTION, SECTION, OTHER_SECTION]),
    }
)


@st.composite
def rosters(draw):
    """Enrollments of a course; a Canvas user is the same dict in each of their enrollments."""
    people = {u["id"]: u for u in draw(st.lists(users, min_size=1, max_size=8))}
    enrollments = []
    for uid in draw(st.lists(st.sampled_from(sorted(people)), max_size=14)):
        fields = draw(enrollment_fields)
        enrollments.append({"user_id": uid, "user": people[uid], **fields})
    return enrollments


def _map(enrollments: list[dict], id_type: str, sections: set[int]) -> CoursePlan:
    config = CanvasConfig(
        student_id_type=id_type,
        student_role_ids=[STUDENT_ROLE],
        course_admin_role_ids=[TEACHER_ROLE],
        available_roles=ROLES,
    )
    plan = CoursePlan(entry_id=1, canvas_course_id=501, canvas_section_id=None, label="Course 501")
    _map_enrollments(plan, config, map(Enrollment.from_json, enrollments), sections, False, None)
    return plan


def _normalized(value, id_type: str) -> str:
    text = str(value).strip() if value not in (None, "") else ""
    return text.lower() if id_type in (StudentIdType.EMAIL, StudentIdType.LOGIN) else text


@settings(max_examples=400, deadline=None)
@given(enrollments=rosters(), id_type=st.sampled_from([t.value for t in StudentIdType]), whole=st.booleans())
def test_every_enrollment_is_mapped_or_excluded_with_a_reason(enrollments, id_type, whole):
    sections = {SECTION, OTHER_SECTION} if whole else {SECTION}

    plan = _map(enrollments, id_type, sections)

    mapped = set(plan.exam_takers) | set(plan.course_admins)
    excluded = {x.canvas_id for x in plan.exclusions}
    for exclusion in plan.exclusions:
        assert exclusion.code in REASONS
    for enrollment in enrollments:
        if enrollment["course_section_id"] not in sections:
            continue  # another section's enrollment of a single-section entry: not this entry's
        assert enrollment["user_id"] in mapped | excluded, enrollment
    assert mapped <= {e["user_id"] for e in enrollments if e["course_section_id"] in sections}
    assert {uid for uid, _ in plan.student_enrollments} == set(plan.exam_takers)
    assert plan.admin_enrollments == set(plan.course_admins)


@settings(max_examples=400, deadline=None)
@given(enrollments=rosters(), id_type=st.sampled_from([t.value for t in StudentIdType]))
def test_the_chosen_id_is_used_verbatim_after_trimming(enrollments, id_type):
    plan = _map(enrollments, id_type, {SECTION, OTHER_SECTION})

    field = StudentIdType(id_type).canvas_field
    by_user = {e["user_id"]: e["user"] for e in enrollments}
    for person in [*plan.exam_takers.values(), *plan.course_admins.values()]:
        assert person.portal_id == str(by_user[person.lms_id][field]).strip()[:255]
        assert person.portal_id


@settings(max_examples=400, deadline=None)
@given(enrollments=rosters(), id_type=st.sampled_from([t.value for t in StudentIdType]))
def test_two_users_with_the_same_id_are_both_excluded(enrollments, id_type):
    plan = _map(enrollments, id_type, {SECTION, OTHER_SECTION})

    field = StudentIdType(id_type).canvas_field
    for kind, mapped in (("student", plan.exam_takers), ("admin", plan.course_admins)):
        role = STUDENT_ROLE if kind == "student" else TEACHER_ROLE
        owners: dict[str, set[int]] = {}
        for e in enrollments:
            active = e["enrollment_state"] == "active" and e["type"] != "StudentViewEnrollment"
            key = _normalized(e["user"][field], id_type)
            if active and e["role_id"] == role and key:
                owners.setdefault(key, set()).add(e["user_id"])
        for key, users_with_it in owners.items():
            if len(users_with_it) > 1:
                assert not users_with_it & set(mapped), (kind, key)
                duplicates = {x.canvas_id for x in plan.exclusions if x.code == "duplicate_person_id"}
                assert users_with_it <= duplicates
            else:
                assert users_with_it <= set(mapped), (kind, key)


def test_two_students_with_the_same_sis_id_are_both_excluded_example():
    enrollment = {"role_id": STUDENT_ROLE, "type": "StudentEnrollment", "enrollment_state": "active"}
    enrollments = [
        {**enrollment, "user_id": 1, "course_section_id": SECTION, "user": {"id": 1, "sis_user_id": "A1 "}},
        {**enrollment, "user_id": 2, "course_section_id": SECTION, "user": {"id": 2, "sis_user_id": "A1"}},
        {**enrollment, "user_id": 3, "course_section_id": SECTION, "user": {"id": 3, "sis_user_id": "A3"}},
    ]

    plan = _map(enrollments, StudentIdType.SIS, {SECTION})

    assert set(plan.exam_takers) == {3}
    assert {x.canvas_id for x in plan.exclusions if x.code == "duplicate_person_id"} == {1, 2}
