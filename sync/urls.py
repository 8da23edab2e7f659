from __future__ import annotations

from django.urls import path

from sync.catalog import views as catalog
from sync.engine import views as engine
from sync.grades import views as grades
from sync.runs import problem_views as problems
from sync.runs import views as runs
from sync.synclist import views as synclist

urlpatterns: list = []

urlpatterns += [
    path("admin-settings/lms/sync/", catalog.sync_settings, name="sync-settings"),
    path("admin-settings/lms/sync/courses/", catalog.course_search, name="sync-course-search"),
    path(
        "admin-settings/lms/sync/courses/<int:course_id>/sections/",
        catalog.course_sections,
        name="sync-course-sections",
    ),
    path("admin-settings/lms/sync/courses/<int:course_id>/add/", catalog.add_course, name="sync-add-course"),
    path("admin-settings/lms/sync/courses/<int:course_id>/remove/", catalog.remove_course, name="sync-remove-course"),
    path("admin-settings/lms/sync/sections/<int:section_id>/add/", catalog.add_section, name="sync-add-section"),
    path("admin-settings/lms/sync/refresh/", catalog.refresh_start, name="sync-refresh"),
    path("admin-settings/lms/sync/refresh/progress/", catalog.refresh_progress, name="sync-refresh-progress"),
    path("admin-settings/lms/sync/refresh/<int:run_id>/cancel/", catalog.refresh_cancel, name="sync-refresh-cancel"),
    path("admin-settings/lms/sync/refresh/course/", catalog.course_refresh, name="sync-course-refresh"),
    path(
        "admin-settings/lms/sync/refresh/course/<int:run_id>/",
        catalog.course_refresh_progress,
        name="sync-course-refresh-progress",
    ),
    path("admin-settings/lms/sync/id-coverage/", catalog.id_coverage, name="sync-id-coverage"),
    path("admin-settings/lms/sync/list/", synclist.sync_list_save, name="sync-list-save"),
    path("admin-settings/lms/sync/list/export/", synclist.sync_list_export, name="sync-list-export"),
    path("admin-settings/lms/sync/list/import/", synclist.sync_list_import, name="sync-list-import"),
    path("admin-settings/lms/sync/list/import/apply/", synclist.sync_list_import_apply, name="sync-list-import-apply"),
]

urlpatterns += [
    path("admin-settings/lms/sync/now/", engine.sync_now, name="sync-now"),
    path("admin-settings/lms/sync/preview/", engine.sync_preview, name="sync-preview"),
    path("admin-settings/lms/history/", runs.history, name="sync-history"),
    path("admin-settings/lms/history/<int:run_id>/", runs.run_detail, name="sync-run"),
    path("admin-settings/lms/history/<int:run_id>/progress/", runs.run_progress, name="sync-run-progress"),
    path("admin-settings/lms/history/<int:run_id>/issues.csv", runs.run_csv, name="sync-run-csv"),
    path("admin-settings/lms/history/<int:run_id>/apply/", engine.run_apply, name="sync-run-apply"),
    path("admin-settings/lms/history/<int:run_id>/cancel/", engine.run_cancel, name="sync-run-cancel"),
    path(
        "admin-settings/lms/history/<int:run_id>/courses/<int:result_id>/approve/",
        engine.approve,
        name="sync-run-approve",
    ),
    path("admin-settings/lms/sync-errors/", runs.sync_errors, name="sync-errors"),
    path("admin-settings/lms/why/", runs.why, name="sync-why"),
    path("admin-settings/lms/problems/", problems.problems, name="sync-problems"),
    path("admin-settings/lms/problems.csv", problems.problems_csv, name="sync-problems-csv"),
]

urlpatterns += [
    path("exams/", grades.exams, name="exams"),
    path("exams/new/", grades.exam_create, name="exam-create"),
    path("exams/<int:exam_id>/", grades.exam_detail, name="exam"),
    path("exams/<int:exam_id>/scores/", grades.exam_upload, name="exam-upload"),
    path("exams/<int:exam_id>/scores.csv", grades.exam_template, name="exam-template"),
    path("exams/<int:exam_id>/post/confirm/", grades.exam_post_confirm, name="exam-post-confirm"),
    path("exams/<int:exam_id>/post/", grades.exam_post, name="exam-post"),
    path("exams/<int:exam_id>/check/", grades.exam_check, name="exam-check"),
    path("exams/<int:exam_id>/post/progress/", grades.exam_post_progress, name="exam-post-progress"),
]
