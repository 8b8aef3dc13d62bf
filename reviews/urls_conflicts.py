"""URLs of 回避: the secretariat's conflicts and the applicant's requests to exclude experts."""

from django.urls import path

from .views import conflicts

urlpatterns = [
    path("secretariat/conflicts/", conflicts.conflict_list, name="conflict-list"),
    path("secretariat/conflicts/check/", conflicts.conflict_check, name="conflict-check"),
    path("secretariat/conflicts/<int:pk>/decide/", conflicts.conflict_decide, name="conflict-decide"),
    path("projects/<int:pk>/avoid/", conflicts.project_avoid, name="project-avoid"),
]
