"""Forms of the application steps, the unit's endorsement and the secretariat's formal check.

Each rule of DESIGN.md is checked where the applicant types, with the same
message the submission guard would give (``guards.title_problem`` and friends).
"""

import re

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from accounts.models import Institution

from . import guards as g
from .models import ARGUMENT_FIELDS, AttachmentPart, BudgetLine, Member, PlannedOutput, Project
from .rules import rule
from .workflow import ProjectState

KEYWORD_SEPARATORS = re.compile(r"[,，;；、\s]+")


def split_keywords(text):
    return [k for k in KEYWORD_SEPARATORS.split(text or "") if k]


class BasicForm(forms.ModelForm):
    keywords = forms.CharField(
        label=_("Keywords"),
        required=False,
        help_text=_("At most three, separated by “；” or commas."),
    )

    class Meta:
        model = Project
        fields = ["call_class", "guide_topic", "is_free_topic", "title", "keywords", "research_type", "discipline",
                  "planned_end_date"]
        widgets = {"planned_end_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        call = self.instance.call
        self.fields["call_class"].queryset = call.classes.all()
        self.fields["call_class"].empty_label = None
        self.fields["guide_topic"].queryset = call.topics.all()
        self.fields["guide_topic"].required = False
        self.fields["title"].required = False
        self.fields["title"].widget.attrs["maxlength"] = 200
        if not self.is_bound:
            self.initial["keywords"] = "；".join(self.instance.keywords or [])

    def _call_class(self):
        return self.cleaned_data.get("call_class") or self.instance.call_class

    def clean_title(self):
        title = (self.cleaned_data.get("title") or "").strip()
        if title:
            problem = g.title_problem(title, self._call_class())
            if problem:
                raise forms.ValidationError(problem)
        return title

    def clean_keywords(self):
        keywords = split_keywords(self.cleaned_data.get("keywords"))
        if len(keywords) > rule("MAX_KEYWORDS", self._call_class()):
            raise forms.ValidationError(g.keywords_problem(keywords, self._call_class()))
        return keywords

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("guide_topic") and cleaned.get("is_free_topic"):
            self.add_error("is_free_topic", _("Choose a guide topic or a free topic, not both."))
        return cleaned


class PIForm(forms.ModelForm):
    """The PI's own data, kept on their profile (the unit is changed on the profile page)."""

    class Meta:
        model = get_user_model()
        fields = ["real_name", "phone", "title", "title_level"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("real_name", "phone", "title"):
            self.fields[name].required = True


class LabelledRowForm(forms.ModelForm):
    """A row of a table of forms: each input carries its label, as the column header is not a label."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.setdefault("aria-label", str(field.label))


class MemberForm(LabelledRowForm):
    class Meta:
        model = Member
        fields = ["name", "title", "unit", "task", "order"]
        widgets = {"order": forms.NumberInput(attrs={"min": 0, "style": "width:4em"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["order"].required = False

    def has_changed(self):
        """An empty extra row stays empty even though its order box shows the default."""
        return bool(set(self.changed_data) - {"order"})

    def clean(self):
        cleaned = super().clean()
        if self.has_changed() and cleaned.get("name") and not cleaned.get("DELETE"):
            for name in ("title", "unit", "task"):
                if not cleaned.get(name):
                    self.add_error(name, _("Required for every member."))
        return cleaned


MemberFormSet = forms.inlineformset_factory(
    Project, Member, form=MemberForm, extra=2, can_delete=True, min_num=0
)


class ArgumentForm(forms.ModelForm):
    class Meta:
        model = Project
        fields = [*ARGUMENT_FIELDS, "place_names"]
        widgets = {name: forms.Textarea(attrs={"rows": 8, "data-count": "argument"}) for name in ARGUMENT_FIELDS}
        labels = {"place_names": _("Place names of the team (checked, never shown to experts)")}

    def clean(self):
        cleaned = super().clean()
        length = sum(len(cleaned.get(name) or "") for name in ARGUMENT_FIELDS)
        problem = g.argument_problem(length, self.instance.call_class)
        if problem:
            raise forms.ValidationError(problem)
        return cleaned


class PlannedOutputForm(LabelledRowForm):
    class Meta:
        model = PlannedOutput
        fields = ["kind", "title", "planned_date"]
        widgets = {"planned_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}


PlannedOutputFormSet = forms.inlineformset_factory(
    Project, PlannedOutput, form=PlannedOutputForm, extra=2, can_delete=True
)


class BudgetLineForm(LabelledRowForm):
    class Meta:
        model = BudgetLine
        fields = ["category", "amount", "note"]

    def clean_amount(self):
        amount = self.cleaned_data["amount"]
        if amount is not None and amount <= 0:
            raise forms.ValidationError(_("Give a positive amount."))
        return amount


class BaseBudgetFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        total = sum(
            f.cleaned_data.get("amount") or 0
            for f in self.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE")
        )
        funding = self.instance.call_class.funding
        if funding and total > funding:
            raise forms.ValidationError(
                _("The budget (%(total)s yuan) exceeds the funding of the class (%(funding)s yuan).")
                % {"total": total, "funding": funding}
            )


BudgetFormSet = forms.inlineformset_factory(
    Project, BudgetLine, form=BudgetLineForm, formset=BaseBudgetFormSet, extra=3, can_delete=True
)


class AttachmentForm(forms.Form):
    part = forms.ChoiceField(label=_("Part"), choices=AttachmentPart.choices)
    file = forms.FileField(
        label=_("File"),
        required=False,
        help_text=_("PDF, Word (.docx), PNG or JPEG; at most %(mb)d MB.") % {"mb": settings.UPLOAD_MAX_BYTES // 2**20},
    )


class PledgeForm(forms.Form):
    accept = forms.BooleanField(label=_("I accept the pledge above."), required=False)


# ---- unit and secretariat -------------------------------------------------------------------


class BulkEndorseForm(forms.Form):
    projects = forms.ModelMultipleChoiceField(queryset=Project.objects.none(), widget=forms.CheckboxSelectMultiple)
    opinion = forms.CharField(label=_("Opinion of the unit"), widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args, queryset, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["projects"].queryset = queryset


REJECTION_REASONS = [
    ("ineligible", _("The applicant is not eligible")),  # 申请人不符合资格
    ("off_guide", _("Off the guide")),  # 不符合课题指南
    ("incomplete", _("Incomplete application")),  # 材料不全
    ("identity", _("Identity in the anonymous part")),  # 活页透露身份信息
    ("false_data", _("False data")),  # 填报信息不实
]

FORMAL_CHECKLIST = [
    ("eligibility", _("The PI and the team meet the eligibility rules")),
    ("guide", _("The topic fits the guide (or is an admissible free topic)")),
    ("complete", _("Every part of the application is complete")),
    ("anonymous", _("The anonymous part reveals no identity")),
    ("truthful", _("The data given are plausible and consistent")),
]


FORMAL_CHECK_DECISIONS = ("pass_formal_check", "return_for_revision", "reject_formal")


class FormalCheckForm(forms.Form):
    DECISIONS = [
        ("pass_formal_check", _("Pass")),
        ("return_for_revision", _("Return for revision")),
        ("reject_formal", _("Reject (not accepted)")),
    ]
    checklist = forms.MultipleChoiceField(
        label=_("Checklist"), choices=FORMAL_CHECKLIST, widget=forms.CheckboxSelectMultiple, required=False
    )
    decision = forms.ChoiceField(label=_("Decision"), choices=DECISIONS, widget=forms.RadioSelect)
    rejection_reason = forms.ChoiceField(
        label=_("Reason for rejection"), choices=[("", "—"), *REJECTION_REASONS], required=False
    )
    remarks = forms.CharField(label=_("Remarks to the applicant"), widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def clean(self):
        cleaned = super().clean()
        decision = cleaned.get("decision")
        if decision == "pass_formal_check" and len(cleaned.get("checklist") or []) < len(FORMAL_CHECKLIST):
            self.add_error("checklist", _("Tick every item of the checklist before passing the application."))
        if decision == "reject_formal" and not cleaned.get("rejection_reason"):
            self.add_error("rejection_reason", _("Choose the reason for the rejection."))
        if decision == "return_for_revision" and not (cleaned.get("remarks") or "").strip():
            self.add_error("remarks", _("Say what the applicant must revise."))
        return cleaned

    def reason_text(self):
        """The reason written to the log: the chosen reason and the remarks."""
        parts = []
        if self.cleaned_data.get("decision") == "reject_formal":
            parts.append(str(dict(REJECTION_REASONS)[self.cleaned_data["rejection_reason"]]))
        if self.cleaned_data.get("remarks"):
            parts.append(self.cleaned_data["remarks"].strip())
        return "：".join(parts)


class FormalCheckFilterForm(forms.Form):
    call = forms.ModelChoiceField(label=_("Call"), queryset=None, required=False)
    call_class = forms.CharField(label=_("Class"), required=False, max_length=5)
    state = forms.ChoiceField(label=_("State"), required=False)
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=Institution.objects.all(), required=False)

    def __init__(self, *args, **kwargs):
        from .models import Call

        super().__init__(*args, **kwargs)
        self.fields["call"].queryset = Call.objects.all()
        self.fields["state"].choices = [("", _("All states")), *ProjectState.choices]

    def apply(self, queryset):
        if not self.is_valid():
            return queryset
        data = self.cleaned_data
        if data.get("call"):
            queryset = queryset.filter(call=data["call"])
        if data.get("call_class"):
            queryset = queryset.filter(call_class__code=data["call_class"].upper())
        if data.get("state"):
            queryset = queryset.filter(state=data["state"])
        if data.get("unit"):
            queryset = queryset.filter(institution=data["unit"])
        return queryset


