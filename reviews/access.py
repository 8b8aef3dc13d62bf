"""Who may do what in the review app: the one place that says so.

Experts reach a proposal only through an assignment that is theirs and still
open to them (invited or accepted, in an open or closed round); a removed or
declined assignment, a pair found in conflict (回避), another expert's token or a
project id lead nowhere (404).
The committee sees rankings and reviews under aliases; the secretariat runs it all.
"""

from django.http import Http404

from accounts import roles
from projects.access import is_secretariat  # noqa: F401  (re-exported: transition permission)


def expert_profile_of(user):
    """The user's expert profile, or None."""
    if not (user.is_authenticated and user.is_active):
        return None
    from .models import ExpertProfile

    return ExpertProfile.objects.filter(user=user).first()


def is_expert(user):
    return user.is_authenticated and user.is_active and roles.has_role(user, roles.EXPERT)


def is_reviewer(review, user):
    """The expert of the review's assignment, while the assignment is open to them."""
    from .models import OPEN_TO_EXPERT

    assignment = review.assignment
    return (
        user.is_authenticated
        and user.is_active
        and assignment.expert.user_id == user.pk
        and assignment.status in OPEN_TO_EXPERT
    )


def assignments_of(user):
    """The assignments ``user`` may open as an expert (a queryset; empty for others)."""
    from django.db.models import Exists, OuterRef

    from .models import BLOCKING_STATUSES, Assignment, Conflict

    if not is_expert(user):
        return Assignment.objects.none()
    # Defence in depth: a pair found in conflict is closed even before it is removed.
    blocked = Conflict.objects.filter(project_id=OuterRef("project_id"), expert_id=OuterRef("expert_id"),
                                      status__in=BLOCKING_STATUSES)
    return Assignment.objects.open_to_expert().filter(expert__user=user).exclude(Exists(blocked))


def assignment_or_404(user, token):
    """The expert's own open assignment under ``token``; 404 for anything else."""
    assignment = assignments_of(user).select_related("round", "round__call_class", "expert").filter(token=token).first()
    if assignment is None:
        raise Http404
    return assignment


def may_see_ranking(user):
    """The secretariat and the academic committee see rankings (reviewers under aliases)."""
    return is_secretariat(None, user) or (user.is_authenticated and user.is_active and roles.has_role(user, roles.COMMITTEE))
