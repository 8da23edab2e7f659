"""`manage.py seed_demo_scores [--institution demo]`: an exam with scores on each synced course, for the demo.

Run it after the demo's first sync (exams need courses synced from Canvas). Idempotent: an existing
demo exam and its scores are left as they are; exam-takers added by a later sync get a score.
"""

from __future__ import annotations

import zlib
from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from portal.models import Course, Enrollment, EnrollmentStatus, Exam, ExamScore, Institution

DEMO_EXAM_TITLE = "Demo midterm"
DEMO_POINTS = Decimal("100")


def demo_score(student_id: str) -> Decimal:
    """A stable, plausible score per exam-taker (55-100), so reruns write the same numbers."""
    return Decimal(110 + zlib.crc32(student_id.encode()) % 91) / 2


def seed_scores(institution: Institution) -> tuple[int, int]:
    """(exams created, scores created) for every synced course of `institution` that has exam-takers."""
    exams_created = scores_created = 0
    for course in Course.objects.filter(institution=institution, lms_id__isnull=False).order_by("course_id"):
        takers = {
            e.exam_taker_id: e.exam_taker
            for e in Enrollment.objects.filter(course=course, status=EnrollmentStatus.ACTIVE).select_related(
                "exam_taker"
            )
        }
        if not takers:
            continue
        exam, created = Exam.objects.get_or_create(
            course=course, title=DEMO_EXAM_TITLE, defaults={"points_possible": DEMO_POINTS}
        )
        exams_created += created
        scored = set(ExamScore.objects.filter(exam=exam).values_list("exam_taker_id", flat=True))
        new = [
            ExamScore(exam=exam, exam_taker=taker, score=min(demo_score(taker.student_id), exam.points_possible))
            for taker_id, taker in takers.items()
            if taker_id not in scored
        ]
        ExamScore.objects.bulk_create(new)
        scores_created += len(new)
    return exams_created, scores_created


class Command(BaseCommand):
    help = "Give each synced course of the demo institution an exam with scores, ready to post to Canvas."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--institution", default="demo", help="the institution's slug (default: demo)")

    def handle(self, *args, institution: str, **options) -> str:
        if not settings.DEBUG:
            raise CommandError("seed_demo_scores writes made-up scores; it runs only with DEBUG on.")
        inst = Institution.objects.filter(slug=institution).first()
        if inst is None:
            raise CommandError(f"No institution with slug “{institution}”. Run seed_demo first.")
        with transaction.atomic():
            exams, scores = seed_scores(inst)
        if not Course.objects.filter(institution=inst, lms_id__isnull=False).exists():
            raise CommandError(
                "The institution has no courses synced from Canvas yet. Connect Canvas, choose courses and "
                "Sync Now (or run canvas_sync), then run seed_demo_scores again."
            )
        self.stdout.write(f"{exams} exam(s) and {scores} score(s) created. Open Exams on the dashboard to post them.")
        return "Done."
