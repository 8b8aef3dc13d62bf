from django.urls import path

from .views import reminders as views

urlpatterns = [
    path("secretariat/rounds/<int:pk>/late/", views.round_late, name="round-late"),
    path("secretariat/rounds/<int:pk>/late/<int:assignment_pk>/extend/", views.extend_late_deadline,
         name="round-late-extend"),
    path("secretariat/rounds/<int:pk>/late/<int:assignment_pk>/replace/", views.replace_late_expert,
         name="round-late-replace"),
    path("secretariat/experts/<int:pk>/timeliness/", views.expert_timeliness, name="expert-timeliness"),
]
