"""The expert's side (专家评审): dashboard, declaration, blind dossier with the review form, 活页.

Every page reaches an assignment only by its opaque token through
``reviews.access``; a stranger's token, a withdrawn assignment or a round not
yet open give 404. Templates receive no ``Project`` and no ``Assignment``:
only the ``BlindDossier``, a ``Task`` (token, status, deadline) and the round's
form, so that no name, unit, number or project id can reach an expert's page.
"""

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from projects.blind import blind_dossier
from projects.documents import anonymous_form
from projects.models import Project
from projects.services import TransitionRefused

from .. import access, services
from ..forms_schema import recommendation_label, total_range
from ..models import OPEN_TO_EXPERT, DeclarationKind, DeclarationSignature, Review
from ..workflow import ReviewState, RoundState

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

STATUS_LABELS = {
    "to_answer": gettext_lazy("To answer"),
    "accepted": gettext_lazy("Accepted"),
    "draft": gettext_lazy("Draft saved"),
    "submitted": gettext_lazy("Submitted"),
}


@dataclass(frozen=True)
class Task:
    """One assignment as the expert's pages show it: an opaque token, never the project."""

    token: str
    round_pk: int
    round_name: str
    round_open: bool
    title: str  # the proposal's title, part of the anonymous 活页
    status: str
    deadline: datetime
    extended: bool
    overdue: bool

    @property
    def status_label(self):
        return STATUS_LABELS[self.status]

    @property
    def answerable(self):
        return self.round_open and self.status == "to_answer"


def task_of(assignment, review, title, now):
    if review is not None:
        status = "submitted" if review.state == ReviewState.SUBMITTED else "draft"
    else:
        status = "to_answer" if assignment.status == "invited" else "accepted"
    deadline = assignment.deadline or assignment.round.deadline
    return Task(
        token=assignment.token,
        round_pk=assignment.round_id,
        round_name=assignment.round.name,
        round_open=assignment.round.state == RoundState.OPEN,
        title=title,
        status=status,
        deadline=deadline,
        extended=assignment.deadline is not None,
        overdue=status != "submitted" and deadline < now,
    )


def _review_of(assignment):
    try:
        return assignment.review
    except Review.DoesNotExist:
        return None


def _expert(request):
    """The expert role, else 403: the pages of a role are refused, not hidden."""
    if not access.is_expert(request.user):
        raise PermissionDenied
    return request.user


def _signed(assignment):
    return DeclarationSignature.objects.filter(expert_id=assignment.expert_id, round_id=assignment.round_id).exists()


def _to_declaration(request, assignment):
    """To the round's declaration, coming back to the dossier once it is signed."""
    url = reverse("expert-declaration", args=[assignment.round_id])
    return redirect(f"{url}?{urlencode({'next': reverse('expert-dossier', args=[assignment.token])})}")


# ---- dashboard --------------------------------------------------------------------------------


@login_required
def dashboard(request):
    """The expert's assignments by round, with deadlines, what is left to do and the invitations to answer."""
    user = _expert(request)
    now = timezone.now()
    assignments = (
        access.assignments_of(user)
        .select_related("round", "review")
        .annotate(proposal_title=F("project__title"))
        .order_by("round__deadline", "round_id", "pk")
    )
    signed = set(DeclarationSignature.objects.filter(expert__user=user).values_list("round_id", flat=True))
    rounds, invitations = {}, []
    for assignment in assignments:
        task = task_of(assignment, _review_of(assignment), assignment.proposal_title, now)
        group = rounds.setdefault(assignment.round_id, {
            "pk": assignment.round_id,
            "name": assignment.round.name,
            "deadline": assignment.round.deadline,
            "open": task.round_open,
            "signed": assignment.round_id in signed,
            "tasks": [],
        })
        group["tasks"].append(task)
        if task.answerable:
            invitations.append(task)
    return render(request, "reviews/expert/dashboard.html", {
        "rounds": list(rounds.values()),
        "invitations": invitations,
        "now": now,
    })


# ---- declaration ------------------------------------------------------------------------------


