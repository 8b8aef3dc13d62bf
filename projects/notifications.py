"""Who is told of which step, and what; the telling itself is ``accounts.inbox.notify``.

``TOLD`` is the whole answer to "who hears of this step": for each (record,
step) the audiences told and the page their message links to. Each recipient
gets an inbox entry and a mail in their own language; the text names the step,
the new state and the reason typed by whoever took the step.

Left out on purpose:

* "approve" and "decline" of a project: the committee meeting's release
  (``reviews.meetings``) writes the decision message itself, with the comments
  meant for the applicant, so that each applicant is told exactly once.
* every step of the completion materials (``completionreport``) and the unit's
  part of "submit_completion": ``projects.completion`` tells the unit and the PI
  itself (``_tell_unit``, ``_tell_after_step``) with messages of its own, so
  naming them here would tell everyone twice.
"""

from functools import partial

from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import roles
from accounts.inbox import notify

from .models import ChangeRequest, Project, TransitionLog
from .services import step_label

# The audiences.
PI = "pi"  # the project's PI (课题负责人)
UNIT = "unit"  # the research administrators of the project's unit (单位科研管理员)
SECRETARIAT = "secretariat"  # 秘书处

# Where a message links to: a URL name; those below take the project's id, the queues take nothing.
PROJECT = "project-detail"
PROJECT_PAGES = {PROJECT, "project-changes", "approval-letter"}

# (record, step) → {audience: the page the message links to}. The record is the content type's model.
TOLD = {
    # the application
    ("project", "submit"): {PI: PROJECT, UNIT: PROJECT},
    ("project", "return_to_applicant"): {PI: PROJECT},
    ("project", "endorse"): {PI: PROJECT},
    ("project", "return_for_revision"): {PI: PROJECT},
    ("project", "pass_formal_check"): {PI: PROJECT},
    ("project", "reject_formal"): {PI: PROJECT},
    # the decision and the notice ("approve" / "decline": see the module's docstring)
    ("project", "drop"): {PI: PROJECT},
    ("project", "confirm"): {PI: "approval-letter"},
    # supervision
    ("project", "submit_midterm"): {SECRETARIAT: "midterm-queue"},
    ("project", "pass_midterm"): {PI: PROJECT},
    ("project", "fail_midterm"): {PI: PROJECT},
    ("project", "terminate"): {PI: PROJECT},
    ("project", "revoke_project"): {PI: PROJECT},
    # completion ("submit_completion": projects.completion tells the unit; see the docstring)
    ("project", "appraise"): {PI: PROJECT},
    # change requests (变更申请): PI → unit → secretariat
    ("changerequest", "request"): {UNIT: "unit-change-queue"},
    ("changerequest", "endorse"): {SECRETARIAT: "change-queue", PI: "project-changes"},
    ("changerequest", "approve"): {PI: "project-changes", UNIT: PROJECT},
    ("changerequest", "reject"): {PI: "project-changes", UNIT: PROJECT},
    ("changerequest", "withdraw"): {PI: "project-changes"},
}

# What a change request's step says (the reason, if any, follows it).
CHANGE_BODIES = {
    "request": gettext_lazy("The PI of “%(title)s” requests a change (%(kind)s). Please endorse it or reject it "
                            "with a reason."),
    "endorse": gettext_lazy("The unit has endorsed a change request (%(kind)s) of “%(title)s”; it now waits for the "
                            "secretariat's decision."),
    "approve": gettext_lazy("The change request (%(kind)s) of “%(title)s” was approved and has been applied to "
                            "the project."),
    "reject": gettext_lazy("The change request (%(kind)s) of “%(title)s” was not approved."),
    "withdraw": gettext_lazy("The change request (%(kind)s) of “%(title)s” was withdrawn."),
}


def recipients_for(log):
    """``[(person, audience, url_name)]`` told about ``log``, each person once (the inbox takes everyone,
    with or without an address)."""
    project = log.project
    told = TOLD.get((log.content_type.model, log.transition), {})
    if project is None or not told:
        return []
    seen, recipients = set(), []
    for audience, url_name in told.items():
        for person in _audience(audience, project):
            if person.pk not in seen:
                seen.add(person.pk)
                recipients.append((person, audience, url_name))
    return recipients


def _audience(audience, project):
    if audience == PI:
        return [project.pi]
    if audience == UNIT:
        if not project.institution_id:
            return []
        return list(project.institution.admin_group.user_set.filter(is_active=True).order_by("pk"))
    if audience == SECRETARIAT:
        return list(get_user_model().objects.filter(groups__name=roles.SECRETARIAT, is_active=True)
                    .distinct().order_by("pk"))
    raise ValueError(audience)


def link_of(url_name, project):
    return reverse(url_name, args=[project.pk]) if url_name in PROJECT_PAGES else reverse(url_name)


# ---- the messages (each runs in the reader's language) ------------------------------------------


def _with_reason(body, reason):
    return body + ("\n\n" + _("Reason: %(reason)s") % {"reason": reason} if reason else "")


def transition_message(log):
    """A writer for ``notify``: (subject, body) of one step of a project."""
    project = log.project
    subject = _("[Keti] %(step)s: %(title)s") % {"step": step_label(Project, log.transition), "title": project.title}
    body = _("The project “%(title)s” is now “%(state)s”.") % {
        "title": project.title,
        "state": project.get_state_display(),
    }
    return subject, _with_reason(body, log.reason)


def confirmation_message(log):
    """正式立项: the PI hears the project's number; the message links to the approval letter."""
    project = log.project
    subject = _("[Keti] %(step)s: %(title)s") % {"step": step_label(Project, log.transition), "title": project.title}
    body = _("The project “%(title)s” has been approved after the public notice and carries the number "
             "%(number)s. The approval letter can be downloaded from the link below and from the project's "
             "page.") % {"title": project.title, "number": project.number}
    return subject, _with_reason(body, log.reason)


def midterm_message(log):
    """The secretariat hears that a mid-term report waits for its decision."""
    project = log.project
    subject = _("[Keti] Mid-term report to decide: %(title)s") % {"title": project.title}
    body = _("The PI of “%(title)s” (%(number)s) has submitted the mid-term report. Please decide on it, or run a "
             "mid-term review round.") % {"title": project.title, "number": project.number or "—"}
    return subject, body


def change_message(log, change):
    """A step of a change request, for whoever is told of it."""
    project = log.project
    subject = _("[Keti] Change request · %(step)s: %(title)s") % {
        "step": step_label(ChangeRequest, log.transition), "title": project.title}
    body = CHANGE_BODIES[log.transition] % {"title": project.title, "kind": change.get_kind_display()}
    return subject, _with_reason(str(body), log.reason)


def writer_for(log, audience, change=None):
    """The message of ``log`` for one audience (``change``: the change request of a change's step)."""
    if change is not None:
        return partial(change_message, log, change)
    if log.transition == "confirm" and audience == PI:
        return partial(confirmation_message, log)
    if log.transition == "submit_midterm":
        return partial(midterm_message, log)
    return partial(transition_message, log)


def notify_transition(log_id):
    """Tell everyone concerned about one logged step; returns how many were told."""
    log = (
        TransitionLog.objects.select_related("project__pi", "project__institution__admin_group", "content_type")
        .filter(pk=log_id)
        .first()
    )
    if log is None:
        return 0
    recipients = recipients_for(log)
    change = None
    if recipients and log.content_type.model == "changerequest":
        change = ChangeRequest.objects.get(pk=log.object_id)
    for person, audience, url_name in recipients:
        notify(person, writer_for(log, audience, change), link=link_of(url_name, log.project))
    return len(recipients)
