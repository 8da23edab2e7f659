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
from sync.grades.person import CONFLICT_FIX
from sync.grades.scores import apply_scores, read_scores_csv, template_csv
from sync.models import RunKind, SyncRun
from sync.runs import lifecycle

RECENT_RUNS = 5
NO_SCORES = "There are no scores to post yet. Upload the exam's scores as a CSV file first."


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
    last_run = recent[0] if recent else None
    scores = list(exam.scores.select_related("exam_taker").order_by("exam_taker__student_id"))
    ctx = {
        "exam": exam,
        "scores": scores,
        "posted_count": sum(1 for s in scores if s.posted_at is not None),
        "upload_form": ScoresUploadForm(),
        "post_form": PostScoresForm(),
        "runs": recent,
        "last_run": last_run,
        "differences": _differences(last_run),
        "conflict_fix": CONFLICT_FIX,
        **ctx,
    }
    return render(request, "sync/grades/exam.html", ctx)


def _differences(run: SyncRun | None) -> list[dict]:
    """The grades the last finished post or check found changed in Canvas, as it listed them."""
    if run is None or run.is_active:
        return []
    return [r for r in run.params.get("results", []) if r.get("result") in ("differs", "conflict")]


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
@require_GET
def exam_post_confirm(request: HttpRequest, exam_id: int) -> HttpResponse:
    """“Post N grades to … in Canvas?”: a page of its own, so the question works without JavaScript."""
    exam = get_exam_for(request, exam_id)
    form = PostScoresForm(request.GET)
    overwrite = form.is_valid() and form.cleaned_data["overwrite_conflicts"]
    scores = list(exam.scores.all())
    if not scores:
        messages.error(request, NO_SCORES)
        return redirect("exam", exam.id)
    ctx = {
        "exam": exam,
        "to_post": sum(1 for s in scores if s.needs_posting),
        "already_posted": sum(1 for s in scores if not s.needs_posting),
        "overwrite": overwrite,
    }
    return render(request, "sync/grades/post_confirm.html", ctx)


@login_required
@require_POST
def exam_post(request: HttpRequest, exam_id: int) -> HttpResponse:
    exam = get_exam_for(request, exam_id)
    form = PostScoresForm(request.POST)
    overwrite = form.is_valid() and form.cleaned_data["overwrite_conflicts"]
    if not exam.scores.exists():
        messages.error(request, NO_SCORES)
        return redirect("exam", exam.id)
    if request.POST.get("confirmed") != "1":  # not from the confirm page: ask there first
        query = "?overwrite_conflicts=on" if overwrite else ""
        return redirect(reverse("exam-post-confirm", args=[exam.id]) + query)
    return _start(request, exam, overwrite_conflicts=overwrite)


@login_required
@require_POST
def exam_check(request: HttpRequest, exam_id: int) -> HttpResponse:
    """“Check against Canvas”: read every posted grade in the background and list those that differ."""
    exam = get_exam_for(request, exam_id)
    if not exam.scores.filter(posted_at__isnull=False).exists():
        messages.error(request, "No grade of this exam has been posted yet, so there is nothing to check in Canvas.")
        return redirect("exam", exam.id)
    return _start(request, exam, check_only=True)


def _start(request: HttpRequest, exam: Exam, *, overwrite_conflicts: bool = False, check_only: bool = False):
    try:
        run = start_grade_post(exam, user=request.user, overwrite_conflicts=overwrite_conflicts, check_only=check_only)
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
    text = (
        'Checking the posted grades against Canvas: <a href="{}">Grade post #{}</a>. Nothing is written to Canvas.'
        if check_only
        else 'Posting scores to Canvas: <a href="{}">Grade post #{}</a>. Only new and changed scores are sent.'
    )
    messages.success(request, format_html(text, reverse("sync-run", args=[run.id]), run.id))
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
