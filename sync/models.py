"""What Refresh saw (the catalogue), what the admin chose (the sync list), and every run with its issues."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from portal.models import Department, Institution


class CatalogCourse(models.Model):
    """A Canvas course as the last refresh saw it. Never deleted when it vanishes from Canvas: marked gone."""

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="catalog_courses")
    canvas_id = models.BigIntegerField("Canvas id")
    name = models.CharField(max_length=255)
    course_code = models.CharField(max_length=255, blank=True)
    sis_course_id = models.CharField("SIS ID", max_length=255, blank=True)
    integration_id = models.CharField("Reference ID", max_length=255, blank=True)
    workflow_state = models.CharField(max_length=20, blank=True)
    account_id = models.BigIntegerField(null=True, blank=True)
    term_name = models.CharField(max_length=255, blank=True)
    start_at = models.DateTimeField(null=True, blank=True)
    end_at = models.DateTimeField(null=True, blank=True)
    term_start_at = models.DateTimeField(null=True, blank=True)
    term_end_at = models.DateTimeField(null=True, blank=True)
    total_students = models.IntegerField(null=True, blank=True)
    refreshed_at = models.DateTimeField(default=timezone.now)
    gone_at = models.DateTimeField(null=True, blank=True, help_text="When a refresh no longer found it in Canvas.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["institution", "canvas_id"], name="catalog_course_once"),
        ]
        indexes = [
            models.Index(fields=["institution", "sis_course_id"], name="catalog_course_sis"),
            models.Index(fields=["institution", "integration_id"], name="catalog_course_integration"),
            models.Index(fields=["institution", "name"], name="catalog_course_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.canvas_id})"


class CatalogSection(models.Model):
    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="catalog_sections")
    course = models.ForeignKey(CatalogCourse, on_delete=models.CASCADE, related_name="sections")
    canvas_id = models.BigIntegerField("Canvas id")
    name = models.CharField(max_length=255)
    sis_section_id = models.CharField("SIS ID", max_length=255, blank=True)
    integration_id = models.CharField("Reference ID", max_length=255, blank=True)
    nonxlist_course_id = models.BigIntegerField(
        null=True, blank=True, help_text="Original course of a cross-listed section."
    )
    refreshed_at = models.DateTimeField(default=timezone.now)
    gone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["institution", "canvas_id"], name="catalog_section_once"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.canvas_id})"


class CatalogAccount(models.Model):
    """A Canvas (sub-)account's name as a full refresh last read it, so Select Courses' Sub-account
    filter shows "School of Law" instead of the number courses carry (CatalogCourse.account_id)."""

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="catalog_accounts")
    canvas_id = models.BigIntegerField("Canvas id")
    name = models.CharField(max_length=255)
    refreshed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["institution", "canvas_id"], name="catalog_account_once"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.canvas_id})"


class SyncListEntry(models.Model):
    """A course (all its sections) or one section chosen for sync, with its dates and department."""

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="sync_entries")
    course = models.ForeignKey(CatalogCourse, on_delete=models.PROTECT, related_name="sync_entries")
    section = models.ForeignKey(
        CatalogSection, on_delete=models.PROTECT, null=True, blank=True, related_name="sync_entries"
    )
    department = models.ForeignKey(Department, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["course__name", "section__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "course"], condition=Q(section__isnull=True), name="sync_entry_course_once"
            ),
            models.UniqueConstraint(
                fields=["institution", "section"], condition=Q(section__isnull=False), name="sync_entry_section_once"
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True)
                | Q(start_date__isnull=True)
                | Q(end_date__gte=models.F("start_date")),
                name="sync_entry_end_after_start",
            ),
        ]
        verbose_name_plural = "sync list entries"

    def __str__(self) -> str:
        return f"{self.course}{' / ' + str(self.section) if self.section_id else ''}"

    @property
    def label(self) -> str:
        """What the admin reads for the entry: the course's name, and the section's after " / "."""
        return self.label_for(self.course, self.section if self.section_id else None)

    @staticmethod
    def label_for(course: CatalogCourse, section: CatalogSection | None) -> str:
        """The label of an entry for `course` (and `section`), before the entry exists."""
        return course.name + (f" / {section.name}" if section is not None else "")

    def is_current(self, today: dt.date | None = None) -> bool:
        """Only entries whose end date has not passed are synced."""
        return self.end_date is None or self.end_date >= (today or timezone.localdate())


class RunKind(models.TextChoices):
    REFRESH = "refresh", "Refresh courses"
    COURSE_REFRESH = "course_refresh", "Course refresh"
    SYNC = "sync", "Sync"
    GRADE_POST = "grade_post", "Grade post"


class RunTrigger(models.TextChoices):
    ADMIN = "admin", "Admin"
    NIGHTLY = "nightly", "Nightly"
    SUPPORT = "support", "Support"
    LIVE_EVENT = "live_event", "Live event"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    WITH_ISSUES = "with_issues", "Finished with issues"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    SKIPPED = "skipped", "Skipped"


ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)
COUNT_NAMES = ("created", "updated", "deactivated", "unchanged", "skipped", "held")


def empty_counts() -> dict[str, int]:
    return dict.fromkeys(COUNT_NAMES, 0)


class SyncRun(models.Model):
    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="sync_runs")
    kind = models.CharField(max_length=20, choices=RunKind.choices)
    trigger = models.CharField(max_length=10, choices=RunTrigger.choices, default=RunTrigger.ADMIN)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=20, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True)
    phase = models.CharField(max_length=100, blank=True)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(null=True, blank=True)
    counts = models.JSONField(default=empty_counts, blank=True)
    params = models.JSONField(
        default=dict, blank=True, help_text="What the run was asked to do (course id, preview...)."
    )
    message = models.TextField(
        blank=True, help_text="How it ended, in words for the admin: what happened and what to do."
    )
    cancel_requested = models.BooleanField(default=False)
    # A sync's courses go to workers in batches (sync.engine.dispatch): how many, and how many sent so far.
    batch_count = models.PositiveIntegerField(default=0)
    batches_sent = models.PositiveIntegerField(default=0)
    # Courses synced with nothing to change and no new or resolved problem: their results are folded into
    # this count once the run ends (sync.engine.runner.fold_quiet_results), so a night grows the
    # history by what changed, not by the size of the sync list.
    quiet_courses = models.PositiveIntegerField(
        default=0, db_default=0, help_text="Courses synced with nothing to change and no new problem (not listed)."
    )
    # Problems earlier syncs found that this one still found, counted once it ended: its folded courses
    # have no row left to count them by (sync.runs.problems.run_changes).
    problems_still_open = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One active run of a kind per institution, whatever the number of clicks or workers.
            models.UniqueConstraint(
                fields=["institution", "kind"],
                condition=Q(status__in=["queued", "running"]),
                name="one_active_run_per_kind",
            ),
        ]
        indexes = [models.Index(fields=["institution", "-created_at"], name="run_history")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.id} ({self.get_status_display()})"

    @property
    def title(self) -> str:
        """How pages name the run: "Sync #12", "Grade post #3"."""
        return f"{self.get_kind_display()} #{self.id}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def duration(self) -> dt.timedelta | None:
        if not self.started_at:
            return None
        return (self.finished_at or timezone.now()) - self.started_at


class IssueSeverity(models.TextChoices):
    ERROR = "error", "Error"
    WARNING = "warning", "Warning"
    INFO = "info", "Info"


class Resolution(models.TextChoices):
    """Why an open problem was resolved."""

    GONE = "gone", "No longer found by the sync"
    APPROVED = "approved", "Approved by an admin"
    REMOVED = "removed", "Its course or section was removed from the sync list"
    ENDED = "ended", "Its sync list entry ended, so it is no longer synced"


# An open problem: tracked across runs and not resolved yet (the partial indexes below are on it).
OPEN_PROBLEM = Q(tracked=True, resolved_at__isnull=True)


class SyncIssueQuerySet(models.QuerySet):
    def open_for(self, institution_id: int) -> SyncIssueQuerySet:
        """The institution's open problems."""
        return self.filter(OPEN_PROBLEM, institution_id=institution_id)


