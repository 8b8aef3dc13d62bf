"""Admin of the archive's records: imported ones may be corrected here; managed ones follow their project."""

from django.contrib import admin
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from .models import Record, RecordSource
from .tasks import index_records, remove_numbers


@admin.register(Record)
class RecordAdmin(admin.ModelAdmin):
    list_display = ["number", "title", "class_code", "year", "pi_name", "unit_name", "state", "grade", "source"]
    list_filter = ["source", "state", "class_code", "year", "grade"]
    search_fields = ["number", "title", "pi_name", "unit_name"]
    search_help_text = _("Search by number, title, PI or unit.")
    readonly_fields = ["source", "project", "updated_at"]

    def has_change_permission(self, request, obj=None):
        """A record that follows a managed project is rewritten by the workflow, never edited here."""
        if obj is not None and obj.source == RecordSource.WORKFLOW:
            return False
        return super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.source = RecordSource.IMPORT
        super().save_model(request, obj, form, change)
        numbers = [obj.number]
        transaction.on_commit(lambda: index_records.delay(numbers))

    def delete_model(self, request, obj):
        numbers = [obj.number]
        super().delete_model(request, obj)
        transaction.on_commit(lambda: remove_numbers.delay(numbers))
