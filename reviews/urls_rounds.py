"""The secretariat's review rounds: /secretariat/rounds/…"""

from django.urls import path

from .views import rounds

urlpatterns = [
    path("secretariat/rounds/", rounds.round_list, name="round-list"),
    path("secretariat/rounds/new/", rounds.round_create, name="round-create"),
    path("secretariat/rounds/<int:pk>/", rounds.round_detail, name="round-detail"),
    path("secretariat/rounds/<int:pk>/proposals/", rounds.add_proposals, name="round-add-proposals"),
    path("secretariat/rounds/<int:pk>/check-conflicts/", rounds.check_conflicts, name="round-check-conflicts"),
    path("secretariat/rounds/<int:pk>/diagnose/", rounds.diagnose, name="round-diagnose"),
    path("secretariat/rounds/<int:pk>/run/", rounds.run, name="round-run"),
    path("secretariat/rounds/<int:pk>/runs/<int:number>/", rounds.run_detail, name="round-run-detail"),
    path("secretariat/rounds/<int:pk>/runs/<int:number>/undo/", rounds.undo, name="round-run-undo"),
    path("secretariat/rounds/<int:pk>/add/", rounds.add_by_hand, name="round-add"),
    path("secretariat/rounds/<int:pk>/assignments/<int:assignment_pk>/remove/", rounds.remove,
         name="round-assignment-remove"),
    path("secretariat/rounds/<int:pk>/assignments/<int:assignment_pk>/lock/", rounds.lock,
         name="round-assignment-lock"),
    path("secretariat/rounds/<int:pk>/open/", rounds.open_round, name="round-open"),
    path("secretariat/rounds/<int:pk>/close/", rounds.close_round, name="round-close"),
]
