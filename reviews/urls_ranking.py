"""Aggregation and ranking (评审结果与排序), for the secretariat and the committee."""

from django.urls import path

from .views import ranking

urlpatterns = [
    path("ranking/", ranking.ranking_index, name="ranking-index"),
    path("ranking/classes/<int:pk>/", ranking.class_ranking_view, name="class-ranking"),
    path("ranking/classes/<int:pk>/scores.xlsx", ranking.class_ranking_xlsx, name="class-ranking-xlsx"),
    path("ranking/classes/<int:pk>/summary.docx", ranking.class_ranking_docx, name="class-ranking-docx"),
    path("ranking/proposals/<int:round_pk>/<int:project_pk>/", ranking.proposal_reviews, name="ranking-proposal"),
]
