"""Guards of the round and review machines, each returning a message when it fails."""

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from projects.guards import guard, reason_given  # noqa: F401  (reason_given is used by workflow)

from .forms_schema import score_problems


# ---- rounds -------------------------------------------------------------------------


@guard
def round_has_proposals(round_, ctx):
    """A round without proposals has nothing to send."""
    if not round_.projects.exists():
        return _("The round has no proposals.")
    return None


@guard
def no_undecided_conflicts(round_, ctx):
    """Possible conflicts of the round's proposals must be confirmed or dismissed first."""
    from .models import Conflict, ConflictStatus

    count = Conflict.objects.filter(project__in=round_.projects.all(), status=ConflictStatus.POTENTIAL).count()
    if count:
        return ngettext(
            "%(n)s possible conflict is still to be confirmed or dismissed.",
            "%(n)s possible conflicts are still to be confirmed or dismissed.",
            count,
        ) % {"n": count}
    return None


@guard
def no_conflicted_assignment(round_, ctx):
    """No current pair may be in a blocking conflict, nor two experts of one unit share a proposal."""
    from .rounds import conflict_texts, conflicted_assignments, proposal_label, unit_key

    current = round_.assignments.filter(status__in=("proposed", "invited", "accepted")).select_related(
        "project", "expert__user", "expert__institution").order_by("project_id", "pk")
    conflicted = list(conflicted_assignments().filter(round=round_).select_related(
        "project", "expert__user").order_by("project_id", "pk"))
    texts = conflict_texts({(a.project_id, a.expert_id) for a in conflicted})
    problems = [_("%(expert)s may not review %(proposal)s: %(reasons)s.") % {
        "expert": a.expert, "proposal": proposal_label(a.project),
        "reasons": texts.get((a.project_id, a.expert_id), "—")} for a in conflicted]
    seen = {}
    for a in current:
        unit = unit_key(a.expert)
        if unit is None:
            continue
        other = seen.setdefault((a.project_id, unit), a)
        if other.pk != a.pk:
            problems.append(_("%(proposal)s has two experts of the same unit: %(one)s and %(other)s.") % {
                "proposal": proposal_label(a.project), "one": other.expert, "other": a.expert})
    return " ".join(problems) or None


@guard
def every_proposal_covered(round_, ctx):
    """Each proposal needs its k experts before the invitations go out."""
    from django.db.models import Count, Q

    from .models import AssignmentStatus

    current = Q(assignments__round=round_, assignments__status__in=(AssignmentStatus.PROPOSED,
                                                                     AssignmentStatus.INVITED,
                                                                     AssignmentStatus.ACCEPTED))
    short = (
        round_.projects.annotate(n=Count("assignments", filter=current))
        .filter(n__lt=round_.experts_per_proposal)
        .count()
    )
    if short:
        return ngettext(
            "%(n)s proposal has fewer than %(k)s experts.",
            "%(n)s proposals have fewer than %(k)s experts.",
            short,
        ) % {"n": short, "k": round_.experts_per_proposal}
    return None


@guard
def deadline_ahead(round_, ctx):
    if round_.deadline <= ctx.now:
        return _("The deadline of the round has passed; set a later one.")
    return None


# ---- reviews ------------------------------------------------------------------------


@guard
def round_is_open(review, ctx):
    """Reviews are taken (and reopened) only while the round is open."""
    if review.assignment.round.state != "open":
        return _("The review round is closed.")
    return None


@guard
def declaration_signed(review, ctx):
    """The confidentiality and no-conflict declaration comes before any review."""
    assignment = review.assignment
    if not assignment.expert.signatures.filter(round_id=assignment.round_id).exists():
        return _("Please sign the confidentiality and no-conflict declaration first.")
    return None


@guard
def scores_complete(review, ctx):
    """Every criterion scored, on the form's scale."""
    problems = score_problems(review.assignment.round.form, review.scores)
    return " ".join(problems) or None


@guard
def recommendation_chosen(review, ctx):
    codes = {option["code"] for option in review.assignment.round.form["recommendations"]}
    if review.recommendation not in codes:
        return _("Please choose a recommendation.")
    return None


@guard
def comments_to_applicant_written(review, ctx):
    """The applicant is owed a reason: the comments to the applicant may not be empty."""
    if not (review.comments_to_applicant or "").strip():
        return _("Please write your comments to the applicant.")
    return None


# ---- meetings -----------------------------------------------------------------------


@guard
def decisions_staged(meeting, ctx):
    """Release only once there is something staged (and nothing is released twice)."""
    if not meeting.decisions.filter(released_at__isnull=True).exists():
        return _("No decision is staged for release.")
    return None


@guard
def approvals_within_quota(meeting, ctx):
    """Approvals within each class's quota (立项数不超过限额), counting the approvals released by earlier
    meetings of the call (see ``reviews.meetings.released_approvals``)."""
    from django.db.models import Count, Q

    from .meetings import released_approvals

    problems = []
    classes = meeting.call.classes.annotate(
        approved=Count("projects__staged_decisions", filter=Q(projects__staged_decisions__meeting=meeting,
                                                               projects__staged_decisions__outcome="approve",
                                                               projects__staged_decisions__released_at__isnull=True))
    )
    for call_class in classes:
        if not call_class.quota:
            continue
        earlier = released_approvals(call_class, exclude_meeting=meeting)
        if call_class.approved + earlier > call_class.quota:
            if earlier:
                problems.append(_("Class %(code)s: %(n)s approvals staged and %(earlier)s released by earlier "
                                  "meetings, the quota is %(quota)s.")
                                % {"code": call_class.code, "n": call_class.approved, "earlier": earlier,
                                   "quota": call_class.quota})
            else:
                problems.append(_("Class %(code)s: %(n)s approvals staged, the quota is %(quota)s.")
                                % {"code": call_class.code, "n": call_class.approved, "quota": call_class.quota})
    return " ".join(problems) or None
