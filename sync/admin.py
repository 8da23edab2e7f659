from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Count
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from sync.models import (
    CatalogAccount,
    CatalogCourse,
    CatalogSection,
    CourseResultStatus,
    RunTrigger,
    SyncCourseResult,
    SyncIssue,
    SyncListEntry,
    SyncMonthTotal,
    SyncRun,
)
from sync.runs.lifecycle import QueueUnavailable, RunAlreadyActive
from sync.runs.readable import issue_fix, issue_text


@admin.register(CatalogCourse)
class CatalogCourseAdmin(admin.ModelAdmin):
    list_display = ["name", "canvas_id", "sis_course_id", "integration_id", "workflow_state", "institution", "gone_at"]
    list_filter = ["institution", "workflow_state"]
    search_fields = ["name", "sis_course_id", "integration_id", "course_code", "=canvas_id"]
    list_select_related = ["institution"]


@admin.register(CatalogSection)
class CatalogSectionAdmin(admin.ModelAdmin):
    list_display = ["name", "canvas_id", "sis_section_id", "course", "institution", "gone_at"]
    list_filter = ["institution"]
    search_fields = ["name", "sis_section_id", "=canvas_id", "course__name"]
    raw_id_fields = ["course"]
    list_select_related = ["institution", "course"]


@admin.register(CatalogAccount)
class CatalogAccountAdmin(admin.ModelAdmin):
    """Read-only: the names a full refresh read from Canvas, written only by the next refresh."""

    list_display = ["name", "canvas_id", "institution", "refreshed_at"]
    list_filter = ["institution"]
    search_fields = ["name", "=canvas_id"]
    list_select_related = ["institution"]
    readonly_fields = [f.name for f in CatalogAccount._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.action(description="Sync now (the institutions of the selected entries)")
def sync_now_action(modeladmin, request, queryset) -> None:
    from sync.engine import start_sync

    for institution in {entry.institution for entry in queryset.select_related("institution")}:
        try:
            run = start_sync(institution, trigger=RunTrigger.SUPPORT, user=request.user)
        except RunAlreadyActive as exc:
            modeladmin.message_user(request, f"{institution}: {exc}", messages.WARNING)
        except QueueUnavailable as exc:
            modeladmin.message_user(request, f"{institution}: {exc.run.message}", messages.ERROR)
        else:
            modeladmin.message_user(request, f"{institution}: sync #{run.id} {run.get_status_display().lower()}.")


@admin.action(description="Approve held changes (apply held courses as Canvas has them now)")
def approve_held_action(modeladmin, request, queryset) -> None:
    from sync.engine import approve_held

    held = SyncCourseResult.objects.filter(run__in=queryset, status=CourseResultStatus.HELD)
    approved = sum(approve_held(r, request.user).status == CourseResultStatus.APPROVED for r in held)
    modeladmin.message_user(
        request, f"{approved} of {len(held)} held course{pluralize(len(held))} approved and applied."
    )


@admin.register(SyncListEntry)
class SyncListEntryAdmin(admin.ModelAdmin):
    actions = [sync_now_action]
    list_display = ["course", "section", "department", "start_date", "end_date", "institution"]
    list_filter = ["institution"]
    search_fields = ["course__name", "course__sis_course_id", "section__name"]
    raw_id_fields = ["course", "section", "department", "added_by"]
    list_select_related = ["institution", "course", "section", "department"]


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = ["id", "institution", "kind", "trigger", "status", "created_at", "finished_at", "done", "total"]
    list_filter = ["status", "kind", "trigger", "institution"]
    search_fields = ["institution__name", "message", "=id"]
    list_select_related = ["institution"]
    readonly_fields = [*(f.name for f in SyncRun._meta.fields), "course_results", "problems"]
    actions = [approve_held_action]

    @admin.display(description="Course results")
    def course_results(self, run: SyncRun) -> str:
        # Counts by status, each a link to those results: a run of thousands of courses stays one page.
        url = reverse("admin:sync_synccourseresult_changelist") + f"?run__id__exact={run.id}"
        by_status = dict(run.course_results.values_list("status").annotate(n=Count("id")).order_by())
        if not by_status:
            return "—"
        counts = format_html_join(
            ", ",
            '<a href="{}&amp;status__exact={}">{} {}</a>',
            (
                (url, status, by_status[status], label.lower())
                for status, label in CourseResultStatus.choices
                if status in by_status
            ),
        )
        total = sum(by_status.values())
        return format_html('<a href="{}">{} course{}</a>: {}', url, total, pluralize(total), counts)

    @admin.display(description="Problems")
    def problems(self, run: SyncRun) -> str:
        # Counts by reason, each a link to those problems, where this page once listed every one inline: a
        # first night of thousands of courses finds tens of thousands, a page of megabytes support could not open.
        url = reverse("admin:sync_syncissue_changelist")
        found = dict(run.issues.values_list("code").annotate(n=Count("id")).order_by())
        resolved = run.resolved_issues.count()
        if not found and not resolved:
            return "None found or resolved by this run."
        total = sum(found.values())
        by_code = format_html_join(
            ", ",
            '<a href="{}?run__id__exact={}&amp;code__exact={}">{} {}</a>',
            ((url, run.id, code, n, code) for code, n in sorted(found.items(), key=lambda item: (-item[1], item[0]))),
        )
        first_seen = format_html(
            '<a href="{}?run__id__exact={}">{} first seen in this run</a>{}{}',
            url,
            run.id,
            total,
            ": " if found else "",
            by_code,
        )
        return format_html(
            '{}; <a href="{}?resolved_run__id__exact={}">{} resolved by it</a>', first_seen, url, run.id, resolved
        )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # removed only by retention (sync.runs.retention), never by hand

    def changelist_view(self, request, extra_context=None):
        # Support is asked "where is last year's run?": the answer is on the page that lists runs.
        messages.info(request, retention_text())
        return super().changelist_view(request, extra_context)


def retention_text() -> str:
    return (
        f"Retention: runs and their course results are kept {settings.SYNC_RUN_RETENTION_DAYS} days "
        f"(SYNC_RUN_RETENTION_DAYS), resolved problems {settings.SYNC_RESOLVED_PROBLEM_RETENTION_DAYS} days "
        "(SYNC_RESOLVED_PROBLEM_RETENTION_DAYS); open problems are kept until a sync resolves them. An hourly "
        "beat task removes the rest; removed runs are summed in Sync month totals."
    )


@admin.register(SyncMonthTotal)
class SyncMonthTotalAdmin(admin.ModelAdmin):
    list_display = ["institution", "month", "runs", "minutes", "created", "deactivated", "issues"]
    list_filter = ["institution"]
    readonly_fields = [f.name for f in SyncMonthTotal._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        messages.info(request, retention_text())
        return super().changelist_view(request, extra_context)


@admin.register(SyncIssue)
class SyncIssueAdmin(admin.ModelAdmin):
    list_display = ["run", "severity", "code", "object_type", "label", "created_at", "resolved_at"]
    list_filter = ["severity", "code", "object_type", "run__institution"]
    search_fields = ["label", "message", "=canvas_id", "=run__id"]
    raw_id_fields = ["run", "resolved_run"]
    list_select_related = ["run"]
    readonly_fields = ["what_it_says", "what_to_do", *(f.name for f in SyncIssue._meta.fields)]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="What it says")
    def what_it_says(self, issue: SyncIssue) -> str:
        return issue_text(issue)

    @admin.display(description="What to do")
    def what_to_do(self, issue: SyncIssue) -> str:
        return issue_fix(issue)


# "Refresh courses now" on an institution's Canvas connection. Added from here because imports point
# sync -> lms_canvas: the lms_canvas admin may not import sync.
@admin.action(description="Refresh courses now")
def refresh_courses_now(modeladmin, request, queryset) -> None:
    from django.contrib import messages

    from sync.catalog import refresh
    from sync.models import RunTrigger
    from sync.runs import lifecycle

    for conn in queryset.select_related("institution"):
        try:
            run = refresh.start_refresh(conn.institution, user=request.user, trigger=RunTrigger.SUPPORT)
        except lifecycle.RunAlreadyActive as exc:
            modeladmin.message_user(request, f"{conn.institution}: {exc}", messages.WARNING)
        except lifecycle.QueueUnavailable as exc:
            modeladmin.message_user(request, f"{conn.institution}: {exc.run.message}", messages.ERROR)
        else:
            modeladmin.message_user(request, f"{conn.institution}: refresh queued as run #{run.id}.", messages.SUCCESS)


def _add_refresh_action() -> None:
    from lms_canvas.admin import CanvasConnectionAdmin

    if refresh_courses_now not in CanvasConnectionAdmin.actions:
        CanvasConnectionAdmin.actions = [*CanvasConnectionAdmin.actions, refresh_courses_now]


_add_refresh_action()


@admin.register(SyncCourseResult)
class SyncCourseResultAdmin(admin.ModelAdmin):
    list_display = ["run", "label", "status", "canvas_course_id", "finished_at"]
    list_filter = ["status", "run__institution"]
    search_fields = ["label", "=canvas_course_id", "=run__id"]
    raw_id_fields = ["run", "entry", "approved_by"]
    readonly_fields = [f.name for f in SyncCourseResult._meta.fields]
    actions = ["approve"]

    @admin.action(description="Approve held changes (apply as Canvas has them now)")
    def approve(self, request, queryset) -> None:
        from sync.engine import approve_held

        held = queryset.filter(status=CourseResultStatus.HELD)
        approved = sum(approve_held(r, request.user).status == CourseResultStatus.APPROVED for r in held)
        self.message_user(request, f"{approved} of {len(held)} held course{pluralize(len(held))} approved and applied.")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
