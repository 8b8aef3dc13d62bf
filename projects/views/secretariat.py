"""The secretariat's formal check (形式审查): the queue with filters, the checklist, the decision, Excel."""

from io import BytesIO

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import access
from ..forms import FormalCheckFilterForm, FormalCheckForm
from ..identity import find_identity_leaks
from ..models import Project
from ..services import TransitionRefused, perform
from ..workflow import ProjectState

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _secretariat(request):
    if not access.is_secretariat(None, request.user):
        raise PermissionDenied
    return request.user


def _filtered(request):
    data = request.GET.copy()
    if "state" not in data:
        data["state"] = ProjectState.ENDORSED
    form = FormalCheckFilterForm(data)
    projects = form.apply(Project.objects.with_people().order_by("call_class__code", "submitted_at"))
    return form, projects


@login_required
def formal_check_queue(request):
    _secretariat(request)
    form, projects = _filtered(request)
    return render(request, "projects/formal_check_queue.html", {"filter": form, "projects": projects,
                                                                 "query": request.GET.urlencode()})


@login_required
def formal_check(request, pk):
    user = _secretariat(request)
    project = get_object_or_404(Project.objects.with_people(), pk=pk)
    form = FormalCheckForm(request.POST or None, initial={"checklist": project.formal_checklist.get("items", [])})
    if request.method == "POST" and form.is_valid():
        decision = form.cleaned_data["decision"]
        try:
            perform(project, decision, by=user, reason=form.reason_text())
        except TransitionRefused as refusal:
            for message in refusal.messages:
                messages.error(request, message)
        else:
            Project.objects.filter(pk=project.pk).update(formal_checklist={
                "items": form.cleaned_data["checklist"], "by": user.pk, "at": timezone.now().isoformat(),
            })
            messages.success(request, _("Decision recorded for %(number)s.") % {"number": project.receipt_number})
            return redirect("formal-check-queue")
    return render(request, "projects/formal_check.html", {
        "project": project,
        "form": form,
        "leaks": find_identity_leaks(project),
        "members": project.members.all(),
        "attachments": project.attachments.all(),
    })


@login_required
def formal_check_export(request):
    """The filtered list as an Excel workbook."""
    from openpyxl import Workbook

    _secretariat(request)
    _form, projects = _filtered(request)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Applications")[:31]
    sheet.append([_("Receipt number"), _("Title"), _("Class"), _("PI"), _("Unit"), _("State"), _("Submitted at")])
    for p in projects:
        submitted = timezone.localtime(p.submitted_at).strftime("%Y-%m-%d %H:%M") if p.submitted_at else ""
        sheet.append([p.receipt_number or "", p.title, p.call_class.code, p.pi.display_name,
                      p.institution.name if p.institution else "", str(p.get_state_display()), submitted])
    for column, width in zip("ABCDEFG", (16, 44, 6, 12, 28, 14, 18)):
        sheet.column_dimensions[column].width = width
    buffer = BytesIO()
    workbook.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = "attachment; filename=formal-check.xlsx"
    return response


