"""Public notice (立项公示): the notice board, objections, their decision, and confirmation (正式立项).

Projects the committee approved are in ``publicity`` from the release on; each is on
the call's public notice board for ``call.notice_days`` days (rule ``NOTICE_DAYS``)
counted from its ``publicity_started_at``. While the notice runs anyone may object
(公示异议); the secretariat upholds an objection, which drops the project, or
dismisses it. After the notice, ``confirm_projects`` gives every project without a
pending objection its number and period, and the approval letter (立项通知书) is
built after the commit (``letters.build_approval_letter``).
"""

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import NamedTuple

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from . import access
from . import letters  # importing it registers the letter's Celery task
from .models import Call, Objection, ObjectionState, Project
from .services import TransitionRefused, perform
from .uploads import files_removed_on_failure
from .workflow import ProjectState

# A client may send this many objections per hour (counted in the database, so that
# every process and server agrees). Not a rule of the association: a guard against floods.
OBJECTIONS_PER_HOUR = 3
RATE_WINDOW = timedelta(hours=1)
OBJECTION_MAX_CHARS = 2000
NAME_MAX_CHARS = Objection._meta.get_field("name").max_length
CONTACT_MAX_CHARS = Objection._meta.get_field("contact").max_length
PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]{5,23}[0-9]$")


class ObjectionRefused(TransitionRefused):
    """An objection the notice does not take; ``field_errors`` says which input is wrong.

    ``messages`` holds every message (for callers without a form); ``field_errors``
    maps a form field ("name", "contact", "text", "file", or "" for the whole form)
    to its messages.
    """

    def __init__(self, field_errors):
        self.field_errors = {field: [str(m) for m in messages] for field, messages in field_errors.items()}
        super().__init__([m for messages in self.field_errors.values() for m in messages])


class TooManyObjections(ObjectionRefused):
    """The client has sent ``OBJECTIONS_PER_HOUR`` objections in the last hour."""


# ---- the notice board ----------------------------------------------------------------------


@dataclass(frozen=True)
class NoticeEntry:
    """One line of the public notice: only what the public may read."""

    project_id: int
    title: str
    pi_name: str
    unit_name: str
    class_code: str
    class_name: str
    starts_at: datetime
    ends_at: datetime

    def is_running(self, now):
        return self.starts_at <= now < self.ends_at


@dataclass(frozen=True)
class NoticeBoard:
    """The call's notice (立项公示): its projects and the period, from the first start to the last end."""

    call: Call
    entries: tuple
    starts_at: datetime | None
    ends_at: datetime | None

    def is_running(self, now):
        return any(entry.is_running(now) for entry in self.entries)


def notice_period(project):
    """(start, end) of the project's public notice, or (None, None) before it started."""
    started = project.publicity_started_at
    if started is None:
        return None, None
    return started, started + timedelta(days=project.call.notice_days)


def notice_board(call):
    """The projects of ``call`` in public notice, by class and title, with the notice period."""
    projects = (
        Project.objects.with_people()
        .filter(call=call, state=ProjectState.PUBLICITY)
        .order_by("call_class__code", "publicity_started_at", "title", "pk")
    )
    entries = []
    for project in projects:
        project.call = call  # one call for all: no query per row
        starts, ends = notice_period(project)
        entries.append(
            NoticeEntry(
                project_id=project.pk,
                title=project.title,
                pi_name=project.pi.display_name,
                unit_name=_unit_name(project),
                class_code=project.call_class.code,
                class_name=project.call_class.name,
                starts_at=starts,
                ends_at=ends,
            )
        )
    return NoticeBoard(
        call=call,
        entries=tuple(entries),
        starts_at=min((e.starts_at for e in entries), default=None),
        ends_at=max((e.ends_at for e in entries), default=None),
    )


def _unit_name(project):
    unit = project.institution or project.pi.institution
    return unit.name if unit else ""


def _local(moment):
    return date_format(timezone.localtime(moment), "Y-m-d H:i")


# ---- objections (公示异议) -----------------------------------------------------------------


def client_hash(client_id):
    """A keyed hash of the client's address: enough to count, useless to find the person."""
    return hmac.new(settings.SECRET_KEY.encode(), str(client_id or "").encode(), hashlib.sha256).hexdigest()


