"""The unit's research office: its queue of submissions, endorsement one by one or several at once."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.translation import ngettext

from accounts import roles

from ..forms import BulkEndorseForm
from ..models import Project
from ..services import TransitionRefused, perform
from ..workflow import ProjectState


def _unit_admin(request):
    user = request.user
    if not (roles.has_role(user, roles.UNIT_ADMIN) and user.institution_id):
        raise PermissionDenied
    return user


def unit_projects(user):
    return Project.objects.with_people().filter(institution_id=user.institution_id)


@login_required
def unit_queue(request):
    """Submissions waiting for the unit, and the unit's other projects."""
    user = _unit_admin(request)
    waiting = unit_projects(user).filter(state=ProjectState.SUBMITTED).order_by("submitted_at")
    form = BulkEndorseForm(request.POST or None, queryset=waiting)
    if request.method == "POST" and form.is_valid():
        done, refused = endorse_several(form.cleaned_data["projects"], user, form.cleaned_data["opinion"])
        if done:
            messages.success(request, ngettext("%(n)d application endorsed.", "%(n)d applications endorsed.", done)
                             % {"n": done})
        for project, reasons in refused:
            messages.error(request, f"{project.title}: {' '.join(reasons)}")
        return redirect("unit-queue")
    others = unit_projects(user).exclude(state__in=[ProjectState.SUBMITTED, ProjectState.DRAFT]).order_by("-submitted_at")
    return render(request, "projects/unit_queue.html", {"form": form, "waiting": waiting, "others": others})


def endorse_several(projects, user, opinion):
    """Endorse each project in its own transaction: one refusal does not undo the others."""
    done, refused = 0, []
    for project in projects:
        try:
            with transaction.atomic():
                perform(project, "endorse", by=user, reason=opinion)
            done += 1
        except TransitionRefused as refusal:
            refused.append((project, refusal.messages))
    return done, refused
