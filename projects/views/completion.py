"""The completion pages (结题): the project's completion page, the unit's and the secretariat's queues.

Thin views over ``projects.completion``: the PI submits or corrects the
materials, the unit endorses or returns them, the secretariat runs the formal
check, creates the appraisal round and records the appraisal. A refusal shows
its messages on the same page with everything typed kept.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import roles

from .. import access, completion
from ..models import CallClass, CompletionReport, DocumentKind, Grade, OutputType, ProjectDocument
from ..services import TransitionRefused, step_label
from ..workflow import CompletionState
from .project import DOCX, visible_project_or_404

COMPLETION_DOCUMENTS = {
    DocumentKind.APPRAISAL_OPINION: "结题鉴定意见表",
    DocumentKind.CERTIFICATE: "结题证书",
}


# ---- forms --------------------------------------------------------------------------------------


class MaterialsForm(forms.Form):
    work_report = forms.CharField(
        label=gettext_lazy("Work report"), required=False, widget=forms.Textarea(attrs={"rows": 8}),
        help_text=gettext_lazy("How the research was carried out, the team's work, the use of the funds (identified)."),
    )
    summary_report = forms.CharField(
        label=gettext_lazy("Summary report"), required=False, widget=forms.Textarea(attrs={"rows": 10}),
        help_text=gettext_lazy("The main findings and outputs. The appraisal experts read it: write no name, "
                               "unit or place of the team (write *** instead)."),
    )
    self_assessment = forms.CharField(
        label=gettext_lazy("Self-assessment"), required=False, widget=forms.Textarea(attrs={"rows": 5}),
    )
    anonymous_file = forms.FileField(
        label=gettext_lazy("Anonymous copy of the main output"), required=False,
        help_text=gettext_lazy("Optional. PDF or Word (.docx), without names; the author's traces are removed. "
                               "A file must be chosen again after a refusal."),
    )


class OutputForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Type"), choices=OutputType.choices, required=False)
    title = forms.CharField(label=gettext_lazy("Title of the output"), required=False)
    authors = forms.CharField(label=gettext_lazy("Authors"), required=False)
    venue = forms.CharField(label=gettext_lazy("Journal, publisher or adopting body"), required=False)
    year = forms.CharField(label=gettext_lazy("Year"), required=False, widget=forms.TextInput(attrs={"size": 5}))
    volume_issue = forms.CharField(label=gettext_lazy("Volume (issue)"), required=False,
                                   widget=forms.TextInput(attrs={"size": 8}))
    pages = forms.CharField(label=gettext_lazy("Page numbers"), required=False, widget=forms.TextInput(attrs={"size": 8}))
    identifier = forms.CharField(label=gettext_lazy("ISBN, ISSN or DOI"), required=False)
    award_level = forms.CharField(label=gettext_lazy("Award and level"), required=False)


class AvoidForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Expert's name"), required=False)
    unit = forms.CharField(label=gettext_lazy("Expert's unit"), required=False)
    reason = forms.CharField(label=gettext_lazy("Reason"), required=False)


OutputFormSet = forms.formset_factory(OutputForm, extra=0)
AvoidFormSet = forms.formset_factory(AvoidForm, extra=0)

class AppraisalForm(forms.Form):
    """The secretariat records the panel's result (shown above the form) with an optional remark; the
    grade is the panel's, never chosen here."""

    reason = forms.CharField(label=gettext_lazy("Remark"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class RoundForm(forms.Form):
    call_class = forms.ModelChoiceField(label=gettext_lazy("Class"), queryset=CallClass.objects.none())
    deadline = forms.DateTimeField(label=gettext_lazy("Deadline for reviews"),
                                   widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))

    def __init__(self, *args, classes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["call_class"].queryset = CallClass.objects.filter(pk__in=[c.pk for c in classes])


OUTPUT_ROWS_SPARE = 2


def _output_formset(data=None, outputs=()):
    initial = [{name: getattr(o, name) or "" for name in completion.OUTPUT_FIELDS} for o in outputs]
    formset = OutputFormSet(data, prefix="outputs", initial=initial)
    if data is None:
        formset.extra = max(3, len(initial) + OUTPUT_ROWS_SPARE) - len(initial)
    return formset


def _avoid_formset(data=None, slots=0):
    formset = AvoidFormSet(data, prefix="avoid")
    if data is None:
        formset.extra = slots
    return formset


def _rows(formset, fields):
    """The rows of a bound formset as dicts (every field is optional: the service judges)."""
    formset.is_valid()
    return [{name: (form.cleaned_data or {}).get(name, "") for name in fields} for form in formset.forms]


# ---- the project's completion page --------------------------------------------------------------


@login_required
def project_completion(request, pk):
    project = visible_project_or_404(request, pk)
    report = completion.current_report(project)
    if request.method == "POST":
        action = request.POST.get("action", "")
        handler = ACTIONS.get(action)
        if handler is None:
            messages.error(request, _("Unknown action."))
            return redirect("project-completion", pk=project.pk)
        response = handler(request, project, report)
        if response is not None:
            return response
        return redirect("project-completion", pk=project.pk)
    return _render(request, project, report)


def _render(request, project, report, *, materials=None, outputs=None, avoid=None, appraisal=None, status=200):
    user = request.user
    pi_may_edit = access.is_pi(project, user) and (
        completion.can_submit(project, user) or (report is not None and report.state == CompletionState.RETURNED)
    )
    correcting = report is not None and report.state == CompletionState.RETURNED
    context = {
        "project": project,
        "report": report,
        "reports": list(project.completion_reports.order_by("-attempt")),
        "outputs": list(project.outputs.all()),
        "avoid_requests": list(project.avoid_requests.filter(stage="completion")),
        "documents": _documents(project),
        "pi_may_edit": pi_may_edit,
        "correcting": correcting,
    }
    if pi_may_edit:
        # Returned materials are corrected in place; after a failed appraisal the PI revises the last attempt.
        source = report if report is not None and report.state in (
            CompletionState.RETURNED, CompletionState.APPRAISED) else None
        context["materials"] = materials or MaterialsForm(initial={
            "work_report": getattr(source, "work_report", ""),
            "summary_report": getattr(source, "summary_report", ""),
            "self_assessment": getattr(source, "self_assessment", ""),
        })
        context["output_formset"] = outputs or _output_formset(outputs=context["outputs"])
        context["avoid_formset"] = avoid or _avoid_formset(slots=completion.avoid_slots(project))
    if report is not None:
        context["unit_may_act"] = report.state == CompletionState.SUBMITTED and access.is_unit_admin_of(project, user)
        is_secretariat = access.is_secretariat(None, user)
        context["formal_check"] = report.state == CompletionState.ENDORSED and is_secretariat
        if context["formal_check"]:
            context["anonymity_problems"] = completion.anonymity_problems(report)
        context["may_appraise"] = report.state == CompletionState.ACCEPTED and is_secretariat
        if context["may_appraise"]:
            context["appraisal_form"] = appraisal or AppraisalForm()
            context["panel"] = _panel(report)
    return render(request, "projects/completion/detail.html", context, status=status)


def _panel(report):
    """The appraisal round of this attempt with its counts and result, for the secretariat."""
    round_ = completion.appraisal_round(report)
    if round_ is None:
        return None
    counts = completion.grade_counts(completion.panel_reviews(round_, report.project))
    grade = completion.grade_of_counts(counts, completion.rule("MIN_VALID_REVIEWS", round_.call_class))
    return {
        "round": round_,
        "grade_label": Grade(grade).label if grade else "",
        "counts": [(Grade(grade).label, counts.get(grade, 0)) for grade in reversed(completion.GRADE_ORDER)],
        "valid": sum(counts.values()),
        "grade": completion.grade_of_counts(counts, completion.rule("MIN_VALID_REVIEWS", round_.call_class)),
        "needed": completion.rule("MIN_VALID_REVIEWS", round_.call_class),
    }


def _documents(project):
    kinds = set(ProjectDocument.objects.filter(project=project, kind__in=COMPLETION_DOCUMENTS)
                .values_list("kind", flat=True))
    return [(kind, DocumentKind(kind).label) for kind in COMPLETION_DOCUMENTS if kind in kinds]


def _materials_input(request):
    materials = MaterialsForm(request.POST, request.FILES)
    outputs = OutputFormSet(request.POST, prefix="outputs")
    avoid = AvoidFormSet(request.POST, prefix="avoid")
    materials.is_valid()
    data = {name: materials.cleaned_data.get(name, "") for name in ("work_report", "summary_report", "self_assessment")}
    return materials, outputs, avoid, data


def _submit(request, project, report):
    materials, outputs, avoid, data = _materials_input(request)
    correcting = report is not None and report.state == CompletionState.RETURNED
    try:
        kwargs = dict(by=request.user, outputs=_rows(outputs, completion.OUTPUT_FIELDS),
                      avoid=_rows(avoid, ("name", "unit", "reason")),
                      upload=request.FILES.get("anonymous_file"), **data)
        if correcting:
            report = completion.correct_completion(report, **kwargs)
        else:
            report = completion.submit_completion(project, **kwargs)
    except TransitionRefused as refusal:
        for message in refusal.messages:
            messages.error(request, message)
        return _render(request, project, completion.current_report(project), materials=materials,
                       outputs=outputs, avoid=avoid, status=200)
    messages.success(request, _("The completion materials were submitted to your unit."))
    for problem in completion.anonymity_problems(report):
        messages.warning(request, _("The formal check will return the materials unless this is corrected: "
                                    "%(problem)s") % {"problem": problem})
    return None


def _report_step(name):
    def handler(request, project, report):
        if report is None:
            raise Http404
        try:
            completion.report_step(report, name, by=request.user, reason=request.POST.get("reason", ""))
        except TransitionRefused as refusal:
            for message in refusal.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("Done: %(step)s.") % {"step": step_label(CompletionReport, name)})
        return None

    return handler


def _appraise(request, project, report):
    if report is None:
        raise Http404
    form = AppraisalForm(request.POST)
    form.is_valid()
    try:
        completion.record_appraisal(report, by=request.user,
                                    reason=form.cleaned_data.get("reason", ""))
    except TransitionRefused as refusal:
        for message in refusal.messages:
            messages.error(request, message)
        return _render(request, project, report, appraisal=form)
    project.refresh_from_db()
    messages.success(request, _("The appraisal is recorded: the project is “%(state)s”.")
                     % {"state": project.get_state_display()})
    return None


ACTIONS = {
    "submit": _submit,
    "endorse": _report_step("endorse_completion"),
    "return": _report_step("return_completion"),
    "accept": _report_step("accept_completion"),
    "appraise": _appraise,
}


@login_required
def completion_document(request, pk, kind):
    """The 结题鉴定意见表 or the 结题证书, for those who may see the project."""
    from ..completion_documents import build_completion_documents

    project = visible_project_or_404(request, pk)
    if kind not in COMPLETION_DOCUMENTS:
        raise Http404
    document = ProjectDocument.objects.filter(project=project, kind=kind).first()
    if document is None:  # the task has not run yet (a worker is busy): build it now
        build_completion_documents(project.pk)
        document = get_object_or_404(ProjectDocument, project=project, kind=kind)
    filename = f"{project.number or project.pk}-{COMPLETION_DOCUMENTS[kind]}.docx"
    return FileResponse(document.file.open("rb"), as_attachment=True, filename=filename, content_type=DOCX)


# ---- queues -------------------------------------------------------------------------------------


def _reports():
    return CompletionReport.objects.select_related(
        "project__pi", "project__institution", "project__call", "project__call_class")


@login_required
def unit_completion_queue(request):
    """The unit's completion materials waiting for its endorsement, and those on their way."""
    user = request.user
    if not (roles.has_role(user, roles.UNIT_ADMIN) and user.institution_id):
        raise PermissionDenied
    mine = _reports().filter(project__institution_id=user.institution_id)
    return render(request, "projects/completion/unit_queue.html", {
        "waiting": mine.filter(state=CompletionState.SUBMITTED).order_by("submitted_at", "pk"),
        "under_way": mine.filter(state__in=(CompletionState.ENDORSED, CompletionState.ACCEPTED,
                                            CompletionState.RETURNED)).order_by("-submitted_at", "pk"),
    })


@login_required
def secretariat_completion_queue(request):
    """The formal checks to make, the materials waiting for their appraisal, the rounds to create."""
    from reviews.models import ReviewRound

    user = request.user
    if not access.is_secretariat(None, user):
        raise PermissionDenied
    ready = completion.ready_for_appraisal()
    classes = list(CallClass.objects.filter(projects__in=ready).select_related("call")
                   .annotate(ready=Count("projects", distinct=True)).order_by("-call__year", "code"))
    form = RoundForm(request.POST or None, classes=classes)
    if request.method == "POST" and form.is_valid():
        try:
            round_ = completion.create_completion_round(form.cleaned_data["call_class"], by=user,
                                                        deadline=form.cleaned_data["deadline"])
        except TransitionRefused as refusal:
            for message in refusal.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("The appraisal round “%(name)s” was created with %(n)d projects.")
                             % {"name": round_.name, "n": round_.projects.count()})
            return redirect("round-detail", pk=round_.pk)
    rounds = Prefetch("project__review_rounds", to_attr="completion_rounds",
                      queryset=ReviewRound.objects.filter(stage="completion").order_by("-created_at"))
    return render(request, "projects/completion/secretariat_queue.html", {
        "formal_checks": _reports().filter(state=CompletionState.ENDORSED).order_by("endorsed_at", "pk"),
        "appraisals": _reports().filter(state=CompletionState.ACCEPTED).prefetch_related(rounds)
        .order_by("checked_at", "pk"),
        "classes": classes,
        "form": form,
        "today": timezone.localdate(),
    })

