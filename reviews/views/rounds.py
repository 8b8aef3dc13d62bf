"""The secretariat's round pages (评审轮次): list, creation, the round with its assignment, runs.

Thin views: every change is a function of ``reviews.rounds`` and every refusal
shows its messages. The pages name proposals and experts freely: only the
secretariat reaches them (403 for anyone else, 404 for an unknown object).
"""

import json

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from projects.models import CallClass, Project
from projects.services import TransitionRefused

from .. import rounds
from ..access import is_secretariat
from ..forms_schema import DEFAULT_FORMS, form_problems
from ..models import Assignment, AssignmentRun, Conflict, ConflictStatus, ExpertProfile, ReviewRound, Stage


def _secretariat(request):
    if not is_secretariat(None, request.user):
        raise PermissionDenied
    return request.user


def _round_or_404(pk):
    return get_object_or_404(ReviewRound.objects.select_related("call_class__call"), pk=pk)


def _refused(request, refusal):
    for message in refusal.messages:
        messages.error(request, message)


# ---- forms --------------------------------------------------------------------------------


class RoundForm(forms.Form):
    """A new round: class, stage, limits, deadline and the review form as JSON."""

    call_class = forms.ModelChoiceField(
        label=gettext_lazy("Class"), queryset=CallClass.objects.select_related("call").order_by("-call__year", "code"))
    stage = forms.ChoiceField(label=gettext_lazy("Stage"), choices=Stage.choices)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=120, required=False,
                           help_text=gettext_lazy("Leave empty for a name made of the year, class and stage."))
    experts_per_proposal = forms.IntegerField(
        label=gettext_lazy("Experts per proposal (k)"), min_value=1, max_value=15, required=False,
        help_text=gettext_lazy("Leave empty for the class's number."))
    load_limit = forms.IntegerField(
        label=gettext_lazy("Most proposals per expert (m)"), min_value=1, max_value=200, required=False,
        help_text=gettext_lazy("Leave empty for the association's rule."))
    deadline = forms.DateTimeField(label=gettext_lazy("Deadline for reviews"),
                                   widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    answer_within_days = forms.IntegerField(label=gettext_lazy("Days to answer the invitation"), min_value=1,
                                            max_value=30, required=False)
    experts_see_each_other = forms.BooleanField(label=gettext_lazy("Experts see each other's reviews"),
                                                required=False)
    form = forms.CharField(
        label=gettext_lazy("Review form (JSON)"), required=False, widget=forms.Textarea(attrs={"rows": 12}),
        help_text=gettext_lazy("Criteria with weights, the scale and the recommendation options. "
                               "Leave empty for the default form of the stage."),
    )

    def clean_deadline(self):
        deadline = self.cleaned_data["deadline"]
        if deadline <= timezone.now():
            raise forms.ValidationError(_("The deadline must lie in the future."))
        return deadline

    def clean_form(self):
        text = (self.cleaned_data.get("form") or "").strip()
        if not text:
            return None
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise forms.ValidationError(
                _("The review form is not valid JSON (line %(line)s, column %(column)s): %(error)s")
                % {"line": error.lineno, "column": error.colno, "error": error.msg}
            ) from None
        problems = form_problems(document)
        if problems:
            raise forms.ValidationError([str(p) for p in problems])
        return document

    def settings(self):
        data = self.cleaned_data
        chosen = {"experts_per_proposal": data.get("experts_per_proposal"), "load_limit": data.get("load_limit"),
                  "form": data.get("form"), "answer_within_days": data.get("answer_within_days"),
                  "experts_see_each_other": data.get("experts_see_each_other", False)}
        return {key: value for key, value in chosen.items() if value is not None}


class ExpertChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, expert):
        return f"{expert.user.display_name} – {expert.unit_label or '—'}"


class ProposalChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, project):
        return rounds.proposal_label(project)


