"""URLs of the archive's import, year export and statistics, with full paths (included at the root)."""

from django.urls import path

from . import views_staff

urlpatterns = [
    path("secretariat/archive/import/", views_staff.archive_import, name="archive-import"),
    path("secretariat/archive/export.xlsx", views_staff.export_year, name="archive-export-year"),
    path("archive/statistics/", views_staff.statistics_page, name="archive-statistics"),
    path("archive/statistics.xlsx", views_staff.statistics_export, name="archive-statistics-xlsx"),
]
