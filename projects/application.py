"""The application (申报) as the applicant fills it in: steps, drafts, files, the check before submitting.

Views stay thin: they call these functions. A step's input that does not
validate is kept in ``Project.unsaved_input`` so that nothing typed is lost,
while the stored draft stays as it was; a valid save clears it.
"""

from django.core import signing
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import guards as g
from .models import Attachment, AttachmentPart, Project
from .services import refusals_by_rule

STEPS = [
    ("basic", gettext_lazy("Basic data")),
    ("pi", gettext_lazy("Principal investigator")),
    ("members", gettext_lazy("Members")),
    ("argument", gettext_lazy("Anonymous argument")),
    ("outputs", gettext_lazy("Expected outputs")),
    ("budget", gettext_lazy("Budget")),
    ("attachments", gettext_lazy("Attachments")),
    ("pledge", gettext_lazy("Pledge")),
    ("check", gettext_lazy("Check and submit")),
]
STEP_NAMES = [name for name, _label in STEPS]

# Where the applicant fixes what a submission guard refuses.
GUARD_STEP = {
    g.title_is_valid.name: "basic",
    g.keywords_are_valid.name: "basic",
    g.application_is_complete.name: "basic",
    g.pi_title_level.name: "pi",
    g.pi_has_no_unfinished_project.name: "pi",
    g.pi_not_recently_revoked.name: "pi",
    g.members_are_complete.name: "members",
    g.argument_within_limit.name: "argument",
    g.anonymous_part_is_anonymous.name: "argument",
    g.budget_within_funding.name: "budget",
    g.pledge_accepted.name: "pledge",
}

PLEDGE_TEXT = gettext_lazy(
    "I confirm that the information in this application is true and accurate, that the research "
    "does not infringe the intellectual property of others, that the anonymous part contains no "
    "information that identifies the team, and that I will carry out the project as approved and "
    "observe the association's rules on research projects and academic integrity."
)

DRAFT_TOKEN_SALT = "keti.application.draft"
DRAFT_TOKEN_MAX_AGE = 14 * 24 * 3600


def next_step(step):
    index = STEP_NAMES.index(step)
    return STEP_NAMES[min(index + 1, len(STEP_NAMES) - 1)]


def start_application(call, user):
    """The user's draft in ``call``, created on first use (one draft per PI per call is enough)."""
    existing = Project.objects.filter(call=call, pi=user, state="draft").order_by("pk").first()
    if existing:
        return existing
    first_class = call.classes.order_by("code").first()
    return Project.objects.create(call=call, call_class=first_class, pi=user, institution=user.institution, title="")


def submission_problems(project, user, now=None):
    """{step: [messages]} of everything that would refuse the submission now ('' for general ones)."""
    problems = {}
    for guard_name, message in refusals_by_rule(project, "submit", by=user, now=now):
        problems.setdefault(GUARD_STEP.get(guard_name, ""), []).append(message)
    return problems


# ---- unsaved input -------------------------------------------------------------------------


def keep_unsaved_input(project, step, data):
    """Keep what the applicant typed in a step that did not validate (files excluded)."""
    kept = {key: data.getlist(key) for key in data if key not in ("csrfmiddlewaretoken", "draft_token")}
    Project.objects.filter(pk=project.pk).update(unsaved_input={**project.unsaved_input, step: kept})
    project.unsaved_input = {**project.unsaved_input, step: kept}


def unsaved_input(project, step):
    """The kept input of ``step`` as a QueryDict, or None."""
    from django.http import QueryDict

    kept = (project.unsaved_input or {}).get(step)
    if not kept:
        return None
    data = QueryDict(mutable=True)
    for key, values in kept.items():
        data.setlist(key, values)
    return data


def forget_unsaved_input(project, step):
    if step in (project.unsaved_input or {}):
        remaining = {k: v for k, v in project.unsaved_input.items() if k != step}
        Project.objects.filter(pk=project.pk).update(unsaved_input=remaining)
        project.unsaved_input = remaining


# ---- the draft token: saving survives an expired session ------------------------------------


def draft_token(project, user):
    """A signed token in every step form: proof that this user had this draft open."""
    return signing.dumps({"p": project.pk, "u": user.pk}, salt=DRAFT_TOKEN_SALT)


def user_from_draft_token(token, project):
    """The user a valid token was issued to for ``project``, or None."""
    from django.contrib.auth import get_user_model

    try:
        payload = signing.loads(token or "", salt=DRAFT_TOKEN_SALT, max_age=DRAFT_TOKEN_MAX_AGE)
    except signing.BadSignature:
        return None
    if payload.get("p") != project.pk or payload.get("u") != project.pi_id:
        return None
    return get_user_model().objects.filter(pk=payload["u"], is_active=True).first()


# ---- attachments ----------------------------------------------------------------------------------


def attach_file(project, part, uploaded, *, max_bytes):
    """Check an upload by its content, clean anonymous-part files, store it; raise UploadRejected."""
    import hashlib

    from .uploads import clean, inspect_upload

    data = uploaded.read()
    info = inspect_upload(uploaded.name, data, max_bytes=max_bytes)
    removed = []
    if part == AttachmentPart.ANONYMOUS:
        result = clean(info.content_type, data)
        data, removed = result.data, list(result.removed)
    with transaction.atomic():
        attachment = Attachment(
            project=project,
            part=part,
            original_name=uploaded.name[:200],
            content_type=info.content_type,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            removed_metadata=removed,
        )
        attachment.file.save(info.extension.lstrip(".") or "bin", ContentFile(data), save=False)
        attachment.save()
    return attachment


def accept_pledge(project, accepted, now=None):
    project.pledge_accepted_at = (now or timezone.now()) if accepted else None
    project.save(update_fields=["pledge_accepted_at", "updated_at"])


def not_editable_reason(project, user):
    """Why ``user`` may not edit ``project`` now, or None."""
    if project.pi_id != user.pk:
        return _("Only the PI can edit the application.")
    if project.state != "draft":
        return _("The application has been submitted and can no longer be edited.")
    return None
