"""The expert's steps (专家评审): sign, accept, decline, save, submit, declare a conflict.

Each step is one function, used alike by the expert's pages, the admin, the
demo and the tests. A step that may not happen raises
``projects.services.TransitionRefused`` with every message at once. The state
of a review (draft → submitted → draft) changes only through
``projects.services.perform``; what the expert types is never lost: a draft is
saved even when the submission is refused, and a score that is off the scale
is left out of the record (never stored wrong) while the page shows it again
with its message.
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from projects.services import TransitionRefused, perform, refusals_by_rule

from . import access
from .forms_schema import score_problems, weighted_total
from .models import (
    OPEN_TO_EXPERT,
    Assignment,
    AssignmentStatus,
    DeclarationKind,
    DeclarationSignature,
    ExpertDeclaration,
    Review,
)
from .workflow import ReviewState, RoundState

# 保密与回避承诺: stored with each signature as the expert signed it.
DECLARATION_TEXT = (
    "本人承诺：\n"
    "一、对评审材料及评审过程中知悉的全部信息严格保密，不以任何方式向他人透露评审内容、评审意见和评审结果。\n"
    "二、与所评审的课题及其申请人、课题组成员不存在利益冲突（包括亲属关系、师生关系、同单位、密切合作或近年共同承担课题等情形）。\n"
    "三、不复制、不外传、不保存评审材料，不将评审材料用于评审以外的任何用途。\n"
    "四、评审过程中如发现存在应当回避的情形，立即向秘书处申报并停止评审该课题。\n"
    "五、独立、客观、公正地提出评审意见，不受任何单位和个人的干扰。"
)

TEXT_FIELDS = ("comments_to_applicant", "comments_to_committee")


class ReviewInputRefused(TransitionRefused):
    """Some of the typed input could not be kept (a score off the scale, an unknown
    recommendation); everything else was saved in ``review``."""

    def __init__(self, messages, review):
        super().__init__(messages)
        self.review = review


# ---- the declaration and the invitation --------------------------------------------------------


def sign_declaration(expert, round, *, now=None):
    """Sign the confidentiality and no-conflict declaration (签署保密与回避承诺) for ``round``, once.

    Signing again returns the first signature unchanged: the text and the moment
    the expert agreed to are what count.
    """
    signature, _created = DeclarationSignature.objects.get_or_create(
        expert=expert, round=round, defaults={"text": DECLARATION_TEXT, "signed_at": now or timezone.now()}
    )
    return signature


def has_signed(expert, round):
    return DeclarationSignature.objects.filter(expert=expert, round=round).exists()


def accept(assignment, *, by, now=None):
    """Accept the invitation (接受邀请): only after the declaration of the round is signed."""
    now = now or timezone.now()
    with transaction.atomic():
        assignment = _locked(assignment)
        messages = _expert_refusals(assignment, by)
        if not messages and assignment.status != AssignmentStatus.INVITED:
            messages.append(_("This invitation has already been answered."))
        if not messages and not has_signed(assignment.expert, assignment.round):
            messages.append(_("Please sign the confidentiality and no-conflict declaration first."))
        if messages:
            raise TransitionRefused(messages)
        assignment.status = AssignmentStatus.ACCEPTED
        assignment.responded_at = now
        assignment.save(update_fields=["status", "responded_at"])
    return assignment


def decline(assignment, *, by, reason, now=None):
    """Decline (谢绝评审) with a reason, before the review is submitted; a replacement is invited.

    ``by`` is the expert, or the secretariat recording an expert's answer given by
    phone or mail. The assignment leaves the expert's reach at once;
    ``reviews.rounds.replace_declined`` picks the best available expert in the same
    transaction.
    """
    now = now or timezone.now()
    reason = (reason or "").strip()
    with transaction.atomic():
        assignment = _locked(assignment)
        messages = _expert_refusals(assignment, by, secretariat_too=True)
        if not messages and _submitted(assignment):
            messages.append(_("Your review is submitted; ask the secretariat if you can no longer stand by it."))
        if not reason:
            messages.append(_("Please give a reason for declining."))
        if messages:
            raise TransitionRefused(messages)
        assignment.status = AssignmentStatus.DECLINED
        assignment.responded_at = now
        assignment.decline_reason = reason
        assignment.save(update_fields=["status", "responded_at", "decline_reason"])
        _replace(assignment, by=by, now=now)
    return assignment


def declare_conflict(assignment, *, by, kind, text, now=None):
    """Declare a conflict found while reading (评审中发现回避情形): the expert leaves the proposal.

    The declaration names the proposal (the expert does not learn whose it is);
    the assignment is removed, the conflict table learns of it, and a
    replacement is invited, all in one transaction.
    """
    now = now or timezone.now()
    text = (text or "").strip()
    with transaction.atomic():
        assignment = _locked(assignment)
        messages = _expert_refusals(assignment, by)
        if kind not in DeclarationKind.values:
            messages.append(_("Please choose the kind of conflict."))
        if not text:
            messages.append(_("Please explain the conflict in a few words."))
        if messages:
            raise TransitionRefused(messages)
        declaration = ExpertDeclaration.objects.create(
            expert=assignment.expert, kind=kind, project=assignment.project, text=text
        )
        assignment.status = AssignmentStatus.REMOVED
        assignment.removed_at = now
        assignment.save(update_fields=["status", "removed_at"])
        _refresh_conflicts(assignment, now)
        _replace(assignment, by=by, now=now)
    return declaration


# ---- the review ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedInput:
    """The typed review, split into what may be stored and the messages about the rest."""

    scores: dict  # every typed score (ints, or the raw text when it is not a whole number)
    valid_scores: dict  # the scores on the scale: what is stored
    recommendation: str
    texts: dict
    score_messages: list  # scores that are not whole numbers on the scale
    other_messages: list  # an unknown recommendation

    @property
    def problems(self):
        return self.score_messages + self.other_messages


def parse_review_input(form, data):
    """Read a review form's input (strings from a page, or Python values) against ``form``."""
    raw_scores = data.get("scores") or {}
    scores = {}
    for criterion in form["criteria"]:
        value = _as_score(raw_scores.get(criterion["key"]))
        if value is not None:
            scores[criterion["key"]] = value
    low, high = form["scale"]["min"], form["scale"]["max"]
    valid = {key: value for key, value in scores.items() if isinstance(value, int) and low <= value <= high}
    other = []
    recommendation = str(data.get("recommendation") or "").strip()
    if recommendation and recommendation not in {o["code"] for o in form["recommendations"]}:
        other.append(_("Please choose one of the recommendations offered."))
        recommendation = ""
    texts = {name: str(data.get(name) or "").strip() for name in TEXT_FIELDS}
    return ParsedInput(scores=scores, valid_scores=valid, recommendation=recommendation, texts=texts,
                       score_messages=score_problems(form, scores, complete=False), other_messages=other)


