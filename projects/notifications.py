"""Who is told what about a transition; the telling itself is ``accounts.inbox.notify``.

Each recipient gets an inbox entry and a mail in their own language; the text
names the step, the new state and the reason typed by whoever took the step,
and links to the project page.
"""

from functools import partial

from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.inbox import notify

from .models import Project, TransitionLog
from .services import step_label

# Steps the PI hears about (the unit hears about submissions). "approve" and
# "decline" are not here: the committee meeting's release (reviews.meetings)
# writes the decision message itself, with the comments meant for the
# applicant, so that each applicant is told exactly once.
PI_IS_TOLD = {
    "submit", "return_to_applicant", "endorse", "return_for_revision", "pass_formal_check",
    "reject_formal", "drop", "confirm", "pass_midterm", "fail_midterm",
    "appraise", "terminate", "revoke_project",
}


def recipients_for(log):
    """The people told about ``log`` (with or without an address: the inbox takes everyone)."""
    project = log.project
    if project is None:
        return []
    people = []
    if log.transition in PI_IS_TOLD and log.content_type.model == "project":
        people.append(project.pi)
    if log.transition == "submit" and project.institution_id:
        people.extend(project.institution.admin_group.user_set.filter(is_active=True))
    return people


def transition_message(log):
    """A writer for ``notify``: (subject, body) of one step, rendered in the reader's language."""
    project = log.project
    subject = _("[Keti] %(step)s: %(title)s") % {"step": step_label(Project, log.transition), "title": project.title}
    body = _("The project “%(title)s” is now “%(state)s”.") % {
        "title": project.title,
        "state": project.get_state_display(),
    }
    if log.reason:
        body += "\n\n" + _("Reason: %(reason)s") % {"reason": log.reason}
    return subject, body


def notify_transition(log_id):
    """Tell everyone concerned about one logged step; returns how many were told."""
    log = (
        TransitionLog.objects.select_related("project__pi", "project__institution__admin_group", "content_type")
        .filter(pk=log_id)
        .first()
    )
    if log is None:
        return 0
    people = recipients_for(log)
    link = reverse("project-detail", args=[log.project_id]) if people else ""
    for person in people:
        notify(person, partial(transition_message, log), link=link)
    return len(people)
