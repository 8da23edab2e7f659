"""Exams: the list and create form, an exam's scores, CSV upload, and “Post scores to Canvas”."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_POST

from portal.access import get_institution_for
from portal.models import Exam
from sync.grades.forms import ExamForm, PostScoresForm, ScoresUploadForm
from sync.grades.passback import start_grade_post
from sync.grades.scores import apply_scores, read_scores_csv, template_csv
from sync.models import RunKind, SyncRun
from sync.runs import lifecycle

RECENT_RUNS = 5


def get_exam_for(request: HttpRequest, exam_id: int) -> Exam:
    """An exam of the admin's institution; another institution's exam is a 404."""
    institution = get_institution_for(request)
    return get_object_or_404(
        Exam.objects.select_related("course", "course__department"), id=exam_id, course__institution=institution
    )


def _exams_page(request: HttpRequest, form: ExamForm) -> HttpResponse:
    institution = get_institution_for(request)
    exams = (
        Exam.objects.filter(course__institution=institution)
        .select_related("course")
        .annotate(score_count=Count("scores"))
        .order_by("course__course_id", "title")
    )
    return render(request, "sync/grades/exams.html", {"exams": exams, "form": form})


@login_required
@require_GET
def exams(request: HttpRequest) -> HttpResponse:
    institution = get_institution_for(request)
    return _exams_page(request, ExamForm(institution=institution))


@login_required
@require_POST
def exam_create(request: HttpRequest) -> HttpResponse:
    institution = get_institution_for(request)
    form = ExamForm(request.POST, institution=institution)
    if not form.is_valid():
        return _exams_page(request, form)
    exam = Exam.objects.create(**form.cleaned_data)
    messages.success(request, f"Exam “{exam.title}” created. Upload its scores as a CSV file.")
    return redirect("exam", exam.id)


def grade_post_runs(exam: Exam):
    return SyncRun.objects.filter(
        institution_id=exam.course.institution_id, kind=RunKind.GRADE_POST, params__exam_id=exam.id
    ).order_by("-created_at")


def _exam_page(request: HttpRequest, exam: Exam, **ctx) -> HttpResponse:
    recent = list(grade_post_runs(exam)[:RECENT_RUNS])
    ctx = {
        "exam": exam,
        "scores": exam.scores.select_related("exam_taker").order_by("exam_taker__student_id"),
        "upload_form": ScoresUploadForm(),
        "post_form": PostScoresForm(),
        "runs": recent,
        "last_run": recent[0] if recent else None,
        **ctx,
    }
    return render(request, "sync/grades/exam.html", ctx)


@login_required
@require_GET
def exam_detail(request: HttpRequest, exam_id: int) -> HttpResponse:
    return _exam_page(request, get_exam_for(request, exam_id))


@login_required
@require_POST
def exam_upload(request: HttpRequest, exam_id: int) -> HttpResponse:
    exam = get_exam_for(request, exam_id)
    form = ScoresUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _exam_page(request, exam, upload_form=form)
    parsed = read_scores_csv(form.cleaned_data["file"], exam)
    if parsed.errors:
        return _exam_page(request, exam, upload_form=form, csv_errors=parsed.errors, filename=form.filename)
    applied = apply_scores(exam, parsed)
    messages.success(
        request,
        f"Scores saved: {applied.created} new, {applied.updated} changed, {applied.unchanged} unchanged. "
        "Nothing is in Canvas until you choose “Post scores to Canvas”.",
    )
    return redirect("exam", exam.id)


@login_required
@require_GET
def exam_template(request: HttpRequest, exam_id: int) -> HttpResponse:
    exam = get_exam_for(request, exam_id)
    response = HttpResponse(template_csv(exam), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="exam-{exam.id}-scores.csv"'
    return response


@login_required
@require_POST
def exam_post(request: HttpRequest, exam_id: int) -> HttpResponse:
    exam = get_exam_for(request, exam_id)
    form = PostScoresForm(request.POST)
    overwrite = form.is_valid() and form.cleaned_data["overwrite_conflicts"]
    if not exam.scores.exists():
        messages.error(request, "There are no scores to post yet. Upload the exam's scores as a CSV file first.")
        return redirect("exam", exam.id)
    try:
        run = start_grade_post(exam, user=request.user, overwrite_conflicts=overwrite)
    except lifecycle.RunAlreadyActive as exc:
        messages.warning(
            request,
            format_html(
                'Scores are already being posted: <a href="{}">Grade post #{}</a> ({}). One grade post runs at '
                "a time; wait for it to finish, then post again.",
                reverse("sync-run", args=[exc.run.id]),
                exc.run.id,
                exc.run.params.get("exam", ""),
            ),
        )
        return redirect("exam", exam.id)
    except lifecycle.QueueUnavailable as exc:
        messages.error(request, exc.run.message)
        return redirect("exam", exam.id)
    messages.success(
        request,
        format_html(
            'Posting scores to Canvas: <a href="{}">Grade post #{}</a>. Only new and changed scores are sent.',
            reverse("sync-run", args=[run.id]),
            run.id,
        ),
    )
    return redirect("exam", exam.id)


@login_required
@require_GET
def exam_post_progress(request: HttpRequest, exam_id: int) -> HttpResponse:
    """The htmx fragment polled while a post runs; the full page shows the results once it ends."""
    exam = get_exam_for(request, exam_id)
    run = grade_post_runs(exam).first()
    response = render(request, "sync/grades/_post_progress.html", {"exam": exam, "last_run": run})
    if run is None or not run.is_active:
        response["HX-Refresh"] = "true"
    return response