def objection_closed_reason(project, now):
    """Why ``project`` takes no objection at ``now``, or None while its notice runs."""
    starts, ends = notice_period(project)
    if project.state != ProjectState.PUBLICITY or starts is None:
        return _("The project “%(title)s” is not in public notice; objections are no longer taken.") % {
            "title": project.title
        }
    if now < starts:
        return _("The public notice of this project starts at %(time)s.") % {"time": _local(starts)}
    if now >= ends:
        return _("The public notice of this project ended at %(time)s; objections are no longer taken.") % {
            "time": _local(ends)
        }
    return None


def recent_objections(hashed, now):
    """How many objections the client sent in the hour before ``now``."""
    return Objection.objects.filter(client_hash=hashed, submitted_at__gt=now - RATE_WINDOW).count()


def rate_limit_message():
    return _(
        "You have sent %(count)d objections within an hour, the most we accept. "
        "Please try again later, or write to the secretariat."
    ) % {"count": OBJECTIONS_PER_HOUR}


def objection_input_errors(*, name, contact, text):
    """{field: [message]} of the typed fields (empty when all is well)."""
    errors = {}
    name, contact, text = (name or "").strip(), (contact or "").strip(), (text or "").strip()
    if not name:
        errors["name"] = [_("Please give your name.")]
    elif len(name) > NAME_MAX_CHARS:
        errors["name"] = [_("The name has at most %(max)d characters.") % {"max": NAME_MAX_CHARS}]
    if not contact:
        errors["contact"] = [_("Please give a phone number or an e-mail address, so that the secretariat can reach you.")]
    elif len(contact) > CONTACT_MAX_CHARS or not _is_contact(contact):
        errors["contact"] = [_("Enter a valid phone number (digits, at least 7) or e-mail address.")]
    if not text:
        errors["text"] = [_("Please write your objection.")]
    elif len(text) > OBJECTION_MAX_CHARS:
        errors["text"] = [
            _("The objection has %(count)d characters; at most %(max)d are accepted.")
            % {"count": len(text), "max": OBJECTION_MAX_CHARS}
        ]
    return errors


def _is_contact(value):
    if "@" in value:
        try:
            validate_email(value)
        except ValidationError:
            return False
        return True
    return bool(PHONE.match(value)) and sum(c.isdigit() for c in value) >= 7


def _refuse_if_closed_or_flooded(project, hashed, now):
    closed = objection_closed_reason(project, now)
    if closed:
        raise ObjectionRefused({"": [closed]})
    if recent_objections(hashed, now) >= OBJECTIONS_PER_HOUR:
        raise TooManyObjections({"": [rate_limit_message()]})


def _inspected_file(upload):
    """(info, data) of an optional upload, checked by content; raises ObjectionRefused."""
    from .uploads import UploadRejected, inspect_upload

    if not upload:
        return None, None
    upload.seek(0)
    data = upload.read()
    try:
        info = inspect_upload(upload.name, data, max_bytes=settings.UPLOAD_MAX_BYTES)
    except UploadRejected as rejected:
        raise ObjectionRefused({"file": [rejected.message]}) from rejected
    return info, data


def submit_objection(project, *, name, contact, text, upload=None, client_id, now=None):
    """Record a public objection (公示异议) while the notice runs; raise ``ObjectionRefused``.

    ``client_id`` is the sender's address; only its keyed hash is stored, to limit
    each client to ``OBJECTIONS_PER_HOUR`` objections an hour (``TooManyObjections``).
    """
    now = now or timezone.now()
    hashed = client_hash(client_id)
    _refuse_if_closed_or_flooded(project, hashed, now)  # before reading any file
    errors = objection_input_errors(name=name, contact=contact, text=text)
    if errors:
        raise ObjectionRefused(errors)
    info, data = _inspected_file(upload)
    with files_removed_on_failure() as stored, transaction.atomic():
        # The call's row serialises the objections of one notice, so that the client's count
        # is exact; the project's row (which a confirmation or a drop also locks) keeps the
        # state and the period as read here until the objection is stored.
        Call.objects.select_for_update().filter(pk=project.call_id).first()
        locked = Project.objects.select_for_update().select_related("call").get(pk=project.pk)
        _refuse_if_closed_or_flooded(locked, hashed, now)
        objection = Objection(
            project=locked,
            name=name.strip(),
            contact=contact.strip(),
            text=text.strip(),
            submitted_at=now,
            client_hash=hashed,
        )
        if data is not None:
            objection.file_name = upload.name[:200]
            objection.file.save(f"objection{info.extension}", ContentFile(data), save=False)
            stored.add(objection.file)
        objection.save()
    return objection


