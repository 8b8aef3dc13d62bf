"""Pages of 回避: the secretariat's list of conflicts with its decisions, and the applicant's
requests to exclude experts (申请回避).

Thin views over ``reviews.conflicts``. The secretariat sees proposals with their titles and
receipt numbers; the applicant sees only the state of each request, never which expert of
the pool it matched.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, Value, When
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from projects.access import is_pi, is_secretariat
from projects.models import Call, Project
from projects.rules import rule
from projects.services import TransitionRefused

from .. import conflicts
from ..models import AvoidRequestState, Conflict, ConflictReason, ConflictStatus, Stage

PAGE_SIZE = 50


def _secretariat(request):
    if not is_secretariat(None, request.user):
        raise PermissionDenied
    return request.user


class ConflictFilterForm(forms.Form):
    call = forms.ModelChoiceField(label=gettext_lazy("Call"), queryset=Call.objects.none(), required=False)
    reason = forms.ChoiceField(label=gettext_lazy("Reason"), required=False)
    status = forms.ChoiceField(label=gettext_lazy("Status"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["call"].queryset = Call.objects.order_by("-year", "pk")
        self.fields["reason"].choices = [("", _("All reasons")), *ConflictReason.choices]
        self.fields["status"].choices = [("", _("All statuses")), *ConflictStatus.choices]

    def apply(self, rows):
        if not self.is_valid():
            return rows
        data = self.cleaned_data
        if data.get("call"):
            rows = rows.filter(project__call=data["call"])
        if data.get("reason"):
            rows = rows.filter(reason=data["reason"])
        if data.get("status"):
            rows = rows.filter(status=data["status"])
        return rows


def conflict_rows():
    """Every conflict, the possible ones (waiting for a decision) first."""
    return (
        Conflict.objects.select_related("project", "expert__user", "expert__institution", "decided_by")
        .annotate(waiting=Case(When(status=ConflictStatus.POTENTIAL, then=Value(0)), default=Value(1),
                               output_field=IntegerField()))
        .order_by("waiting", "project__receipt_number", "project_id", "expert__user__real_name", "expert_id",
                  "reason", "pk")
    )


@login_required
def conflict_list(request):
    _secretariat(request)
    query = request.GET.copy()
    query.pop("page", None)
    form = ConflictFilterForm(request.GET)
    page = Paginator(form.apply(conflict_rows()), PAGE_SIZE).get_page(request.GET.get("page"))
    for row in page:
        row.description = conflicts.describe(row)
    return render(request, "reviews/conflicts/list.html", {
        "filter": form, "page": page, "query": query.urlencode(),
    })


def _back_to_list(request):
    query = request.POST.get("query", "")
    return redirect(reverse("conflict-list") + (f"?{query}" if query else ""))


@login_required
def conflict_decide(request, pk):
    """Confirm or dismiss a possible conflict (POST), with a reason."""
    user = _secretariat(request)
    if request.method != "POST":
        return _back_to_list(request)
    conflict = get_object_or_404(Conflict, pk=pk)
    decision = request.POST.get("decision")
    if decision not in ("confirm", "dismiss"):
        messages.error(request, _("Please choose to confirm or to dismiss the conflict."))
        return _back_to_list(request)
    try:
        conflicts.decide_conflict(conflict, by=user, confirm=decision == "confirm",
                                  reason=request.POST.get("reason", ""))
    except TransitionRefused as refusal:
        for message in refusal.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Conflict confirmed.") if decision == "confirm" else _("Conflict dismissed."))
    return _back_to_list(request)


@login_required
def conflict_check(request):
    """Run every rule for every current proposal and active expert now (POST)."""
    _secretariat(request)
    if request.method == "POST":
        counts = conflicts.refresh_conflicts()
        messages.success(request, _(
            "Conflicts checked: %(certain)s certain and %(potential)s possible; "
            "%(created)s new, %(removed)s no longer found."
        ) % counts)
    return _back_to_list(request)


# ---- the applicant's requests ----------------------------------------------------------------


class AvoidRequestForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Expert's name"), max_length=50)
    unit = forms.CharField(label=gettext_lazy("Expert's unit"), max_length=120, required=False)
    reason = forms.CharField(label=gettext_lazy("Reason"), widget=forms.Textarea(attrs={"rows": 3}))


def _own_project(request, pk):
    """The project of which the user is the PI; 404 for anyone else."""
    project = get_object_or_404(Project.objects.select_related("call_class"), pk=pk)
    if not is_pi(project, request.user):
        raise Http404
    return project


@login_required
def project_avoid(request, pk):
    """The PI names experts to exclude and sees what became of the requests."""
    project = _own_project(request, pk)
    form = AvoidRequestForm()
    if request.method == "POST" and "withdraw" in request.POST:
        avoid = get_object_or_404(project.avoid_requests.select_related("project"), pk=request.POST["withdraw"])
        try:
            conflicts.withdraw_avoidance(avoid, by=request.user)
        except TransitionRefused as refusal:
            for message in refusal.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("The request is withdrawn."))
        return redirect("project-avoid", pk=project.pk)
    if request.method == "POST":
        form = AvoidRequestForm(request.POST)
        if form.is_valid():
            try:
                conflicts.request_avoidance(project, by=request.user, **form.cleaned_data)
            except TransitionRefused as refusal:
                for message in refusal.messages:
                    messages.error(request, message)
            else:
                messages.success(request, _("The request is sent to the secretariat."))
                return redirect("project-avoid", pk=project.pk)
    requests = list(project.avoid_requests.filter(stage=Stage.APPLICATION))
    limit = rule("MAX_AVOID_REQUESTS", project.call_class)
    is_open = project.state in conflicts.AVOID_OPEN_STATES[Stage.APPLICATION]
    return render(request, "reviews/conflicts/avoid.html", {
        "project": project,
        "requests": requests,
        "form": form,
        "limit": limit,
        "may_add": is_open and len(requests) < limit,
        "is_open": is_open,
        "pending": AvoidRequestState.PENDING,
    })

