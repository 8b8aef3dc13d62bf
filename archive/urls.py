"""The archive's URLs, with full paths: config/urls.py includes this module at the root."""

from django.urls import path

from . import api, views

urlpatterns = [
    path("archive/", views.search_page, name="archive-search"),
    path("archive/export.xlsx", views.export, name="archive-export"),
    path("archive/projects/<path:number>/", views.project_page, name="archive-project"),
    path("secretariat/archive/", views.staff_search_page, name="archive-staff-search"),
    path("api/archive/search", api.search, name="archive-api-search"),
    path("api/archive/projects/<path:number>", api.project, name="archive-api-project"),
    path("api/archive/openapi.json", api.openapi, name="archive-openapi"),
]
