"""Celery tasks of review rounds: the invitation mails (thin wrappers taking ids)."""

from celery import shared_task
from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

__all__ = ["send_invitations"]


def review_link():
    """Where an expert finds his assignments (the expert dashboard), as a full address for a mail."""
    try:
        path = reverse("expert-dashboard")
    except NoReverseMatch:
        path = "/review/"
    return settings.SITE_URL.rstrip("/") + path


def _invitation(expert, count, round_name, deadline):
    def write():
        subject = _("[Keti] Invitation to review")
        body = ngettext(
            "Dear %(name)s,\n\nYou are invited to review %(n)s proposal in the round “%(round)s”.",
            "Dear %(name)s,\n\nYou are invited to review %(n)s proposals in the round “%(round)s”.",
            count,
        ) % {"name": expert.user.display_name, "n": count, "round": round_name}
        body += "\n\n" + _("Please accept or decline within a few days, and send your reviews by %(deadline)s.") % {
            "deadline": date_format(timezone.localtime(deadline), "Y-m-d H:i")}
        body += "\n\n" + _("Log in and open %(link)s to see the blind dossiers.") % {"link": review_link()}
        return subject, body
    return write


@shared_task
def send_invitations(round_id, assignment_ids):
    """One mail per invited expert: how many proposals, the deadline, the link to /review/.

    No project title, name, unit or number is written: the expert sees the proposals
    in their blind dossiers only. Assignments no longer invited are skipped, so
    a removal before the mail leaves goes unannounced.
    """
    from .models import Assignment, AssignmentStatus
    from .notifications import tell

    assignments = (
        Assignment.objects.filter(round_id=round_id, pk__in=assignment_ids, status=AssignmentStatus.INVITED)
        .select_related("round", "expert__user")
        .order_by("expert_id", "pk")
    )
    by_expert = {}
    for assignment in assignments:
        by_expert.setdefault(assignment.expert_id, []).append(assignment)
    sent = 0
    for group in by_expert.values():
        first = group[0]
        deadline = min(a.effective_deadline for a in group)
        if tell(first.expert.user, _invitation(first.expert, len(group), first.round.name, deadline)):
            sent += 1
    return sent
