"""Kick-off, mid-term check, change requests and the sweeps (see ``projects.views.supervision`` and ``changes``)."""

from django.urls import path

from .views import changes, supervision

urlpatterns = [
    path("projects/<int:pk>/kickoff/", supervision.kickoff, name="project-kickoff"),
    path("projects/<int:pk>/kickoff/file/", supervision.kickoff_file, name="project-kickoff-file"),
    path("projects/<int:pk>/midterm/", supervision.midterm, name="project-midterm"),
    path("projects/<int:pk>/midterm/form.docx", supervision.midterm_document, name="project-midterm-form"),
    path("projects/<int:pk>/midterm/<int:report_pk>/file/", supervision.midterm_file, name="project-midterm-file"),
    path("projects/<int:pk>/changes/", changes.project_changes, name="project-changes"),
    path("unit/changes/", changes.unit_change_queue, name="unit-change-queue"),
    path("secretariat/changes/", changes.change_queue, name="change-queue"),
    path("secretariat/midterm/", supervision.midterm_queue, name="midterm-queue"),
    path("secretariat/supervision/", supervision.supervision_sweep, name="supervision-sweep"),
]