class AddByHandForm(forms.Form):
    project = ProposalChoiceField(label=gettext_lazy("Proposal"), queryset=Project.objects.none())
    expert = ExpertChoiceField(label=gettext_lazy("Expert"), queryset=ExpertProfile.objects.none())

    def __init__(self, round_, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = round_.projects.only("pk", "title", "receipt_number", "number").order_by(
            "receipt_number", "pk")
        self.fields["expert"].queryset = ExpertProfile.objects.active().select_related("user", "institution")


# ---- pages --------------------------------------------------------------------------------


@login_required
def round_list(request):
    _secretariat(request)
    current = Q(assignments__status__in=rounds.CURRENT)
    listed = (
        ReviewRound.objects.select_related("call_class__call")
        .annotate(proposal_count=Count("projects", distinct=True),
                  assignment_count=Count("assignments", filter=current, distinct=True))
        .order_by("-created_at", "-pk")
    )
    return render(request, "reviews/rounds/round_list.html", {"rounds": listed})


@login_required
def round_create(request):
    user = _secretariat(request)
    stage = request.GET.get("stage")
    form = RoundForm(request.POST or None, initial={"stage": stage if stage in Stage.values else Stage.APPLICATION})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            round_ = rounds.create_round(data["call_class"], stage=data["stage"], by=user, name=data["name"],
                                         deadline=data["deadline"], **form.settings())
        except TransitionRefused as refusal:
            for message in refusal.messages:
                form.add_error(None, message)
        else:
            messages.success(request, _("Round created with %(n)s proposals.") % {"n": round_.projects.count()})
            return redirect("round-detail", pk=round_.pk)
    defaults = {stage: json.dumps(form_, ensure_ascii=False, indent=2) for stage, form_ in DEFAULT_FORMS.items()}
    return render(request, "reviews/rounds/round_form.html", {"form": form, "defaults": defaults})


def _proposal_rows(round_):
    """Each proposal of the round with its assignments, their reviews and conflicts (three queries)."""
    from ..conflicts import blocking_pairs

    in_round = (
        Assignment.objects.filter(round=round_)
        .select_related("expert__user", "expert__institution", "review")
        .order_by("-affinity", "pk")
    )
    projects = (
        round_.projects.only("pk", "title", "receipt_number", "number", "state")
        .prefetch_related(Prefetch("assignments", queryset=in_round, to_attr="in_round"))
        .order_by("receipt_number", "pk")
    )
    k = round_.experts_per_proposal
    blocked = blocking_pairs(project_ids=round_.projects.values_list("pk", flat=True))
    rows = []
    for project in projects:
        for a in project.in_round:  # a pair found in conflict (removed, or to be removed)
            a.in_conflict = (a.project_id, a.expert_id) in blocked
        covered = sum(1 for a in project.in_round if a.status in rounds.CURRENT)
        rows.append({"project": project, "assignments": project.in_round, "covered": covered, "short": covered < k})
    return rows


@login_required
def round_detail(request, pk):
    _secretariat(request)
    round_ = _round_or_404(pk)
    rows = _proposal_rows(round_)
    pending = Conflict.objects.filter(project__review_rounds=round_, status=ConflictStatus.POTENTIAL).count()
    return render(request, "reviews/rounds/round_detail.html", {
        "round": round_,
        "rows": rows,
        "short_count": sum(1 for row in rows if row["short"]),
        "pending_conflicts": pending,
        "runs": round_.runs.select_related("created_by", "undone_by").order_by("-number"),
        "add_form": AddByHandForm(round_) if round_.state in ("draft", "open") else None,
        "editable": round_.state in ("draft", "open"),
        "current": rounds.CURRENT,
    })


def _labels(pairs):
    """Names for the pairs of a comparison (two queries)."""
    project_ids = {p for p, _e in pairs}
    expert_ids = {e for _p, e in pairs}
    projects = {p.pk: p for p in Project.objects.filter(pk__in=project_ids).only("pk", "title", "receipt_number",
                                                                                  "number")}
    experts = {e.pk: e for e in ExpertProfile.objects.filter(pk__in=expert_ids).select_related("user")}
    return projects, experts


@login_required
def run_detail(request, pk, number):
    """One run: parameters, inputs, and what it changed against the previous run."""
    _secretariat(request)
    round_ = _round_or_404(pk)
    run = get_object_or_404(AssignmentRun.objects.select_related("created_by"), round=round_, number=number)
    comparison = rounds.compare_runs(run) if run.feasible else None
    named = {}
    if comparison:
        projects, experts = _labels(comparison.added + comparison.removed)

        def name(pairs):
            return [(rounds.proposal_label(projects[p]) if p in projects else p,
                     experts[e].user.display_name if e in experts else e) for p, e in pairs]

        named = {"added": name(comparison.added), "removed": name(comparison.removed)}
    return render(request, "reviews/rounds/run_detail.html", {
        "round": round_, "run": run, "comparison": comparison, "named": named,
        "solver": run.parameters.get("solver", {}),
    })


# ---- actions (POST) -----------------------------------------------------------------------


def _back(round_):
    return redirect(reverse("round-detail", args=[round_.pk]))


@login_required
@require_POST
def check_conflicts(request, pk):
    _secretariat(request)
    round_ = _round_or_404(pk)
    from ..conflicts import refresh_conflicts

    counts = refresh_conflicts(projects=list(round_.projects.all()))
    messages.success(request, _("Conflicts checked: %(certain)s certain, %(potential)s possible (to decide).")
                     % {"certain": counts.get("certain", 0), "potential": counts.get("potential", 0)})
    return _back(round_)


@login_required
@require_POST
def diagnose(request, pk):
    _secretariat(request)
    round_ = _round_or_404(pk)
    problems = rounds.diagnose_round(round_)
    for message in problems:
        messages.error(request, message)
    if not problems:
        messages.success(request, _("Every proposal has enough eligible experts; the assigner may run."))
    return _back(round_)


@login_required
@require_POST
def run(request, pk):
    user = _secretariat(request)
    round_ = _round_or_404(pk)
    try:
        done = rounds.run_assignment(round_, by=user)
    except TransitionRefused as refusal:
        _refused(request, refusal)
    else:
        messages.success(request, _("Run %(n)s: total affinity %(total).3f.")
                         % {"n": done.number, "total": done.total_affinity})
    return _back(round_)


@login_required
@require_POST
def undo(request, pk, number):
    user = _secretariat(request)
    round_ = _round_or_404(pk)
    run_ = get_object_or_404(AssignmentRun, round=round_, number=number)
    try:
        rounds.undo_run(run_, by=user)
    except TransitionRefused as refusal:
        _refused(request, refusal)
    else:
        messages.success(request, _("Run %(n)s undone.") % {"n": run_.number})
    return _back(round_)


@login_required
@require_POST
def add_proposals(request, pk):
    _secretariat(request)
    round_ = _round_or_404(pk)
    if round_.state != "draft":
        messages.error(request, _("Proposals can be added only while the round is being prepared."))
    else:
        messages.success(request, _("%(n)s proposals added.") % {"n": rounds.add_proposals(round_)})
    return _back(round_)


@login_required
@require_POST
def add_by_hand(request, pk):
    user = _secretariat(request)
    round_ = _round_or_404(pk)
    form = AddByHandForm(round_, request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a proposal of the round and an active expert."))
        return _back(round_)
    try:
        rounds.add_by_hand(round_, form.cleaned_data["project"], form.cleaned_data["expert"], by=user)
    except TransitionRefused as refusal:
        _refused(request, refusal)
    else:
        messages.success(request, _("Expert added."))
    return _back(round_)


def _assignment_or_404(round_, assignment_pk):
    return get_object_or_404(Assignment.objects.select_related("round"), pk=assignment_pk, round=round_)


@login_required
@require_POST
def remove(request, pk, assignment_pk):
    user = _secretariat(request)
    round_ = _round_or_404(pk)
    assignment = _assignment_or_404(round_, assignment_pk)
    replace = bool(request.POST.get("replace"))
    try:
        if replace:
            replacement = rounds.remove_and_replace(assignment, by=user)
        else:
            rounds.remove_assignment(assignment, by=user)
    except TransitionRefused as refusal:
        _refused(request, refusal)
    else:
        messages.success(request, _("Assignment removed."))
        if replace:
            messages.success(request, _("Replaced by %(expert)s.") % {"expert": replacement.expert})
    return _back(round_)


@login_required
@require_POST
def lock(request, pk, assignment_pk):
    user = _secretariat(request)
    round_ = _round_or_404(pk)
    assignment = _assignment_or_404(round_, assignment_pk)
    try:
        rounds.set_locked(assignment, request.POST.get("locked") == "1", by=user)
    except TransitionRefused as refusal:
        _refused(request, refusal)
    return _back(round_)


def _round_step(request, pk, step, done):
    """Run ``step(round, by=user)`` for the secretariat; say ``done`` or every refusal, back to the round."""
    user = _secretariat(request)
    round_ = _round_or_404(pk)
    try:
        step(round_, by=user)
    except TransitionRefused as refusal:
        _refused(request, refusal)
    else:
        messages.success(request, done)
    return _back(round_)


@login_required
@require_POST
def open_round(request, pk):
    return _round_step(request, pk, rounds.open_round, _("The round is open; the invitations are on their way."))


@login_required
@require_POST
def close_round(request, pk):
    return _round_step(request, pk, rounds.close_round, _("The round is closed."))
