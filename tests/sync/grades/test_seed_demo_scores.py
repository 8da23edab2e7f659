"""seed_demo_scores: an exam with scores per synced course with exam-takers, idempotent."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from portal.models import Course, Exam, ExamScore, Institution
from tests.sync.passback_helpers import make_course


@pytest.fixture
def demo(db, settings):
    settings.DEBUG = True
    return Institution.objects.create(name="Demo University", slug="demo")


def test_each_synced_course_with_exam_takers_gets_an_exam_with_scores(demo):
    demo.departments.create(name="Law")
    course = make_course(demo)
    Course.objects.create(institution=demo, department=course.department, course_id="EMPTY", name="E", lms_id=9)

    call_command("seed_demo_scores")

    exam = Exam.objects.get()
    assert (exam.course, exam.title, exam.points_possible) == (course, "Demo midterm", Decimal("100"))
    assert ExamScore.objects.filter(exam=exam).count() == 3
    assert all(Decimal("55") <= s.score <= Decimal("100") for s in ExamScore.objects.all())


def test_running_it_again_changes_nothing(demo):
    demo.departments.create(name="Law")
    make_course(demo)
    call_command("seed_demo_scores")
    ExamScore.objects.filter(exam_taker__student_id="S0001").update(score=Decimal("1"))
    before = list(ExamScore.objects.order_by("id").values_list("id", "score"))

    call_command("seed_demo_scores")

    assert Exam.objects.count() == 1
    assert list(ExamScore.objects.order_by("id").values_list("id", "score")) == before


def test_it_explains_that_courses_must_be_synced_first(demo):
    with pytest.raises(CommandError, match="no courses synced from Canvas yet"):
        call_command("seed_demo_scores")


def test_it_runs_only_with_debug_on(demo, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="runs only with DEBUG on"):
        call_command("seed_demo_scores")
