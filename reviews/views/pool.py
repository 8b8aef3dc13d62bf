"""Pages of the expert pool (专家库): the secretariat's list, sheet, invitations and edits,
and the expert's own profile. The views read the request and call ``reviews.pool``."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import access, pool
from ..forms import XLSX, ExpertFilterForm, ExpertProfileForm, ImportForm, InviteForm, OwnProfileForm
from ..models import ExpertProfile

PER_PAGE = 50


def _secretariat(request):
    if not access.is_secretariat(None, request.user):
        raise PermissionDenied
    return request.user


def _base_url(request):
    """Scheme and host for links in mail sent by tasks, which have no request."""
    return request.build_absolute_uri("/")


def _filtered(request):
    form = ExpertFilterForm(request.GET)
    return form, form.apply(pool.pool_queryset())


@login_required
@require_GET
def expert_pool(request):
    """The pool (专家库), searchable, 50 a page, with each expert's current assignments."""
    _secretariat(request)
    form, experts = _filtered(request)
    page = Paginator(experts, PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "reviews/pool/list.html", {
        "filter": form, "page": page, "experts": page.object_list, "query": query.urlencode(),
    })


@login_required
@require_GET
def expert_export(request):
    """The (filtered) pool in the import sheet's format."""
    _secretariat(request)
    _form, experts = _filtered(request)
    response = HttpResponse(pool.export_experts(experts), content_type=XLSX)
    response["Content-Disposition"] = 'attachment; filename="experts.xlsx"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def expert_import(request):
    """Upload the sheet; every error is shown by row and column, and nothing is kept unless all is right."""
    user = _secretariat(request)
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        report = pool.import_experts(form.cleaned_data["sheet"], by=user, base_url=_base_url(request))
        if report.ok:
            messages.success(request, report.summary())
            return redirect("expert-pool")
    return render(request, "reviews/pool/import.html", {
        "form": form, "report": report, "columns": pool.COLUMNS, "column_help": pool.COLUMN_HELP,
    })


@login_required
@require_http_methods(["GET", "POST"])
def expert_invite(request):
    """Invite one expert by hand (邀请专家)."""
    user = _secretariat(request)
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            profile = pool.invite_expert(by=user, base_url=_base_url(request), **form.invitation())
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("%(name)s has been invited; the mail is on its way.") % {
                "name": profile.user.display_name})
            return redirect("expert-pool")
    return render(request, "reviews/pool/invite.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def expert_edit(request, pk):
    """One expert's profile, as the secretariat keeps it."""
    user = _secretariat(request)
    profile = get_object_or_404(pool.pool_queryset(), pk=pk)
    form = ExpertProfileForm(request.POST or None, initial=ExpertProfileForm.initial_of(profile))
    if request.method == "POST" and form.is_valid():
        pool.update_expert(profile, by=user, **form.cleaned_data)
        messages.success(request, _("The profile has been saved."))
        return redirect("expert-edit", pk=profile.pk)
    return render(request, "reviews/pool/edit.html", {"form": form, "profile": profile})


@login_required
@require_POST
def expert_set_active(request, pk):
    """Take an expert out of the pool (停用) or back in (在库)."""
    user = _secretariat(request)
    profile = get_object_or_404(ExpertProfile.objects.select_related("user"), pk=pk)
    active = request.POST.get("active") == "1"
    pool.set_active(profile, active, by=user)
    if active:
        messages.success(request, _("%(name)s is in the pool again.") % {"name": profile.user.display_name})
    else:
        messages.success(request, _("%(name)s has been taken out of the pool; current assignments stay.") % {
            "name": profile.user.display_name})
    return redirect("expert-edit", pk=profile.pk)


@login_required
@require_http_methods(["GET", "POST"])
def expert_profile_own(request):
    """The expert's own disciplines, keywords and publications (what the assigner matches)."""
    profile = access.expert_profile_of(request.user)
    if profile is None or not access.is_expert(request.user):
        raise PermissionDenied
    form = OwnProfileForm(request.POST or None, initial=OwnProfileForm.initial_of(profile))
    if request.method == "POST" and form.is_valid():
        pool.update_expert(profile, by=request.user, **form.cleaned_data)
        messages.success(request, _("Your profile has been saved."))
        return redirect("expert-profile-own")
    return render(request, "reviews/pool/own.html", {"form": form, "profile": profile})
