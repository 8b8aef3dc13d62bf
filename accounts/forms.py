"""Forms of the accounts pages: registration, the confirmation link, the profile.

Passwords, their validation and usernames that differ only in case are
Django's (``UserCreationForm``); these forms add the person, the unit and the
title, and say what is wrong next to the field concerned.
"""

from django import forms
from django.conf import settings
from django.contrib.auth.forms import UsernameField, UserCreationForm
from django.utils.translation import gettext_lazy as _

from . import services
from .models import Institution, User

PERSON_FIELDS = ("real_name", "phone", "institution", "title", "title_level")

PERSON_WIDGETS = {
    "real_name": forms.TextInput(attrs={"autocomplete": "name"}),
    "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    "title": forms.TextInput(attrs={"autocomplete": "organization-title"}),
}


class PersonFieldsMixin:
    """Name, phone and unit are required here, though the model lets the admin leave them blank."""

    def _set_up_person_fields(self):
        for name in ("real_name", "phone", "institution"):
            self.fields[name].required = True
        unit = self.fields["institution"]
        unit.queryset = Institution.objects.order_by("name")
        unit.empty_label = _("— choose your unit —")
        unit.help_text = _("If your unit is not in the list, write to the secretariat.")


class RegistrationForm(PersonFieldsMixin, UserCreationForm):
    """Registration (注册): the account is created inactive until its e-mail is confirmed."""

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "real_name", "email") + PERSON_FIELDS
        field_classes = {"username": UsernameField}
        widgets = {"email": forms.EmailInput(attrs={"autocomplete": "email"}), **PERSON_WIDGETS}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].required = True
        self.fields["email"].help_text = _("We send a link to this address; you confirm it by opening the link.")
        self._set_up_person_fields()

    def clean_email(self):
        email = User.objects.normalize_email(self.cleaned_data["email"])
        if services.email_taken(email):
            raise forms.ValidationError(services.EMAIL_TAKEN, code="email_taken")
        return email

    def account_data(self):
        """What ``services.register_user`` needs besides the password."""
        return {name: self.cleaned_data[name] for name in self._meta.fields}


class ResendConfirmationForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text=_("The address you registered with."),
    )


class ProfileForm(PersonFieldsMixin, forms.ModelForm):
    """The person's own data (个人信息). A new unit has to confirm the person again."""

    class Meta:
        model = User
        fields = ("real_name", "phone", "title", "title_level", "institution")
        widgets = PERSON_WIDGETS

    def __init__(self, *args, unit_locked=False, **kwargs):
        super().__init__(*args, **kwargs)
        self._set_up_person_fields()
        if unit_locked:
            # A research administrator would otherwise move to another unit and
            # see its people; the secretariat changes an administrator's unit.
            self.fields["institution"].disabled = True
            self.fields["institution"].help_text = services.UNIT_LOCKED
        elif self.instance.institution_id:
            self.fields["institution"].help_text = _(
                "If you choose another unit, its research administrator has to confirm you again."
            )


def mail_language_choices():
    """The site's languages, and empty for "the site's default" (so a later change of default follows)."""
    return [("", _("Site default"))] + list(settings.LANGUAGES)


class MailLanguageForm(forms.ModelForm):
    """The language of mail (邮件语言): mail and inbox messages are written in it.

    Kept apart from ``ProfileForm`` (whose data ``services.update_profile``
    takes field by field); switching the interface language in the header
    changes nothing here.
    """

    language = forms.ChoiceField(
        label=_("Language of mail"),
        required=False,
        choices=mail_language_choices,
        help_text=User._meta.get_field("language").help_text,
    )

    class Meta:
        model = User
        fields = ("language",)
