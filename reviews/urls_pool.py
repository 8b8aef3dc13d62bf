"""URLs of the expert pool (专家库): the secretariat's pages, and the expert's own profile."""

from django.urls import path

from .views import pool

urlpatterns = [
    path("secretariat/experts/", pool.expert_pool, name="expert-pool"),
    path("secretariat/experts/import/", pool.expert_import, name="expert-import"),
    path("secretariat/experts/export.xlsx", pool.expert_export, name="expert-export"),
    path("secretariat/experts/invite/", pool.expert_invite, name="expert-invite"),
    path("secretariat/experts/<int:pk>/", pool.expert_edit, name="expert-edit"),
    path("secretariat/experts/<int:pk>/active/", pool.expert_set_active, name="expert-set-active"),
    path("experts/me/", pool.expert_profile_own, name="expert-profile-own"),
]