class SyncIssue(models.Model):
    """One thing a run could not do, or chose not to: what, why, and how to fix it.

    Two kinds. A fact of one run (the run stopped, a course failed, a refresh's issue) belongs to that
    run. A *tracked* problem (what a sync left out of a course: a pending invitation, a missing id) is
    an open item across runs, identified by institution, reason, Canvas object and course: the run
    that first saw it records it (`run`, `created_at`), later runs that still see it write nothing,
    and the run that no longer sees it resolves it (`resolved_run`, `resolved_at`). So the table grows
    with what changes in Canvas, not with the number of nights.
    """

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="sync_issues")
    # First seen in; kept (null) when retention removes that run while the problem is still open.
    run = models.ForeignKey(SyncRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="issues")
    severity = models.CharField(max_length=10, choices=IssueSeverity.choices, default=IssueSeverity.WARNING)
    code = models.CharField(
        max_length=50, db_index=True, help_text="Reason code; explained on the LMS Sync Errors page."
    )
    object_type = models.CharField(max_length=20, help_text="course, section, person, enrollment, run")
    canvas_id = models.BigIntegerField(null=True, blank=True)
    canvas_course_id = models.BigIntegerField(null=True, blank=True)
    label = models.CharField(max_length=255, blank=True, help_text="The object as the admin knows it.")
    # Only what this issue adds to its reason's sentence and fix, which the registry holds
    # (sync.runs.reasons), read back by sync.runs.readable.issue_text and issue_fix.
    message = models.TextField(blank=True, help_text="What this issue adds to its reason's sentence.")
    fix = models.TextField(blank=True, help_text="Its own fix, when it is not its reason's.")
    created_at = models.DateTimeField("first seen", auto_now_add=True)
    tracked = models.BooleanField(
        default=False, help_text="An open item across runs (what a sync left out), not a fact of one run."
    )
    # A section on the sync list is synced apart from its course: its problems are reconciled apart too.
    scope_section_id = models.BigIntegerField(null=True, blank=True)
    resolved_run = models.ForeignKey(
        SyncRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="resolved_issues"
    )
    resolved_at = models.DateTimeField(null=True, blank=True, help_text="When a sync no longer found it.")
    resolution = models.CharField(
        max_length=10, choices=Resolution.choices, blank=True, help_text="Why it was resolved."
    )

    objects = SyncIssueQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["run", "code"], name="issue_by_code"),
            models.Index(
                fields=["institution", "canvas_course_id"],
                condition=OPEN_PROBLEM,
                name="issue_open_by_course",
            ),
            models.Index(
                fields=["institution", "code"],
                condition=OPEN_PROBLEM,
                name="issue_open_by_code",
            ),
            models.Index(fields=["resolved_at"], condition=Q(resolved_at__isnull=False), name="issue_resolved"),
            # Open problems lists them in this order, a page at a time: read from the index, not sorted.
            models.Index(
                fields=["institution", "canvas_course_id", "code", "label", "id"],
                condition=OPEN_PROBLEM,
                name="issue_open_listing",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code}: {self.label}"

    def save(self, *args, **kwargs) -> None:
        if self.institution_id is None and self.run_id is not None:
            self.institution_id = SyncRun.objects.values_list("institution_id", flat=True).get(id=self.run_id)
        super().save(*args, **kwargs)

    @property
    def is_open(self) -> bool:
        return self.tracked and self.resolved_at is None


