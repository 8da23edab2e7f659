"""Portal rows for grade passback tests: course 501 of `small_dataset()` with three of its students."""

from __future__ import annotations

from decimal import Decimal

from portal.models import Course, Department, Enrollment, Exam, ExamScore, ExamTaker, Institution

# (Canvas user id, portal Student ID, first, last) of course 501's active students in small_dataset().
STUDENTS = [(101, "S0001", "Ada", "Lovelace"), (102, "S0002", "Seán", "O'Brien"), (103, "zmuller", "Zoë", "Müller")]


def make_course(institution: Institution, lms_id: int = 501, course_id: str = "LAW-101-F26") -> Course:
    department = Department.objects.filter(institution=institution).first()
    course = Course.objects.create(
        institution=institution, department=department, course_id=course_id, name="Contracts I", lms_id=lms_id
    )
    for lms_user, student_id, first, last in STUDENTS:
        taker, _ = ExamTaker.objects.get_or_create(
            institution=institution,
            student_id=student_id,
            defaults={"lms_id": lms_user, "first_name": first, "last_name": last},
        )
        Enrollment.objects.create(course=course, exam_taker=taker)
    return course


def make_exam(course: Course, scores: dict[str, str] | None = None, points: str = "100") -> Exam:
    exam = Exam.objects.create(course=course, title="Midterm", points_possible=Decimal(points))
    for student_id, score in (scores or {}).items():
        taker = ExamTaker.objects.get(institution=course.institution, student_id=student_id)
        ExamScore.objects.create(exam=exam, exam_taker=taker, score=Decimal(score))
    return exam
