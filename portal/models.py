"""The portal's own domain: institutions, their admins and departments, and what sync fills in."""

from __future__ import annotations

import uuid
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

TIMEZONE_CHOICES = [(tz, tz) for tz in sorted(zoneinfo.available_timezones())]


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"“{value}” is not a time zone name such as America/New_York.")


class Institution(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    nightly_sync_hour = models.PositiveSmallIntegerField(
        default=2, help_text="Local hour (0-23) at which the nightly sync starts."
    )
    notification_emails = models.TextField(
        blank=True, help_text="Extra addresses, one per line, told about failed or held syncs."
    )
    sync_hold_percent = models.PositiveSmallIntegerField(
        "Hold a course when its roster shrinks by more than (%)",
        default=50,
        help_text="The wipe guard: a sync that would deactivate more than this share of a course's "
        "exam-takers at once is held for an admin to approve instead of being applied.",
    )
    sync_hold_min_people = models.PositiveSmallIntegerField(
        "…for courses of at least (people)",
        default=10,
        help_text="Smaller courses are held only when a sync would empty them.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(nightly_sync_hour__gte=0, nightly_sync_hour__lte=23),
                name="institution_sync_hour_0_23",
            ),
            models.CheckConstraint(condition=Q(sync_hold_percent__lte=100), name="institution_hold_percent_0_100"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def admin_emails(self) -> list[str]:
        """Everyone to tell about this institution's failures: its admins and the listed extras."""
        emails = [m.user.email for m in self.admins.select_related("user") if m.user.email]
        extras = [line.strip() for line in self.notification_emails.splitlines() if line.strip()]
        return sorted(set(emails + extras))


class InstitutionAdmin(models.Model):
    """A user who administers exactly one institution."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="institution_membership"
    )
    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="admins")

    def __str__(self) -> str:
        return f"{self.user} @ {self.institution}"


class Department(models.Model):
    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="departments")
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["institution", "name"], name="department_name_per_institution")]

    def __str__(self) -> str:
        return self.name


class Course(models.Model):
    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="courses")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="courses")
    course_id = models.CharField("Course ID", max_length=255)
    name = models.CharField(max_length=255)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    lms_id = models.BigIntegerField("LMS id", null=True, blank=True)
    lms_url = models.URLField("LMS link", max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["course_id"]
        constraints = [
            models.UniqueConstraint(fields=["institution", "course_id"], name="course_id_per_institution"),
            models.UniqueConstraint(
                fields=["institution", "lms_id"],
                condition=Q(lms_id__isnull=False),
                name="course_lms_id_per_institution",
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True)
                | Q(start_date__isnull=True)
                | Q(end_date__gte=models.F("start_date")),
                name="course_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.course_id} {self.name}"


class Section(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="sections")
    section_id = models.CharField("Section ID", max_length=255)
    name = models.CharField(max_length=255)
    lms_id = models.BigIntegerField("LMS id", null=True, blank=True)

    class Meta:
        ordering = ["section_id"]
        constraints = [
            models.UniqueConstraint(fields=["course", "section_id"], name="section_id_per_course"),
            models.UniqueConstraint(
                fields=["course", "lms_id"], condition=Q(lms_id__isnull=False), name="section_lms_id_per_course"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.section_id} {self.name}"


class Person(models.Model):
    """What exam-takers and course admins share: a portal id unique in the institution."""

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="%(class)ss")
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    email = models.EmailField(blank=True)
    lms_id = models.BigIntegerField("LMS id", null=True, blank=True)
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ["last_name", "first_name"]

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class ExamTaker(Person):
    student_id = models.CharField("Student ID", max_length=255)

    class Meta(Person.Meta):
        constraints = [
            models.UniqueConstraint(fields=["institution", "student_id"], name="student_id_per_institution"),
            models.UniqueConstraint(
                fields=["institution", "lms_id"],
                condition=Q(lms_id__isnull=False),
                name="exam_taker_lms_id_per_institution",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.student_id} {self.full_name}"


class CourseAdmin(Person):
    """Faculty: a person who administers courses in the portal."""

    admin_id = models.CharField("Course admin ID", max_length=255)

    class Meta(Person.Meta):
        constraints = [
            models.UniqueConstraint(fields=["institution", "admin_id"], name="course_admin_id_per_institution"),
            models.UniqueConstraint(
                fields=["institution", "lms_id"],
                condition=Q(lms_id__isnull=False),
                name="course_admin_lms_id_per_institution",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.admin_id} {self.full_name}"


class EnrollmentStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive (removed in the LMS)"


class Enrollment(models.Model):
    """An exam-taker in a course, and in one of its sections when the LMS says which."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="enrollments")
    section = models.ForeignKey(Section, on_delete=models.CASCADE, null=True, blank=True, related_name="enrollments")
    exam_taker = models.ForeignKey(ExamTaker, on_delete=models.CASCADE, related_name="enrollments")
    status = models.CharField(max_length=10, choices=EnrollmentStatus.choices, default=EnrollmentStatus.ACTIVE)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["course", "exam_taker"], condition=Q(section__isnull=True), name="enrollment_once_per_course"
            ),
            models.UniqueConstraint(
                fields=["course", "section", "exam_taker"],
                condition=Q(section__isnull=False),
                name="enrollment_once_per_section",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.exam_taker} in {self.course}"


class CourseAdminEnrollment(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="admin_enrollments")
    course_admin = models.ForeignKey(CourseAdmin, on_delete=models.CASCADE, related_name="enrollments")
    status = models.CharField(max_length=10, choices=EnrollmentStatus.choices, default=EnrollmentStatus.ACTIVE)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["course", "course_admin"], name="course_admin_once_per_course")]

    def __str__(self) -> str:
        return f"{self.course_admin} administers {self.course}"


