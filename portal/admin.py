"""Support staff find any institution's data here: every model is searchable and filterable by institution."""

from __future__ import annotations

import smtplib

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.html import format_html

from portal import accounts
from portal.forms import InviteAdminForm
from portal.models import (
    Course,
    CourseAdmin,
    CourseAdminEnrollment,
    Department,
    Enrollment,
    Exam,
    ExamScore,
    ExamTaker,
    Institution,
    InstitutionAdmin,
    Section,
    ServiceHeartbeat,
)

admin.site.site_header = "LMS Sync Portal support"
admin.site.site_title = "LMS Sync Portal support"


def _changelist_link(model: str, institution_id: int, label: str) -> str:
    url = reverse(f"admin:portal_{model}_changelist") + f"?institution__id__exact={institution_id}"
    return format_html('<a href="{}">{}</a>', url, label)


def _password_state(membership: InstitutionAdmin) -> str:
    if membership.user_id is None:
        return ""
    return "set" if membership.user.has_usable_password() else "not set yet (invited)"


class InstitutionAdminInline(admin.TabularInline):
    model = InstitutionAdmin
    raw_id_fields = ["user"]
    readonly_fields = ["password"]
    extra = 0

    @admin.display(description="Password")
    def password(self, obj: InstitutionAdmin) -> str:
        return _password_state(obj)


@admin.register(Institution)
class InstitutionModelAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "timezone", "nightly_sync_hour", "data_links"]
    search_fields = ["name", "slug"]
    list_filter = ["timezone"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [InstitutionAdminInline]

    @admin.display(description="Data")
    def data_links(self, obj: Institution) -> str:
        links = [
            _changelist_link("department", obj.id, "departments"),
            _changelist_link("course", obj.id, "courses"),
            _changelist_link("examtaker", obj.id, "exam-takers"),
            _changelist_link("courseadmin", obj.id, "course admins"),
        ]
        return format_html(" · ".join(["{}"] * len(links)), *links)

    def get_urls(self):
        invite = self.admin_site.admin_view(self.invite_view)
        return [path("<int:institution_id>/invite/", invite, name="portal_institution_invite"), *super().get_urls()]

    def invite_view(self, request: HttpRequest, institution_id: int) -> HttpResponse:
        """A new admin of this institution from an email (and name): they get a link to set a password."""
        institution = get_object_or_404(Institution, id=institution_id)
        if not self.has_change_permission(request, institution):
            raise PermissionDenied
        form = InviteAdminForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            email = form.cleaned_data["email"]
            try:
                accounts.invite_admin(institution=institution, invited_by=request.user, **form.cleaned_data)
            except (smtplib.SMTPException, OSError):
                msg = f"{email} is now an admin of {institution}, but the invitation email could not be sent. "
                msg += "Send it again with “Send a new invitation” under Institution admins."
                self.message_user(request, msg, messages.ERROR)
            else:
                msg = f"Invitation sent to {email}: a link to set their password, valid for {accounts.link_lifetime()}."
                self.message_user(request, msg, messages.SUCCESS)
            return redirect("admin:portal_institution_change", institution.id)
        ctx = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": institution,
            "form": form,
            "title": f"Invite an admin to {institution}",
            "lifetime": accounts.link_lifetime(),
        }
        return render(request, "admin/portal/institution/invite.html", ctx)


@admin.register(InstitutionAdmin)
class InstitutionAdminModelAdmin(admin.ModelAdmin):
    list_display = ["user", "institution", "password"]
    list_filter = ["institution"]
    search_fields = ["user__email", "user__username", "institution__name"]
    raw_id_fields = ["user"]
    list_select_related = ["user", "institution"]
    actions = ["send_invitation"]

    @admin.display(description="Password")
    def password(self, obj: InstitutionAdmin) -> str:
        return _password_state(obj)

    @admin.action(description="Send a new invitation (a link to set a password)")
    def send_invitation(self, request: HttpRequest, queryset) -> None:
        sent = 0
        for membership in queryset.select_related("user", "institution"):
            if not membership.user.email:
                self.message_user(request, f"{membership.user} has no email address.", messages.WARNING)
                continue
            accounts.send_invitation(membership.user, membership.institution, request.user)
            sent += 1
        self.message_user(request, f"{sent} invitation(s) sent.")


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "institution"]
    list_filter = ["institution"]
    search_fields = ["name", "institution__name"]
    list_select_related = ["institution"]


class SectionInline(admin.TabularInline):
    model = Section
    extra = 0


@admin.register(Course)
class CourseModelAdmin(admin.ModelAdmin):
    list_display = ["course_id", "name", "institution", "department", "start_date", "end_date", "lms_id"]
    list_filter = ["institution", "department"]
    search_fields = ["course_id", "name", "=lms_id"]
    list_select_related = ["institution", "department"]
    raw_id_fields = ["department"]
    inlines = [SectionInline]


@admin.register(Section)
class SectionAdmin(admin.ModelAdmin):
    list_display = ["section_id", "name", "course", "lms_id"]
    list_filter = ["course__institution"]
    search_fields = ["section_id", "name", "course__course_id", "=lms_id"]
    raw_id_fields = ["course"]
    list_select_related = ["course"]


class PersonAdmin(admin.ModelAdmin):
    list_filter = ["institution", "active"]
    list_select_related = ["institution"]


@admin.register(ExamTaker)
class ExamTakerAdmin(PersonAdmin):
    list_display = ["student_id", "first_name", "last_name", "email", "institution", "active", "lms_id"]
    search_fields = ["student_id", "first_name", "last_name", "email", "=lms_id"]


@admin.register(CourseAdmin)
class CourseAdminAdmin(PersonAdmin):
    list_display = ["admin_id", "first_name", "last_name", "email", "institution", "active", "lms_id"]
    search_fields = ["admin_id", "first_name", "last_name", "email", "=lms_id"]


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    list_display = ["exam_taker", "course", "section", "status", "updated_at"]
    list_filter = ["status", "course__institution"]
    search_fields = ["exam_taker__student_id", "exam_taker__email", "course__course_id"]
    raw_id_fields = ["course", "section", "exam_taker"]
    list_select_related = ["exam_taker", "course", "section"]


@admin.register(CourseAdminEnrollment)
class CourseAdminEnrollmentAdmin(admin.ModelAdmin):
    list_display = ["course_admin", "course", "status", "updated_at"]
    list_filter = ["status", "course__institution"]
    search_fields = ["course_admin__admin_id", "course_admin__email", "course__course_id"]
    raw_id_fields = ["course", "course_admin"]
    list_select_related = ["course_admin", "course"]


@admin.register(Exam)
class ExamAdmin(admin.ModelAdmin):
    list_display = ["title", "course", "points_possible", "lms_assignment_id", "created_at"]
    list_filter = ["course__institution"]
    search_fields = ["title", "course__course_id", "=lms_assignment_id", "=integration_id"]
    raw_id_fields = ["course"]
    readonly_fields = ["integration_id"]


@admin.register(ExamScore)
class ExamScoreAdmin(admin.ModelAdmin):
    list_display = ["exam", "exam_taker", "score", "posted_score", "post_status", "posted_at", "updated_at"]
    list_filter = ["post_status", "exam__course__institution"]
    search_fields = ["exam__title", "exam_taker__student_id"]
    raw_id_fields = ["exam", "exam_taker"]


@admin.register(ServiceHeartbeat)
class ServiceHeartbeatAdmin(admin.ModelAdmin):
    """Read only: when beat last ticked (what /readyz and `manage.py check_beat` read)."""

    list_display = ["name", "seen_at"]
    search_fields = ["name"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