def decide_objection(objection, *, by, uphold, reason, now=None):
    """Uphold (异议成立: the project is dropped) or dismiss (异议不成立) an objection, once, with a reason."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not access.is_secretariat(objection, by):
        raise TransitionRefused([_("Only the secretariat decides on objections.")])
    if not reason:
        raise TransitionRefused([_("Please give a reason for the decision.")])
    with transaction.atomic():
        locked = Objection.objects.select_for_update().select_related("project").get(pk=objection.pk)
        if locked.state != ObjectionState.PENDING:
            raise TransitionRefused([
                _("This objection was already decided (%(decision)s) on %(time)s.")
                % {"decision": locked.get_state_display(), "time": _local(locked.decided_at)}
            ])
        project = locked.project
        if uphold and project.state != ProjectState.NOT_APPROVED:
            # An earlier upheld objection may already have dropped the project: then only record.
            perform(project, "drop", by=by, reason=reason, now=now)
        locked.state = ObjectionState.UPHELD if uphold else ObjectionState.DISMISSED
        locked.decided_by = by
        locked.decided_at = now
        locked.decision_reason = reason
        locked.save(update_fields=["state", "decided_by", "decided_at", "decision_reason"])
    objection.refresh_from_db()
    return locked


# ---- confirmation (正式立项) ------------------------------------------------------------------


class Refusal(NamedTuple):
    project: Project
    reason: str


def confirmation_outlook(call, now=None):
    """[(project, reason or "")] of the call's projects in notice: what a confirmation would do now."""
    now = now or timezone.now()
    projects = _in_notice(call)
    pending = _pending_objection_counts(projects)
    return [(project, _blocker(project, pending.get(project.pk, 0), now) or "") for project in projects]


def confirm_projects(call, *, by, now=None):
    """Confirm (正式立项) the call's projects whose notice is over and that have no pending objection.

    Returns ``(confirmed, refused)``: the confirmed projects, with their numbers and
    periods, and a ``Refusal(project, reason)`` for every other project in notice.
    Each project is confirmed in its own transaction, so one refusal stops no other;
    its approval letter is built after the commit.
    """
    now = now or timezone.now()
    confirmed, refused = [], []
    for project in _in_notice(call):
        try:
            with transaction.atomic():
                locked = Project.objects.select_for_update().get(pk=project.pk)
                pending = locked.objections.filter(state=ObjectionState.PENDING).count()
                if pending:
                    raise TransitionRefused([_pending_message(pending)])
                record = perform(locked, "confirm", by=by, now=now)
                transaction.on_commit(partial(letters.build_approval_letter.delay, record.pk))
        except TransitionRefused as refusal:
            refused.append(Refusal(project, " ".join(refusal.messages)))
        else:
            confirmed.append(record)
    return confirmed, refused


def _in_notice(call):
    return list(
        Project.objects.with_people()
        .filter(call=call, state=ProjectState.PUBLICITY)
        .order_by("call_class__code", "title", "pk")
    )


def _pending_objection_counts(projects):
    from django.db.models import Count

    rows = (
        Objection.objects.filter(project__in=projects, state=ObjectionState.PENDING)
        .values("project_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {row["project_id"]: row["n"] for row in rows}


def _pending_message(count):
    from django.utils.translation import ngettext

    return ngettext(
        "An objection is waiting for a decision.",
        "%(count)d objections are waiting for a decision.",
        count,
    ) % {"count": count}


def _blocker(project, pending, now):
    if pending:
        return _pending_message(pending)
    _starts, ends = notice_period(project)
    if ends is None:
        return _("The public notice has not started.")
    if now < ends:
        return _("The public notice runs until %(time)s.") % {"time": _local(ends)}
    return None
