"""Pages of the accounts app: registration and its confirmation link, the profile, the unit's people.

Logging in and out and the passwords are Django's own views (see ``urls``);
these views only read the request and call ``services``.
"""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from config.ratelimits import limited

from . import services
from .forms import ProfileForm, RegistrationForm, ResendConfirmationForm
from .models import User

# The confirmation link logs the person in; of the configured backends, the
# one that knows passwords and active accounts.
LOGIN_BACKEND = "django.contrib.auth.backends.ModelBackend"
MEMBERS_PER_PAGE = 100


def _base_url(request):
    """Scheme and host for links in mail sent by tasks, which have no request."""
    return request.build_absolute_uri("/")


@sensitive_post_parameters("password1", "password2")
@limited("forms")
def register(request):
    """Registration (注册)."""
    if request.user.is_authenticated:
        return redirect("dashboard")
    form = RegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.register_user(
                password=form.cleaned_data["password1"], base_url=_base_url(request), **form.account_data()
            )
        except ValidationError as error:  # the address was taken since the form checked it
            form.add_error(None, error)
        else:
            return redirect("register-done")
    return render(request, "accounts/register.html", {"form": form})


def register_done(request):
    return render(request, "accounts/register_done.html")


@never_cache
def confirm_email(request, uidb64, token):
    """The link in the confirmation mail: activate, log in, go to the dashboard."""
    user = services.confirm_email(uidb64, token)
    if user is None:
        return render(request, "accounts/confirm_invalid.html", {"form": ResendConfirmationForm()})
    login(request, user, backend=LOGIN_BACKEND)
    messages.success(request, _("Your e-mail address is confirmed. Welcome!"))
    return redirect("dashboard")


@limited("forms")
def confirm_resend(request):
    """Ask for a new link. The answer is the same whether the address is registered or not."""
    form = ResendConfirmationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.resend_confirmation(form.cleaned_data["email"], base_url=_base_url(request))
        return redirect("confirm-resend-done")
    return render(request, "accounts/confirm_resend.html", {"form": form})


def confirm_resend_done(request):
    return render(request, "accounts/confirm_resend_done.html")


@login_required
def profile(request):
    """The person's own data (个人信息) and whether their unit has confirmed them."""
    # The form works on its own copy, so that an invalid submission does not
    # show up in the page's header and status as if it had been saved.
    person = User.objects.select_related("institution").get(pk=request.user.pk)
    unit_locked = services.administers(request.user, person.institution_id)
    form = ProfileForm(request.POST or None, instance=person, unit_locked=unit_locked)
    if request.method == "POST" and form.is_valid():
        before = request.user.institution_id
        saved = services.update_profile(request.user, **form.cleaned_data)
        messages.success(request, _("Your profile is saved."))
        if saved.institution_id != before and saved.institution_id:
            messages.info(request, _("Your new unit's research administrator has to confirm you."))
        return redirect("profile")
    return render(request, "accounts/profile.html", {"form": form, "person": request.user})


def _administered_institution(request):
    institution = services.administered_institution(request.user)
    if institution is None:
        raise PermissionDenied
    return institution


@login_required
def unit_members(request):
    """The people who chose the administrator's unit (单位人员确认), unconfirmed first."""
    institution = _administered_institution(request)
    people = services.unit_members(request.user)
    page = Paginator(people, MEMBERS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "accounts/unit_members.html",
        {"institution": institution, "page": page, "people": page.object_list},
    )


def _confirm(request, ids):
    try:
        wanted = {int(pk) for pk in ids}
    except ValueError:
        raise Http404 from None
    if not wanted:
        messages.error(request, _("Select at least one person to confirm."))
        return redirect("unit-members")
    users = list(User.objects.filter(pk__in=wanted))
    if len(users) != len(wanted):
        raise Http404
    try:
        count = services.confirm_membership(request.user, users)
    except services.NotInUnit:
        raise Http404 from None
    if count:
        text = ngettext("%(count)d person confirmed.", "%(count)d people confirmed.", count) % {"count": count}
    else:
        text = _("They were confirmed already.")
    messages.success(request, text)
    return redirect("unit-members")


@login_required
@require_POST
def unit_member_confirm(request, pk):
    _administered_institution(request)
    return _confirm(request, [pk])


@login_required
@require_POST
def unit_members_confirm(request):
    """The “confirm selected” action."""
    _administered_institution(request)
    return _confirm(request, request.POST.getlist("selected"))


@login_required
@require_POST
def unit_member_remove(request, pk):
    _administered_institution(request)
    person = get_object_or_404(User, pk=pk)
    try:
        services.remove_membership(request.user, person)
    except services.NotInUnit:
        raise Http404 from None
    messages.success(
        request, _("%(name)s is no longer listed as one of your unit's people.") % {"name": person.display_name}
    )
    return redirect("unit-members")