@login_required
def declaration(request, round_pk):
    """The confidentiality and no-conflict declaration (保密与回避承诺), before the round's first dossier."""
    user = _expert(request)
    assignment = access.assignments_of(user).select_related("round", "expert").filter(round_id=round_pk).first()
    if assignment is None:
        raise Http404
    following = _safe_next(request, default=reverse("expert-dashboard"))
    signature = DeclarationSignature.objects.filter(expert=assignment.expert, round_id=round_pk).first()
    if request.method == "POST" and signature is None:
        if request.POST.get("agree"):
            services.sign_declaration(assignment.expert, assignment.round)
            messages.success(request, _("Thank you. The declaration is signed; the dossiers of this round are open to you."))
            return redirect(following)
        messages.error(request, _("Please tick the box to confirm that you agree to the declaration."))
    return render(request, "reviews/expert/declaration.html", {
        "round_name": assignment.round.name,
        "text": signature.text if signature else services.DECLARATION_TEXT,
        "signed_at": signature.signed_at if signature else None,
        "next": following,
    })


def _safe_next(request, default):
    """A ``next`` inside the expert's pages, else ``default`` (never an outside or project address)."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate.startswith("/review/") and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()}):
        return candidate
    return default


# ---- dossier and review form ------------------------------------------------------------------


@dataclass(frozen=True)
class CriterionRow:
    key: str
    name: str
    weight: int
    points: str
    value: object  # as typed (an int, or the text that was refused), or "" when empty


@dataclass(frozen=True)
class OtherReview:
    """Another expert's submitted review of the same proposal, under an alias only."""

    alias: str
    total: object
    recommendation: str
    scores: tuple  # (criterion name, score)
    comments_to_applicant: str


def _project_for_dossier(assignment):
    """The project with what ``blind_dossier`` reads, loaded here and never passed to a template."""
    return (
        Project.objects.select_related("call", "call_class", "guide_topic")
        .prefetch_related("planned_outputs")
        .get(pk=assignment.project_id)
    )


def _entry(review, typed=None):
    """The values the form shows: what was just typed, else the saved draft, else nothing."""
    if typed is not None:
        return typed
    if review is None:
        return {"scores": {}, "recommendation": "", "comments_to_applicant": "", "comments_to_committee": ""}
    return {
        "scores": dict(review.scores or {}),
        "recommendation": review.recommendation,
        "comments_to_applicant": review.comments_to_applicant,
        "comments_to_committee": review.comments_to_committee,
    }


def _typed(request, form):
    return {
        "scores": {c["key"]: request.POST.get(f"score-{c['key']}", "") for c in form["criteria"]},
        "recommendation": request.POST.get("recommendation", ""),
        "comments_to_applicant": request.POST.get("comments_to_applicant", ""),
        "comments_to_committee": request.POST.get("comments_to_committee", ""),
    }


def _other_reviews(assignment, form):
    """The other submitted reviews of the proposal, when the round lets experts see each other."""
    reviews = (
        Review.objects.filter(
            assignment__round_id=assignment.round_id,
            assignment__project_id=assignment.project_id,
            assignment__status__in=OPEN_TO_EXPERT,
            state=ReviewState.SUBMITTED,
        )
        .exclude(assignment_id=assignment.pk)
        .select_related("assignment")
        .order_by("assignment__alias_number", "submitted_at")
    )
    return [
        OtherReview(
            alias=review.assignment.alias or "专家?",
            total=review.total,
            recommendation=recommendation_label(form, review.recommendation),
            scores=tuple((c["name"], (review.scores or {}).get(c["key"], "—")) for c in form["criteria"]),
            comments_to_applicant=review.comments_to_applicant,
        )
        for review in reviews
    ]


@login_required
def dossier(request, token):
    """The blind dossier with the review form: save a draft, submit, or see the submitted review."""
    user = request.user
    assignment = access.assignment_or_404(user, token)
    if not _signed(assignment):
        return _to_declaration(request, assignment)
    typed = None
    if request.method == "POST":
        typed = _typed(request, assignment.round.form)
        outcome = _save_or_submit(request, assignment, typed)
        if outcome is not None:
            return outcome
    return _render_dossier(request, assignment, typed)


def _save_or_submit(request, assignment, typed):
    """Run the expert's button; a redirect when it worked, None to show the page again with the input."""
    submitting = request.POST.get("action") == "submit"
    step = services.submit_review if submitting else services.save_review
    try:
        step(assignment, typed, by=request.user)
    except services.ReviewInputRefused as refusal:
        for message in refusal.messages:
            messages.error(request, message)
        if submitting:
            messages.info(request, _("Your draft is saved; nothing you typed is lost."))
        return None
    except TransitionRefused as refusal:
        for message in refusal.messages:
            messages.error(request, message)
        return redirect("expert-dossier", token=assignment.token)
    messages.success(request, _("Your review is submitted. Thank you.") if submitting else _("Draft saved."))
    return redirect("expert-dossier", token=assignment.token)


