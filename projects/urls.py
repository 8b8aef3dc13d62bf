from django.urls import include, path

from .views import application, project, public, secretariat, unit

urlpatterns = [
    path("", public.home, name="home"),
    path("calls/<int:pk>/", public.call_detail, name="call-detail"),
    path("calls/<int:pk>/notice.docx", public.call_notice, name="call-notice"),
    path("calls/<int:call_pk>/apply/", application.start, name="application-start"),
    path("applications/<int:pk>/submit/", application.submit, name="application-submit"),
    path("applications/<int:pk>/<str:step>/", application.application_step, name="application-step"),
    path("dashboard/", project.dashboard, name="dashboard"),
    path("projects/<int:pk>/", project.project_detail, name="project-detail"),
    path("projects/<int:pk>/step/<str:name>/", project.project_step, name="project-step"),
    path("projects/<int:pk>/documents/<str:kind>.docx", project.project_document, name="project-document"),
    path("projects/<int:pk>/attachments/<int:attachment_pk>/", project.attachment_download, name="attachment-download"),
    path("unit/applications/", unit.unit_queue, name="unit-queue"),
    path("secretariat/formal-check/", secretariat.formal_check_queue, name="formal-check-queue"),
    path("secretariat/formal-check/export.xlsx", secretariat.formal_check_export, name="formal-check-export"),
    path("secretariat/formal-check/<int:pk>/", secretariat.formal_check, name="formal-check"),
    path("", include("projects.urls_publicity")),
    path("", include("projects.urls_supervision")),
    path("", include("projects.urls_completion")),
]
