"""One adapter for every notification: who is told what about a transition.

Mail goes out in the recipient's language; the text names the step, the new
state and the reason typed by whoever took the step.
"""

from django.conf import settings
from django.core.mail import send_mail
from django.utils import translation
from django.utils.translation import gettext as _

from .models import Project, TransitionLog
from .services import step_label

# Steps the PI hears about by e-mail (the unit hears about submissions).
PI_IS_TOLD = {
    "submit", "return_to_applicant", "endorse", "return_for_revision", "pass_formal_check",
    "reject_formal", "approve", "decline", "drop", "confirm", "pass_midterm", "fail_midterm",
    "appraise", "terminate", "revoke_project",
}


def recipients_for(log):
    project = log.project
    if project is None:
        return []
    people = []
    if log.transition in PI_IS_TOLD and log.content_type.model == "project":
        people.append(project.pi)
    if log.transition == "submit" and project.institution_id:
        people.extend(project.institution.admin_group.user_set.filter(is_active=True))
    return [p for p in people if p.email]


def notify_transition(log_id):
    log = TransitionLog.objects.select_related("project__pi", "project__institution", "content_type").filter(pk=log_id).first()
    if log is None:
        return 0
    sent = 0
    for person in recipients_for(log):
        with translation.override(settings.LANGUAGE_CODE):
            project = log.project
            subject = _("[Keti] %(step)s: %(title)s") % {"step": step_label(Project, log.transition), "title": project.title}
            body = _("The project “%(title)s” is now “%(state)s”.") % {
                "title": project.title,
                "state": project.get_state_display(),
            }
            if log.reason:
                body += "\n\n" + _("Reason: %(reason)s") % {"reason": log.reason}
        send_mail(subject, body, None, [person.email])
        sent += 1
    return sent
