"""Forms of the expert pool (专家库): the list's filters, the sheet upload, invitations and profiles.

Disciplines and keywords are lists in the database and text on the page,
separated by 、 or commas, read with the same rule as the Excel sheet
(``pool.split_terms``). The forms only check input; ``reviews.pool`` writes.
"""

from django import forms
from django.db.models import Q
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from projects.rules import rule

from . import pool

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
IMPORT_MAX_BYTES = 10 * 2**20


class TermsField(forms.CharField):
    """A list of short terms typed as text: “成人教育学、终身教育”."""

    def prepare_value(self, value):
        return pool.join_terms(value) if isinstance(value, (list, tuple)) else value

    def to_python(self, value):
        return pool.split_terms(super().to_python(value))


class ExpertFilterForm(forms.Form):
    q = forms.CharField(label=_("Name, username or e-mail"), required=False)
    unit = forms.CharField(label=_("Unit"), required=False)
    discipline = forms.CharField(label=_("Discipline"), required=False)
    keyword = forms.CharField(label=_("Keyword"), required=False)
    active = forms.ChoiceField(
        label=_("In the pool"),
        required=False,
        choices=[("", _("All")), ("yes", _("Active (在库)")), ("no", _("Deactivated (停用)"))],
    )

    def apply(self, queryset):
        """``queryset`` narrowed by the valid filters (an invalid form filters nothing)."""
        if not self.is_valid():
            return queryset
        data = self.cleaned_data
        if data["q"]:
            term = data["q"].strip()
            queryset = queryset.filter(
                Q(user__real_name__icontains=term) | Q(user__username__icontains=term) | Q(user__email__icontains=term)
            )
        if data["unit"]:
            term = data["unit"].strip()
            queryset = queryset.filter(Q(institution__name__icontains=term) | Q(unit_name__icontains=term))
        if data["discipline"]:
            queryset = queryset.filter(pool.json_list_contains("disciplines", data["discipline"].strip()))
        if data["keyword"]:
            queryset = queryset.filter(pool.json_list_contains("keywords", data["keyword"].strip()))
        if data["active"]:
            queryset = queryset.filter(active=data["active"] == "yes")
        return queryset


class ImportForm(forms.Form):
    sheet = forms.FileField(
        label=_("Excel workbook (.xlsx)"),
        help_text=_("The pool's sheet: one expert a row under the headers below; at most 10 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": f".xlsx,{XLSX}"}),
    )

    def clean_sheet(self):
        upload = self.cleaned_data["sheet"]
        if not upload.name.lower().endswith(".xlsx"):
            raise forms.ValidationError(_("Choose an Excel workbook ending in .xlsx."))
        if upload.size > IMPORT_MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than the %(limit)s allowed.") % {
                "limit": filesizeformat(IMPORT_MAX_BYTES)})
        return upload


TERMS_HELP = _("Several separated by 、 or commas.")


class OwnProfileForm(forms.Form):
    """What experts keep up to date themselves: it decides which proposals they are asked to review."""

    disciplines = TermsField(label=_("Disciplines"), required=False, max_length=500, help_text=TERMS_HELP)
    keywords = TermsField(label=_("Research keywords"), required=False, max_length=500, help_text=TERMS_HELP)
    profile_text = forms.CharField(
        label=_("Publications and projects"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("Main publications and projects, one per line."),
    )

    @classmethod
    def initial_of(cls, profile):
        return {name: getattr(profile, name) for name in pool.OWN_FIELDS}


class ExpertProfileForm(OwnProfileForm):
    """The secretariat's view of a profile: the person's name, title and unit, and the load limit too."""

    real_name = forms.CharField(label=_("Name"), max_length=50)
    title = forms.CharField(label=_("Professional title"), max_length=30, required=False)
    unit = forms.CharField(
        label=_("Unit"), max_length=120, required=False,
        help_text=_("Written exactly as a registered unit's name, it is linked to that unit (for 回避)."),
    )
    load_limit = forms.IntegerField(
        label=_("Most proposals per round"), min_value=1, max_value=pool.MAX_LOAD_LIMIT,
    )

    field_order = ["real_name", "title", "unit", "disciplines", "keywords", "profile_text", "load_limit"]

    @classmethod
    def initial_of(cls, profile):
        return {
            **super().initial_of(profile),
            "real_name": profile.user.real_name,
            "title": profile.title,
            "unit": profile.unit_label,
            "load_limit": profile.load_limit,
        }


class InviteForm(ExpertProfileForm):
    """A new expert, by hand (邀请专家); an account with the address is reused."""

    email = forms.EmailField(label=_("E-mail address"), max_length=254)

    field_order = ["email", *ExpertProfileForm.field_order]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["load_limit"].initial = rule("EXPERT_LOAD_LIMIT")

    def invitation(self):
        """The keyword arguments of ``pool.invite_expert``."""
        data = dict(self.cleaned_data)
        return {"email": data.pop("email"), "real_name": data.pop("real_name"), **data}