def new_exam_integration_id() -> str:
    return f"lms-sync-portal-exam-{uuid.uuid4().hex}"


class Exam(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="exams")
    title = models.CharField(max_length=255)
    points_possible = models.DecimalField(max_digits=7, decimal_places=2)
    integration_id = models.CharField(
        "Reference ID in the LMS",
        max_length=100,
        unique=True,
        default=new_exam_integration_id,
        editable=False,
        help_text="Sent as the LMS assignment's integration id, so a retry finds the assignment it made.",
    )
    lms_assignment_id = models.BigIntegerField("LMS assignment id", null=True, blank=True)
    lms_assignment_url = models.URLField("LMS assignment link", max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["course", "title"]
        constraints = [
            models.CheckConstraint(condition=Q(points_possible__gt=0), name="exam_points_positive"),
        ]

    def __str__(self) -> str:
        return self.title


class PostStatus(models.TextChoices):
    NOT_POSTED = "not_posted", "Not posted yet"
    POSTED = "posted", "Posted"
    CONFLICT = "conflict", "Changed in Canvas: left alone"
    FAILED = "failed", "Not posted: failed"


class ExamScore(models.Model):
    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="scores")
    exam_taker = models.ForeignKey(ExamTaker, on_delete=models.CASCADE, related_name="scores")
    score = models.DecimalField(max_digits=7, decimal_places=2)
    posted_score = models.DecimalField(
        max_digits=7, decimal_places=2, null=True, blank=True, help_text="The score last posted to the LMS."
    )
    posted_at = models.DateTimeField(null=True, blank=True)
    lms_grade_seen = models.CharField(
        "LMS grade after our post",
        max_length=100,
        blank=True,
        help_text="The grade the LMS showed right after our last post; a different grade later means "
        "someone changed it there.",
    )
    post_status = models.CharField(max_length=20, choices=PostStatus.choices, default=PostStatus.NOT_POSTED)
    post_message = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["exam", "exam_taker"], name="one_score_per_exam_taker"),
            models.CheckConstraint(condition=Q(score__gte=0), name="exam_score_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.exam_taker}: {self.score}"

    @property
    def needs_posting(self) -> bool:
        return self.post_status != PostStatus.POSTED or self.posted_score != self.score


class ServiceHeartbeat(models.Model):
    """When a background service (beat) last showed it was alive; /readyz reads it."""

    name = models.CharField(max_length=40, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} seen at {self.seen_at:%Y-%m-%d %H:%M:%S}"
