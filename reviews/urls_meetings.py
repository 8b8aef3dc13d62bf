"""The committee meeting (会议评审): votes, staged decisions, preview and release."""

from django.urls import path

from .views import meetings

urlpatterns = [
    path("meetings/", meetings.meeting_list, name="meeting-list"),
    path("meetings/new/", meetings.meeting_create, name="meeting-create"),
    path("meetings/<int:pk>/", meetings.meeting_detail, name="meeting-detail"),
    path("meetings/<int:pk>/vote/<int:project_pk>/", meetings.meeting_vote, name="meeting-vote"),
    path("meetings/<int:pk>/stage/<int:project_pk>/", meetings.meeting_stage, name="meeting-stage"),
    path("meetings/<int:pk>/decline-others/", meetings.meeting_decline_others, name="meeting-decline-others"),
    path("meetings/<int:pk>/release/", meetings.meeting_release, name="meeting-release"),
]
