from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from portal import guide
from portal.access import get_course_for, get_department_for, get_institution_for
from portal.forms import ScheduleForm
from portal.models import CourseAdminEnrollment, Enrollment, EnrollmentStatus
from portal.search import too_long

PAGE_SIZE = 50


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Institution admins land on their dashboard; support staff on Django admin."""
    if request.user.is_staff and not hasattr(request.user, "institution_membership"):
        return redirect("admin:index")
    return redirect("dashboard")


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    institution = get_institution_for(request)
    departments = institution.departments.annotate(
        course_count=Count("courses", distinct=True),
    )
    ctx = {
        "institution": institution,
        "departments": departments,
        "course_count": institution.courses.count(),
        "exam_taker_count": institution.examtakers.filter(active=True).count(),
    }
    return render(request, "portal/dashboard.html", ctx)


@login_required
def global_settings(request: HttpRequest) -> HttpResponse:
    institution = get_institution_for(request)
    return render(request, "portal/global_settings.html", {"institution": institution})


SCHEDULE_FIELDS = ["timezone", "nightly_sync_hour", "notification_emails", "sync_hold_percent", "sync_hold_min_people"]


@login_required
def schedule_settings(request: HttpRequest) -> HttpResponse:
    """Schedule and notifications: the admin's own institution only (there is no id to change)."""
    institution = get_institution_for(request)
    if request.method == "POST":
        form = ScheduleForm(request.POST)
        if form.is_valid():
            for field in SCHEDULE_FIELDS:
                setattr(institution, field, form.cleaned_data[field])
            institution.save(update_fields=SCHEDULE_FIELDS)  # recorded in the audit trail (Schedule)
            messages.success(request, "Schedule and notifications saved.")
            return redirect("schedule-settings")
    else:
        form = ScheduleForm(initial={field: getattr(institution, field) for field in SCHEDULE_FIELDS})
    admins = sorted(m.user.email for m in institution.admins.select_related("user") if m.user.email)
    return render(request, "portal/schedule.html", {"institution": institution, "form": form, "admins": admins})


@login_required
def department(request: HttpRequest, department_id: int) -> HttpResponse:
    dept = get_department_for(request, department_id)
    q = request.GET.get("q", "").replace("\x00", "").strip()  # PostgreSQL text cannot hold NUL
    error = too_long(q)
    courses = dept.courses.annotate(
        exam_taker_count=Count("enrollments", filter=Q(enrollments__status=EnrollmentStatus.ACTIVE), distinct=True),
        section_count=Count("sections", distinct=True),
    ).order_by("course_id")
    if error:
        courses = courses.none()
    elif q:
        courses = courses.filter(Q(course_id__icontains=q) | Q(name__icontains=q))
    page = Paginator(courses, PAGE_SIZE).get_page(request.GET.get("page"))
    ctx = {"department": dept, "page": page, "q": q, "error": error, "query": urlencode({"q": q}) if q else ""}
    return render(request, "portal/department.html", ctx)


@login_required
def course(request: HttpRequest, course_id: int) -> HttpResponse:
    c = get_course_for(request, course_id)
    enrollments = list(
        Enrollment.objects.filter(course=c)
        .select_related("exam_taker", "section")
        .order_by("status", "exam_taker__last_name", "exam_taker__first_name")
    )
    admins = list(CourseAdminEnrollment.objects.filter(course=c).select_related("course_admin").order_by("status"))
    ctx = {
        "course": c,
        "sections": c.sections.all(),
        "enrollments": enrollments,
        "admins": admins,
        # A column no row fills says nothing: until a sync brings the emails, each table says so instead.
        "admin_emails": any(e.course_admin.email for e in admins),
        "taker_emails": any(e.exam_taker.email for e in enrollments),
    }
    return render(request, "portal/course.html", ctx)


@login_required
def setup_guide(request: HttpRequest) -> HttpResponse:
    get_institution_for(request)
    return render(request, "portal/setup_guide.html", {"parts": guide.PARTS})