def _render_dossier(request, assignment, typed):
    form = assignment.round.form
    review = Review.objects.filter(assignment=assignment).first()
    entry = _entry(review, typed)
    task = task_of(assignment, review, "", timezone.now())
    submitted = review is not None and review.state == ReviewState.SUBMITTED
    low, high = total_range(form)
    context = {
        "dossier": blind_dossier(_project_for_dossier(assignment), assignment.round.stage),
        "task": task,
        "form": form,
        "rows": [
            CriterionRow(c["key"], c["name"], c["weight"], c.get("points", ""), entry["scores"].get(c["key"], ""))
            for c in form["criteria"]
        ],
        "entry": entry,
        "recommendation_label": recommendation_label(form, entry["recommendation"]) if entry["recommendation"] else "",
        "total": review.total if review is not None and typed is None else None,
        "total_range": (low, high),
        "read_only": submitted or not task.round_open,
        "submitted": submitted,
        "submitted_at": review.submitted_at if submitted else None,
        "others": _other_reviews(assignment, form) if submitted and assignment.round.experts_see_each_other else None,
        "conflict_kinds": DeclarationKind.choices,
    }
    return render(request, "reviews/expert/dossier.html", context)


@login_required
def dossier_docx(request, token):
    """The 活页 with the round's score sheet, named and stamped so that it tells nothing."""
    assignment = access.assignment_or_404(request.user, token)
    if not _signed(assignment):
        return _to_declaration(request, assignment)
    data = anonymous_form(_project_for_dossier(assignment), form=assignment.round.form, stage=assignment.round.stage)
    response = HttpResponse(data, content_type=DOCX)
    response["Content-Disposition"] = 'attachment; filename="huoye.docx"'
    return response


# ---- answering ------------------------------------------------------------------------------


@login_required
@require_POST
def accept(request, token):
    assignment = access.assignment_or_404(request.user, token)
    if not _signed(assignment):
        return _to_declaration(request, assignment)
    try:
        services.accept(assignment, by=request.user)
    except TransitionRefused as refusal:
        for message in refusal.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Invitation accepted. Thank you."))
    return redirect("expert-dossier", token=assignment.token)


@login_required
@require_POST
def decline(request, token):
    assignment = access.assignment_or_404(request.user, token)
    try:
        services.decline(assignment, by=request.user, reason=request.POST.get("reason", ""))
    except TransitionRefused as refusal:
        for message in refusal.messages:
            messages.error(request, message)
        return redirect(_safe_next(request, default=reverse("expert-dossier", args=[assignment.token])))
    messages.success(request, _("You have declined this review. Thank you for telling us."))
    return redirect("expert-dashboard")


@login_required
@require_POST
def declare_conflict(request, token):
    assignment = access.assignment_or_404(request.user, token)
    try:
        services.declare_conflict(
            assignment, by=request.user, kind=request.POST.get("kind", ""), text=request.POST.get("text", "")
        )
    except TransitionRefused as refusal:
        for message in refusal.messages:
            messages.error(request, message)
        return redirect("expert-dossier", token=assignment.token)
    messages.success(request, _("Thank you. The conflict is recorded and the proposal is withdrawn from you."))
    return redirect("expert-dashboard")


# ---- the secretariat ---------------------------------------------------------------------------


@login_required
@require_POST
def reopen(request, pk):
    """The secretariat reopens a submitted review for its expert (退回修改), with a reason."""
    if not access.is_secretariat(None, request.user):
        raise Http404
    review = get_object_or_404(Review.objects.select_related("assignment__round"), pk=pk)
    try:
        services.reopen_review(review, by=request.user, reason=request.POST.get("reason", ""))
    except TransitionRefused as refusal:
        for message in refusal.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("The review is reopened for its expert."))
    following = request.POST.get("next", "")
    if following and url_has_allowed_host_and_scheme(following, allowed_hosts={request.get_host()}):
        return redirect(following)
    return redirect(_round_page(review.assignment.round))


def _round_page(round_):
    try:
        return reverse("round-detail", args=[round_.pk])
    except NoReverseMatch:
        return reverse("dashboard")
