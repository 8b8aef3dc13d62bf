"""Admin of calls, projects, change requests and the log, for the secretariat.

The ``state`` of a call, a project or a change request is never a form field:
it moves only through its steps. The change page of such a record shows one
button per step the user may take now (``services.available_transitions``);
each leads to a small confirmation page that asks for the reason (and the grade
of an appraisal) and calls ``services.perform``, the one entry point for every
step, so the admin runs the same permissions, guards and log as every other
page. The transition log and the number sequences are read-only for everybody.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import access
from .models import (
    Attachment,
    BudgetLine,
    Call,
    CallClass,
    ChangeRequest,
    Grade,
    GuideTopic,
    Member,
    NumberSequence,
    PlannedOutput,
    Project,
    ProjectDocument,
    TransitionLog,
)
from .services import TransitionRefused, available_transitions, perform, refusals, step_label, transitions_of


def _not_editable(model):
    """Names of the fields the model marks ``editable=False`` (milestones, numbers, timestamps)."""
    return [f.name for f in model._meta.concrete_fields if not f.editable and not f.primary_key]


# ---- steps (transitions) from the admin ---------------------------------------------------


class StepForm(forms.Form):
    """What a step asks for: a reason always, a grade for ``appraise``, a deadline for a failed mid-term.

    Nothing is required here: the step's own guards decide (``reason_given``,
    ``grade_given``) and speak through ``TransitionRefused``.
    """

    reason = forms.CharField(
        label=_("Reason or remark"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text=_("Kept in the record's history, where the people concerned can read it."),
    )
    grade = forms.ChoiceField(label=_("Grade"), required=False, choices=[("", "---------"), *Grade.choices])
    rectification_deadline = forms.DateField(
        label=_("Rectification deadline"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    # The extra fields each step takes, passed to ``perform`` as parameters.
    PARAMS = {"appraise": ["grade"], "fail_midterm": ["rectification_deadline"]}

    def __init__(self, *args, step, **kwargs):
        super().__init__(*args, **kwargs)
        self.step = step
        for name in ("grade", "rectification_deadline"):
            if name not in self.PARAMS.get(step, []):
                del self.fields[name]

    def params(self):
        return {name: self.cleaned_data.get(name) for name in self.PARAMS.get(self.step, [])}


class StepsAdminMixin:
    """Adds the step buttons to the change page and the confirmation page behind them."""

    change_form_template = "admin/projects/transition_change_form.html"
    step_template = "admin/projects/transition_confirm.html"

    def _url_name(self, view):
        opts = self.model._meta
        return f"{opts.app_label}_{opts.model_name}_{view}"

    def get_urls(self):
        extra = [
            path(
                "<path:object_id>/step/<str:name>/",
                self.admin_site.admin_view(self.step_view),
                name=self._url_name("step"),
            )
        ]
        # Before the default patterns: their catch-all "<path:object_id>/" would swallow ours.
        return extra + super().get_urls()

    def _admin_url(self, view, *args):
        return reverse(f"admin:{self._url_name(view)}", args=args, current_app=self.admin_site.name)

    def own_page_of(self, obj, name):
        """The page where step ``name`` is taken with what it needs (a checklist, a report, the
        meeting's votes), or None when the admin's confirmation form is enough."""
        return None

    def step_buttons(self, request, obj):
        """[(label, url)] of the steps ``request.user`` may take on ``obj`` now."""
        return [
            (step_label(self.model, name), self.own_page_of(obj, name) or self._admin_url("step", quote(obj.pk), name))
            for name in available_transitions(obj, request.user)
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        obj = self.get_object(request, unquote(object_id))
        if obj is not None and self.has_view_or_change_permission(request, obj):
            extra_context["step_buttons"] = self.step_buttons(request, obj)
            extra_context["current_state"] = obj.get_state_display()
        return super().change_view(request, object_id, form_url, extra_context)

    def step_view(self, request, object_id, name):
        """Confirm one step: GET shows the form, POST runs it through ``perform``."""
        if name not in transitions_of(self.model):
            raise Http404(gettext("“%(step)s” is not a step of this record.") % {"step": name})
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404(gettext("This record does not exist."))
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        own_page = self.own_page_of(obj, name)
        if own_page:
            messages.info(request, gettext("Take this step on its own page."))
            return HttpResponseRedirect(own_page)
        change_url = self._admin_url("change", quote(obj.pk))
        label = step_label(self.model, name)

        if request.method == "POST":
            form = StepForm(request.POST, step=name)
            if form.is_valid():
                try:
                    perform(obj, name, by=request.user, reason=form.cleaned_data["reason"], **form.params())
                except TransitionRefused as refusal:
                    for message in refusal.messages:
                        messages.error(request, message)
                else:
                    messages.success(request, gettext("Done: %(step)s.") % {"step": label})
                    return HttpResponseRedirect(change_url)
            blocked = []
        else:
            form = StepForm(step=name)
            # A stale button (someone else moved the record on): say why at once.
            blocked = [] if name in available_transitions(obj, request.user) else refusals(obj, name, by=request.user)

        opts = self.model._meta
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("%(step)s: %(record)s") % {"step": label, "record": obj},
            "subtitle": None,
            "opts": opts,
            "app_label": opts.app_label,
            "original": obj,
            "step": name,
            "step_label": label,
            "current_state": obj.get_state_display(),
            "form": form,
            "blocked": blocked,
            "change_url": change_url,
            "has_view_permission": self.has_view_permission(request, obj),
            "media": self.media + form.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.step_template, context)


# ---- calls ----------------------------------------------------------------------------------


class CallClassInline(admin.TabularInline):
    model = CallClass
    extra = 0
    fields = ["code", "name", "quota", "experts_per_proposal", "duration_months", "funding", "rules"]


class GuideTopicInline(admin.TabularInline):
    model = GuideTopic
    extra = 0
    fields = ["number", "title", "call_class"]

    def get_formset(self, request, obj=None, **kwargs):
        """A topic's class is one of its own call's classes."""
        formset = super().get_formset(request, obj, **kwargs)
        field = formset.form.base_fields.get("call_class")
        if field is not None:
            field.queryset = CallClass.objects.filter(call=obj) if obj else CallClass.objects.none()
        return formset


@admin.register(Call)
class CallAdmin(StepsAdminMixin, admin.ModelAdmin):
    list_display = ["title", "year", "state", "opens_at", "deadline"]
    list_filter = ["state", "year"]
    search_fields = ["title"]
    date_hierarchy = "opens_at"
    readonly_fields = ["state", *_not_editable(Call)]
    fields = ["year", "title", "description", "state", "opens_at", "deadline", "notice_days", "guide_document", "created_at"]
    inlines = [CallClassInline, GuideTopicInline]


@admin.register(CallClass)
class CallClassAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "call", "quota", "experts_per_proposal", "duration_months", "funding"]
    list_filter = ["call", "code"]
    list_select_related = ["call"]
    search_fields = ["code", "name", "call__title"]


@admin.register(GuideTopic)
class GuideTopicAdmin(admin.ModelAdmin):
    list_display = ["number", "title", "call", "call_class"]
    list_filter = ["call"]
    list_select_related = ["call", "call_class"]
    search_fields = ["title"]


# ---- projects ----------------------------------------------------------------------------


class MemberInline(admin.TabularInline):
    model = Member
    extra = 0
    fields = ["order", "name", "title", "unit", "task", "user"]
    autocomplete_fields = ["user"]


class BudgetLineInline(admin.TabularInline):
    model = BudgetLine
    extra = 0
    fields = ["category", "amount", "note"]


class PlannedOutputInline(admin.TabularInline):
    model = PlannedOutput
    extra = 0
    fields = ["kind", "title", "planned_date"]


class AttachmentInline(admin.TabularInline):
    """Files are uploaded through the application form, which checks and cleans them."""

    model = Attachment
    extra = 0
    fields = ["original_name", "part", "content_type", "size", "removed_metadata", "uploaded_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


PROJECT_READONLY = ["state", *_not_editable(Project)]


@admin.register(Project)
class ProjectAdmin(StepsAdminMixin, admin.ModelAdmin):
    list_display = ["number", "receipt_number", "title", "call_class", "pi", "institution", "state"]
    list_display_links = ["number", "receipt_number", "title"]
    list_filter = ["call", "call_class", "state", "institution"]
    list_select_related = ["call_class", "pi", "institution"]
    search_fields = ["title", "number", "receipt_number", "pi__real_name"]
    search_help_text = _("Search by title, project number, receipt number or the PI's name.")
    readonly_fields = PROJECT_READONLY
    autocomplete_fields = ["pi", "institution"]
    inlines = [MemberInline, PlannedOutputInline, BudgetLineInline, AttachmentInline]
    fieldsets = [
        (
            _("Application"),
            {
                "fields": [
                    ("state", "receipt_number", "number"),
                    "call",
                    "call_class",
                    "guide_topic",
                    "title",
                    "keywords",
                    "research_type",
                    "discipline",
                    "planned_end_date",
                    "output_form",
                    "abstract",
                    "pi",
                    "institution",
                ]
            },
        ),
        (
            _("Anonymous argument (活页)"),
            {
                "classes": ["collapse"],
                "fields": ["basis", "content", "approach", "innovation", "expected_outcomes", "foundation", "references"],
            },
        ),
        (
            _("Milestones"),
            {
                "fields": [
                    name
                    for name in PROJECT_READONLY
                    if name not in ("state", "receipt_number", "number")
                ]
            },
        ),
    ]

    def save_related(self, request, form, formsets, change):
        """Keep guardian's object permissions in step with a changed PI, unit or member list."""
        super().save_related(request, form, formsets, change)
        access.sync_object_permissions(form.instance)

    def own_page_of(self, obj, name):
        from .views.project import OWN_PAGE_STEPS, own_page_url

        return own_page_url(OWN_PAGE_STEPS[name], obj) if name in OWN_PAGE_STEPS else None


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ["name", "title", "unit", "task", "project", "user"]
    list_select_related = ["project", "user"]
    search_fields = ["name", "unit", "project__title", "project__number"]
    autocomplete_fields = ["project", "user"]


@admin.register(ChangeRequest)
class ChangeRequestAdmin(StepsAdminMixin, admin.ModelAdmin):
    """Change requests (变更申请) are opened by the PI (``services.request_change``), never here."""

    list_display = ["project", "kind", "requested_by", "created_at", "state", "decided_at"]
    list_filter = ["state", "kind"]
    list_select_related = ["project", "requested_by"]
    search_fields = ["project__title", "project__number", "requested_by__real_name"]
    date_hierarchy = "created_at"
    readonly_fields = ["state", "project", "kind", "requested_by", "created_at", *_not_editable(ChangeRequest)]
    autocomplete_fields = ["new_pi"]
    fields = [
        "project",
        "kind",
        "state",
        "requested_by",
        "created_at",
        "explanation",
        "extension_months",
        "new_title",
        "new_content",
        "new_pi",
        "new_output_form",
        "member_changes",
        "decided_at",
    ]

    def has_add_permission(self, request):
        # Opening a request runs the change rules and writes the log: only request_change does that.
        return False


# ---- read-only records -------------------------------------------------------------------


class ReadOnlyAdmin(admin.ModelAdmin):
    """Nobody adds, changes or deletes these rows here, superusers included."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TransitionLog)
class TransitionLogAdmin(ReadOnlyAdmin):
    list_display = ["at", "project", "record", "transition", "from_state", "to_state", "actor", "reason"]
    list_filter = ["transition", "to_state", "content_type"]
    list_select_related = ["project", "actor", "content_type"]
    search_fields = ["project__title", "project__number", "project__receipt_number"]
    search_help_text = _("Search by the project's title or number.")
    date_hierarchy = "at"

    @admin.display(description=_("record"))
    def record(self, entry):
        return f"{entry.content_type.name} #{entry.object_id}"


@admin.register(NumberSequence)
class NumberSequenceAdmin(ReadOnlyAdmin):
    list_display = ["key", "last"]
    search_fields = ["key"]


@admin.register(ProjectDocument)
class ProjectDocumentAdmin(ReadOnlyAdmin):
    """The built 申请书 and 活页; rebuilt by the ``build_documents`` task, never edited."""

    list_display = ["project", "kind", "built_at"]
    list_filter = ["kind"]
    list_select_related = ["project"]
    search_fields = ["project__title", "project__receipt_number"]
