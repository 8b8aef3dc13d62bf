"""The expert's side, /review/…: assignments are reached by their opaque token only."""

from django.urls import path

from .views import expert

urlpatterns = [
    path("review/", expert.dashboard, name="expert-dashboard"),
    path("review/rounds/<int:round_pk>/declaration/", expert.declaration, name="expert-declaration"),
    path("review/reviews/<int:pk>/reopen/", expert.reopen, name="review-reopen"),
    path("review/<str:token>/", expert.dossier, name="expert-dossier"),
    path("review/<str:token>/huoye.docx", expert.dossier_docx, name="expert-dossier-docx"),
    path("review/<str:token>/accept/", expert.accept, name="expert-accept"),
    path("review/<str:token>/decline/", expert.decline, name="expert-decline"),
    path("review/<str:token>/conflict/", expert.declare_conflict, name="expert-conflict"),
]
