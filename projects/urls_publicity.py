"""Public notice (立项公示), objections, confirmation and the approval letter."""

from django.urls import path

from .views import publicity

urlpatterns = [
    path("calls/<int:pk>/publicity/", publicity.call_publicity, name="call-publicity"),
    path("publicity/<int:project_pk>/object/", publicity.objection_form, name="objection-submit"),
    path("publicity/<int:project_pk>/thanks/", publicity.objection_thanks, name="objection-thanks"),
    path("secretariat/objections/", publicity.objection_queue, name="objection-queue"),
    path("secretariat/objections/<int:pk>/", publicity.objection_decide, name="objection-decide"),
    path("secretariat/objections/<int:pk>/file/", publicity.objection_file, name="objection-file"),
    path("secretariat/calls/<int:pk>/confirm/", publicity.confirm_call, name="publicity-confirm"),
    path("projects/<int:pk>/letter.docx", publicity.approval_letter, name="approval-letter"),
]
