"""The secretariat's view of lateness (逾期情况) and of an expert's timeliness (按时记录).

Thin: the page asks ``reviews.reminders`` who is late and hands the actions
(extend one deadline, replace an unanswered invitation) to its functions.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from projects.services import TransitionRefused

from .. import access, reminders
from ..models import Assignment, ExpertProfile, ReviewRound


class ExtendDeadlineForm(forms.Form):
    deadline = forms.DateTimeField(
        label=gettext_lazy("New deadline"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


def _secretariat(request):
    if not access.is_secretariat(None, request.user):
        raise PermissionDenied
    return request.user


def _late_assignment(round_pk, assignment_pk):
    return get_object_or_404(
        Assignment.objects.select_related("round__call_class", "expert__user", "project"),
        pk=assignment_pk, round_id=round_pk,
    )


@login_required
def round_late(request, pk):
    """Who is late in a round: unanswered invitations, overdue reviews, reviews due soon."""
    _secretariat(request)
    round_ = get_object_or_404(ReviewRound.objects.select_related("call_class"), pk=pk)
    report = reminders.late_report(round_, timezone.now())
    return render(request, "reviews/reminders/late.html", {
        "round": round_, "report": report, "extend_form": ExtendDeadlineForm(),
        "is_open": round_.state == "open",
    })


@login_required
@require_POST
def extend_late_deadline(request, pk, assignment_pk):
    user = _secretariat(request)
    assignment = _late_assignment(pk, assignment_pk)
    form = ExtendDeadlineForm(request.POST)
    if not form.is_valid():
        for error in form.errors.get("deadline", []):
            messages.error(request, error)
        return redirect("round-late", pk)
    try:
        reminders.extend_deadline(assignment, form.cleaned_data["deadline"], by=user, now=timezone.now())
    except TransitionRefused as refusal:
        for message in refusal.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("The deadline of %(expert)s is now %(deadline)s.") % {
            "expert": assignment.expert.user.display_name,
            "deadline": reminders.local_text(assignment.deadline)})
    return redirect("round-late", pk)


@login_required
@require_POST
def replace_late_expert(request, pk, assignment_pk):
    user = _secretariat(request)
    assignment = _late_assignment(pk, assignment_pk)
    try:
        new = reminders.replace_unanswered(assignment, by=user, now=timezone.now())
    except TransitionRefused as refusal:
        for message in refusal.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("%(late)s was removed; %(new)s is invited instead.") % {
            "late": assignment.expert.user.display_name, "new": new.expert.user.display_name})
    return redirect("round-late", pk)


@login_required
def expert_timeliness(request, pk):
    """An expert's private record of answers and reviews across rounds."""
    _secretariat(request)
    expert = get_object_or_404(ExpertProfile.objects.select_related("user", "institution"), pk=pk)
    return render(request, "reviews/reminders/timeliness.html", {
        "expert": expert,
        "record": reminders.timeliness(expert, now=timezone.now()),
        "reminders": reminders.reminders_of(expert)[:20],
    })