class CourseResultStatus(models.TextChoices):
    PENDING = "pending", "Waiting"
    RUNNING = "running", "Syncing"
    APPLIED = "applied", "Synced"
    PREVIEWED = "previewed", "Previewed"
    HELD = "held", "Held for approval"
    APPROVED = "approved", "Approved and synced"
    SKIPPED = "skipped", "Not synced"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


OPEN_RESULT_STATUSES = (CourseResultStatus.PENDING, CourseResultStatus.RUNNING)


class SyncCourseResult(models.Model):
    """One sync-list entry within one sync run: the unit of fan-out, and the run's completion counter.

    The run finishes when none of its results is pending or running, whichever worker gets there last.
    """

    # No index of its own on run or status: every read of a run's results goes by (run, entry) or
    # (run, batch) below, and each index more is written for every course of every night.
    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="course_results", db_index=False)
    entry = models.ForeignKey(SyncListEntry, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    canvas_course_id = models.BigIntegerField()
    canvas_section_id = models.BigIntegerField(null=True, blank=True)
    label = models.CharField(max_length=255)
    # The batch (1, 2, ...) whose task syncs this course; every entry of one Canvas course shares one.
    batch = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=20, choices=CourseResultStatus.choices, default=CourseResultStatus.PENDING)
    counts = models.JSONField(default=empty_counts, blank=True)
    message = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True, help_text="The preview, or the changes held for approval.")
    claimed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["label", "id"]
        constraints = [models.UniqueConstraint(fields=["run", "entry"], name="one_result_per_run_entry")]
        indexes = [models.Index(fields=["run", "batch"], name="result_batch")]

    def __str__(self) -> str:
        return f"{self.label}: {self.get_status_display()}"


class SyncMonthTotal(models.Model):
    """One institution's runs of one month, summed when retention removes them (sync.runs.retention),
    so totals over the months before the retention window survive their runs."""

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="sync_month_totals")
    month = models.DateField(help_text="The first day of the month (UTC).")
    runs = models.PositiveIntegerField(default=0)
    minutes = models.FloatField(default=0)
    created = models.PositiveIntegerField(default=0)
    deactivated = models.PositiveIntegerField(default=0)
    issues = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["institution", "-month"]
        constraints = [models.UniqueConstraint(fields=["institution", "month"], name="one_total_per_month")]

    def __str__(self) -> str:
        return f"{self.institution} {self.month:%Y-%m}"
