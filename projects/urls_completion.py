"""The completion (结题): the project's completion page, its documents, the unit's and the secretariat's queues."""

from django.urls import path

from .views import completion

urlpatterns = [
    path("projects/<int:pk>/completion/", completion.project_completion, name="project-completion"),
    path("projects/<int:pk>/completion/<str:kind>.docx", completion.completion_document, name="completion-document"),
    path("unit/completions/", completion.unit_completion_queue, name="unit-completion-queue"),
    path("secretariat/completions/", completion.secretariat_completion_queue, name="completion-queue"),
]
