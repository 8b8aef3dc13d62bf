"""Pages of the projects app: home, the dashboard, a project with its timeline and its steps."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import roles

from . import access
from .models import Call, Project
from .services import TransitionRefused, available_transitions, perform, step_label
from .workflow import CallState, ProjectState


def home(request):
    """Public home: the calls that take applications now and the ones before them."""
    now = timezone.now()
    calls = Call.objects.exclude(state=CallState.DRAFT).prefetch_related("classes")
    open_calls = [c for c in calls if c.state == CallState.PUBLISHED and c.opens_at <= now <= c.deadline]
    other_calls = [c for c in calls if c not in open_calls]
    return render(request, "projects/home.html", {"open_calls": open_calls, "other_calls": other_calls})


@login_required
def dashboard(request):
    """Each user lands here and sees what is theirs to do next, role by role."""
    user = request.user
    context = {
        "my_projects": Project.objects.with_people()
        .filter(pi=user)
        .order_by("-created_at"),
        "member_projects": Project.objects.with_people()
        .filter(members__user=user)
        .exclude(pi=user)
        .distinct(),
    }
    if roles.has_role(user, roles.UNIT_ADMIN) and user.institution_id:
        context["unit_queue"] = Project.objects.with_people().filter(
            institution_id=user.institution_id, state=ProjectState.SUBMITTED
        )
    if access.is_secretariat(None, user):
        counts = dict(Project.objects.values_list("state").annotate(n=Count("pk")).order_by())
        context["state_counts"] = [(label, counts.get(value, 0), value) for value, label in ProjectState.choices]
        context["formal_check_queue"] = Project.objects.with_people().filter(state=ProjectState.ENDORSED)
    context["is_committee"] = roles.has_role(user, roles.COMMITTEE)
    context["is_expert"] = roles.has_role(user, roles.EXPERT)
    return render(request, "projects/dashboard.html", context)


def _visible_project(request, pk):
    project = get_object_or_404(Project.objects.with_people(), pk=pk)
    if not access.can_view_project(request.user, project):
        raise Http404
    return project


@login_required
def project_detail(request, pk):
    project = _visible_project(request, pk)
    steps = [(name, step_label(Project, name)) for name in available_transitions(project, request.user)]
    return render(
        request,
        "projects/project_detail.html",
        {
            "project": project,
            "members": project.members.all(),
            "log": project.log.select_related("actor").order_by("at", "pk"),
            "steps": steps,
        },
    )


@login_required
@require_POST
def project_step(request, pk, name):
    project = _visible_project(request, pk)
    params = {}
    if request.POST.get("grade"):
        params["grade"] = request.POST["grade"]
    try:
        perform(project, name, by=request.user, reason=request.POST.get("reason", ""), **params)
    except TransitionRefused as refusal:
        for message in refusal.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Done: %(step)s.") % {"step": step_label(Project, name)})
    return redirect("project-detail", pk=project.pk)