def _as_score(value):
    """A whole number from a field (full-width digits too); the raw text when it is not one; None when empty."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        return text


def save_review(assignment, data, *, by, now=None):
    """Save the review as a draft (保存草稿); missing parts are fine, wrong ones are left out.

    ``data``: ``{"scores": {key: value}, "recommendation": code, "comments_to_applicant": text,
    "comments_to_committee": text}``. The first save creates the review and
    accepts an invitation not yet answered. When a score is off the scale the
    rest is saved and ``ReviewInputRefused`` (a ``TransitionRefused``) says what
    was left out.
    """
    review, parsed = _save(assignment, data, by=by, now=now or timezone.now())
    if parsed.problems:
        raise ReviewInputRefused(parsed.problems, review)
    return review


def submit_review(assignment, data, *, by, now=None):
    """Save and submit the review (提交评审意见); on refusal the draft is kept and every message given."""
    now = now or timezone.now()
    review, parsed = _save(assignment, data, by=by, now=now)
    # Scores are judged on what was typed (so an off-scale one is named as such, not as missing);
    # an unknown recommendation by its own message; the other rules by the submit step's guards.
    messages = score_problems(review.assignment.round.form, parsed.scores, complete=True) + parsed.other_messages
    judged = {"scores_complete"} | ({"recommendation_chosen"} if parsed.other_messages else set())
    messages += [message for rule, message in refusals_by_rule(review, "submit", by=by, now=now) if rule not in judged]
    if messages:
        raise ReviewInputRefused(messages, review)
    return perform(review, "submit", by=by, now=now)


def reopen_review(review, *, by, reason, now=None):
    """Reopen a submitted review for the expert (退回修改); the secretariat only, with a reason."""
    return perform(review, "reopen", by=by, reason=reason, now=now)


def _save(assignment, data, *, by, now):
    """Write the draft; returns ``(review, parsed input)``; refuses what may not be saved at all."""
    with transaction.atomic():
        assignment = _locked(assignment)
        messages = _expert_refusals(assignment, by)
        if not messages and not has_signed(assignment.expert, assignment.round):
            messages.append(_("Please sign the confidentiality and no-conflict declaration first."))
        review = Review.objects.select_for_update().filter(assignment=assignment).first()
        if not messages and review is not None and review.state == ReviewState.SUBMITTED:
            messages.append(_("Your review is submitted and can no longer be changed; "
                              "the secretariat may reopen it."))
        if messages:
            raise TransitionRefused(messages)
        form = assignment.round.form
        parsed = parse_review_input(form, data)
        review = review or Review(assignment=assignment)
        review.scores = parsed.valid_scores
        review.total = weighted_total(form, parsed.valid_scores)
        review.recommendation = parsed.recommendation
        for name, text in parsed.texts.items():
            setattr(review, name, text)
        review.save()
        if assignment.status == AssignmentStatus.INVITED:
            assignment.status = AssignmentStatus.ACCEPTED
            assignment.responded_at = now
            assignment.save(update_fields=["status", "responded_at"])
    review.assignment = assignment
    return review, parsed


# ---- shared checks -------------------------------------------------------------------------------


def _locked(assignment):
    return Assignment.objects.select_for_update().select_related("round", "expert", "expert__user").get(pk=assignment.pk)


def _expert_refusals(assignment, user, *, secretariat_too=False):
    """Why ``user`` may not act on the assignment as its expert now ([] when they may)."""
    own = getattr(user, "is_authenticated", False) and user.is_active and assignment.expert.user_id == user.pk
    if not (own or secretariat_too and user is not None and access.is_secretariat(None, user)):
        return [_("This review assignment is not yours.")]
    if assignment.status not in OPEN_TO_EXPERT:
        return [_("This review assignment has been withdrawn.")]
    if assignment.round.state != RoundState.OPEN:
        return [_("The review round is closed.")]
    return []


def _submitted(assignment):
    return Review.objects.filter(assignment=assignment, state=ReviewState.SUBMITTED).exists()


def _replace(assignment, *, by, now):
    from .rounds import replace_declined

    return replace_declined(assignment, by=by, now=now)


def _refresh_conflicts(assignment, now):
    """Let the conflict table know of the declaration, so that no later run assigns the pair again."""
    from .conflicts import refresh_conflicts

    refresh_conflicts(projects=[assignment.project], experts=[assignment.expert], now=now)
