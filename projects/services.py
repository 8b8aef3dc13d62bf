"""The one entry point for every step of every machine: ``perform``.

Views, admin actions, commands, tasks and tests all call ``perform``. In one
transaction it locks the record, checks the source state and the permission,
asks every guard for its message (so the user sees all that is wrong at once),
runs the django-fsm transition, saves, writes one log row, keeps guardian's
object permissions in step and schedules side effects after the commit. A
refused step raises ``TransitionRefused`` and changes nothing.
"""

import logging
from functools import partial
from importlib import import_module

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from . import access
from .guards import TransitionContext
from .models import ChangeRequest, Member, Project, TransitionLog

logger = logging.getLogger(__name__)


class TransitionRefused(Exception):
    """A step that may not happen; ``messages`` says why, in the user's language."""

    def __init__(self, messages):
        self.messages = [str(m) for m in messages]
        super().__init__(" ".join(self.messages))


def transitions_of(model):
    """{name: {source: Transition}} of a model's state machine."""
    field = model._meta.get_field("state")
    table = {}
    for transition in field.get_all_transitions(model):
        table.setdefault(transition.name, {})[transition.source] = transition
    return table


def available_transitions(obj, user):
    """Names of the steps ``user`` may try on ``obj`` now (guards not yet asked)."""
    return [
        name
        for name, by_source in transitions_of(type(obj)).items()
        if obj.state in by_source and by_source[obj.state].has_perm(obj, user)
    ]


def refusals(obj, name, *, by, reason="", now=None, **params):
    """The messages that would refuse the step, or [] when it may happen."""
    return [message for _source, message in refusals_by_rule(obj, name, by=by, reason=reason, now=now, **params)]


def refusals_by_rule(obj, name, *, by, reason="", now=None, **params):
    """[(guard name, message)] of the step's refusals; the name is "" for state and permission."""
    by_source = transitions_of(type(obj)).get(name)
    if by_source is None:
        return [("", _("“%(step)s” is not a step of this record.") % {"step": name})]
    transition = by_source.get(obj.state)
    if transition is None:
        return [("", _("“%(step)s” is not possible while the record is “%(state)s”.")
                 % {"step": step_label(type(obj), name), "state": obj.get_state_display()})]
    if by is None or not transition.has_perm(obj, by):
        return [("", _("You are not allowed to do “%(step)s” here.") % {"step": step_label(type(obj), name)})]
    ctx = TransitionContext(actor=by, reason=reason, now=now or timezone.now(), params=params)
    return [
        (getattr(condition, "name", ""), message)
        for condition in transition.conditions
        if (message := condition.message(obj, ctx))
    ]


def perform(obj, name, *, by, reason="", now=None, **params):
    """Run step ``name`` on ``obj`` as ``by``; return the saved record or raise ``TransitionRefused``."""
    model = type(obj)
    now = now or timezone.now()
    reason = (reason or "").strip()
    try:
        with transaction.atomic():
            record = model.objects.select_for_update().get(pk=obj.pk)
            if isinstance(record, ChangeRequest):
                # The change rules read the project (extension_count, end_date, state): lock its row
                # before they run, so that two approvals cannot both pass on the same old values.
                record.project = Project.objects.select_for_update().get(pk=record.project_id)
            messages = refusals(record, name, by=by, reason=reason, now=now, **params)
            if messages:
                raise TransitionRefused(messages)
            source = record.state
            record._transition_context = TransitionContext(actor=by, reason=reason, now=now, params=params)
            try:
                getattr(record, name)()
                record.save()
            finally:
                del record._transition_context
            log = _write_log(record, name, source, by, reason, now)
            _after_transition(record, name, by=by, reason=reason, now=now)
            transaction.on_commit(partial(_schedule_side_effects, log.pk, log.project_id, name))
    except IntegrityError as error:
        if "one_application_per_pi_per_call" in str(error):
            raise TransitionRefused([_("You have already submitted an application to this call as PI.")]) from error
        raise
    obj.refresh_from_db()
    return record


