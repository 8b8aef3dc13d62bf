"""Admin of the review app: read-mostly, for looking things up.

Everything that matters happens on the review pages, through the functions that
keep the rules: experts come in by invitation or the sheet (``pool``), so that
they get the role and the mail; conflicts are decided with a reason
(``conflicts.decide_conflict``); rounds open and close through ``rounds``, which
calls ``projects.services.perform``. Here, a round's name and an expert's profile
may be corrected; the round's state is never a form field, and reviews,
assignments, conflicts, runs, signatures and reminders are read-only for
everybody, superusers included.
"""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from projects.admin import ReadOnlyAdmin

from .forms import TermsField
from .models import (
    Assignment,
    AssignmentRun,
    AvoidRequest,
    Conflict,
    DeclarationSignature,
    ExpertDeclaration,
    ExpertProfile,
    Reminder,
    Review,
    ReviewRound,
)


class ExpertProfileAdminForm(forms.ModelForm):
    disciplines = TermsField(label=_("disciplines"), required=False)
    keywords = TermsField(label=_("research keywords"), required=False)

    class Meta:
        model = ExpertProfile
        fields = ["disciplines", "keywords", "profile_text", "title", "institution", "unit_name", "load_limit", "active"]


@admin.register(ExpertProfile)
class ExpertProfileAdmin(admin.ModelAdmin):
    """Experts are added by invitation or import (role and mail follow), and deactivated, not deleted."""

    form = ExpertProfileAdminForm
    list_display = ["__str__", "unit_label", "title", "load_limit", "active"]
    list_filter = ["active"]
    list_select_related = ["user", "institution"]
    search_fields = ["user__real_name", "user__username", "user__email", "unit_name", "institution__name"]
    readonly_fields = ["user", "created_at", "updated_at"]
    fields = ["user", *ExpertProfileAdminForm.Meta.fields, "created_at", "updated_at"]
    autocomplete_fields = ["institution"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ReviewRound)
class ReviewRoundAdmin(admin.ModelAdmin):
    """Only the name may be corrected; rounds are made, assigned, opened and closed on the round pages."""

    list_display = ["name", "call_class", "stage", "state", "deadline", "opened_at", "closed_at"]
    list_filter = ["state", "stage"]
    list_select_related = ["call_class", "call_class__call"]
    search_fields = ["name"]
    readonly_fields = [
        "call_class", "stage", "state", "form", "experts_per_proposal", "load_limit", "deadline",
        "answer_within_days", "experts_see_each_other", "opened_at", "closed_at", "created_by", "created_at",
    ]
    fields = ["name", *readonly_fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    list_display = ["round", "project", "expert", "status", "source", "alias_number", "invited_at", "responded_at"]
    list_filter = ["status", "source", "round"]
    list_select_related = ["round", "project", "expert__user"]
    search_fields = ["expert__user__real_name", "project__title", "project__receipt_number"]
    exclude = ["token"]  # the expert's key to the dossier is not shown


@admin.register(AssignmentRun)
class AssignmentRunAdmin(ReadOnlyAdmin):
    list_display = ["round", "number", "total_affinity", "feasible", "created_by", "created_at", "undone_at"]
    list_select_related = ["round", "created_by"]


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = ["assignment", "state", "total", "recommendation", "submitted_at"]
    list_filter = ["state"]
    list_select_related = ["assignment__round", "assignment__expert__user"]
    search_fields = ["assignment__expert__user__real_name", "assignment__project__title"]
    exclude = ["assignment"]
    readonly_fields = ["round", "proposal", "expert"]

    @admin.display(description=_("round"))
    def round(self, review):
        return review.assignment.round

    @admin.display(description=_("proposal"))
    def proposal(self, review):
        return review.assignment.project

    @admin.display(description=_("expert"))
    def expert(self, review):
        return review.assignment.expert


@admin.register(Conflict)
class ConflictAdmin(ReadOnlyAdmin):
    list_display = ["project", "expert", "reason", "status", "decided_by", "decided_at"]
    list_filter = ["status", "reason"]
    list_select_related = ["project", "expert__user", "decided_by"]
    search_fields = ["expert__user__real_name", "project__title", "project__receipt_number"]


@admin.register(ExpertDeclaration)
class ExpertDeclarationAdmin(ReadOnlyAdmin):
    list_display = ["expert", "kind", "person_name", "person_unit", "created_at"]
    list_filter = ["kind"]
    list_select_related = ["expert__user"]


@admin.register(AvoidRequest)
class AvoidRequestAdmin(ReadOnlyAdmin):
    list_display = ["project", "name", "unit", "state", "expert", "decided_at"]
    list_filter = ["state", "stage"]
    list_select_related = ["project", "expert__user"]


@admin.register(DeclarationSignature)
class DeclarationSignatureAdmin(ReadOnlyAdmin):
    list_display = ["expert", "round", "signed_at"]
    list_select_related = ["expert__user", "round"]


@admin.register(Reminder)
class ReminderAdmin(ReadOnlyAdmin):
    list_display = ["expert", "kind", "day", "sent_at"]
    list_filter = ["kind"]
    list_select_related = ["expert__user"]