def _write_log(record, name, source, by, reason, now):
    project = record if isinstance(record, Project) else getattr(record, "project", None)
    return TransitionLog.objects.create(
        content_type=ContentType.objects.get_for_model(type(record)),
        object_id=record.pk,
        project=project,
        transition=name,
        from_state=source,
        to_state=record.state,
        actor=by if getattr(by, "pk", None) else None,
        reason=reason,
        at=now,
    )


def _after_transition(record, name, *, by, reason, now):
    if isinstance(record, Project):
        access.sync_object_permissions(record)
    elif isinstance(record, ChangeRequest) and name == "approve":
        apply_change(record, by=by, now=now)


def _schedule_side_effects(log_id, project_id=None, transition=""):
    """After the commit: the step's documents and notices (a task), then the archive (a signal).

    The step is stored by now, so a failure here (a broker out of reach; an eager task that
    meets a database busy beyond its timeout, as in a deadline spike on SQLite) is logged, not
    turned into an error page for a step that happened: the documents are built again when
    first asked for, and the log names the notices that were missed.
    """
    from .signals import project_changed
    from .tasks import transition_happened

    try:
        transition_happened.delay(log_id)
    except Exception:
        logger.exception("The side effects of transition log %s (“%s”) failed.", log_id, transition)
    if project_id is not None:
        project_changed.send(sender=Project, project_id=project_id, transition=transition)


# ---- change requests ---------------------------------------------------------------


def request_change(project, kind, *, by, explanation, now=None, **fields):
    """Open a change request (变更申请) for the PI; checked by the same rules as its approval."""
    from .workflow import CHANGE_RULES

    now = now or timezone.now()
    if not access.is_pi(project, by):
        raise TransitionRefused([_("Only the PI can request a change of the project.")])
    if not (explanation or "").strip():
        raise TransitionRefused([_("Explain why the change is needed.")])
    change = ChangeRequest(project=project, kind=kind, requested_by=by, explanation=explanation, created_at=now, **fields)
    ctx = TransitionContext(actor=by, now=now)
    messages = [msg for rule in CHANGE_RULES if (msg := rule.message(change, ctx))]
    if messages:
        raise TransitionRefused(messages)
    with transaction.atomic():
        change.save()
        log = _write_log(change, "request", "", by, explanation, now)
        # Like every step: the people concerned (the unit) are told after the commit.
        transaction.on_commit(partial(_schedule_side_effects, log.pk, log.project_id, "request"))
    return change


def apply_change(change, *, by, now):
    """Write an approved change into the project (inside the approval's transaction)."""
    project = Project.objects.select_for_update().get(pk=change.project_id)
    kind = change.kind
    if kind == "extension":
        from dateutil.relativedelta import relativedelta

        project.end_date = project.end_date + relativedelta(months=change.extension_months)
        project.extension_count += 1
    elif kind == "members":
        plan = change.member_changes or {}
        project.members.filter(pk__in=plan.get("remove", [])).delete()
        start = (project.members.aggregate(last=Max("order"))["last"] or -1) + 1
        Member.objects.bulk_create(
            Member(project=project, order=start + i, **{k: person.get(k, "") for k in ("name", "title", "unit", "task")})
            for i, person in enumerate(plan.get("add", []))
        )
    elif kind == "pi" and not change.new_pi_id:
        # The PI cannot continue and no one takes over: the project is revoked (撤项), in this
        # transaction, with its own log row; the request's explanation is the reason.
        project.save()
        perform(project, "revoke_project", by=by, reason=change.explanation, now=now)
        return
    elif kind == "pi":
        project.pi_id = change.new_pi_id
    elif kind == "content":
        if change.new_title:
            project.title = change.new_title
        if change.new_content:
            project.content = change.new_content
    elif kind == "output_form":
        project.output_form = change.new_output_form
    elif kind == "termination":
        project.save()
        perform(project, "terminate", by=by, reason=change.explanation, now=now)
        return
    project.save()
    access.sync_object_permissions(project)


# ---- labels ----------------------------------------------------------------------------


def step_label(model, name):
    """The user-facing name of a step (see ``STEP_LABELS`` in the model's app's ``workflow``)."""
    labels = import_module(f"{model._meta.app_label}.workflow").STEP_LABELS
    return str(labels.get(name, name))
