"""Keep the conflicts (回避) in step when a profile or a team changes.

The receivers only note which proposals and experts changed; one callback (a
:class:`Batch`) for the changes made together, run after the commit, calls ``conflicts.refresh_conflicts`` for them
(synchronously: a check of a few proposals takes milliseconds). Nothing is done
while ``refresh_conflicts`` itself writes, and the receivers run no query, so that
saving a profile or a member costs nothing more inside the transaction.

Connected in ``ReviewsConfig.ready``.
"""

from django.conf import settings
from django.db import connection, transaction
from django.db.models.signals import post_delete, post_init, post_save

from . import conflicts

PROJECT_FIELDS = ("pi_id", "institution_id")
USER_FIELDS = {"real_name", "institution", "institution_id", "first_name", "last_name", "is_active"}


class Batch:
    """The proposals, experts and people changed in one transaction, checked after its commit.

    A batch belongs to the savepoint it was registered in: if that is rolled back,
    Django drops the callback and the batch with it, so nothing leaks to a later check.
    """

    def __init__(self):
        self.projects, self.experts, self.users = set(), set(), set()

    def __call__(self):
        check(self.projects, self.experts, self.users)


def _open_batch():
    """The last callback of the transaction, when it is a batch.

    Adding to it is safe whatever savepoint it was registered in: savepoints nest, so
    a rollback that drops the batch also undoes the change noted, and a change rolled
    back on its own only leaves a needless id in the batch.
    """
    if not connection.in_atomic_block or not connection.run_on_commit:
        return None
    callback = connection.run_on_commit[-1][1]
    return callback if isinstance(callback, Batch) else None


def note(*, projects=(), experts=(), users=()):
    """Remember what changed; one check runs after the commit (at once outside a transaction)."""
    if conflicts.refreshing():
        return
    batch = _open_batch()
    fresh = batch is None
    if fresh:
        batch = Batch()
    batch.projects.update(pk for pk in projects if pk)
    batch.experts.update(pk for pk in experts if pk)
    batch.users.update(pk for pk in users if pk)
    if fresh:
        transaction.on_commit(batch, robust=True)  # a failed check must not fail the save


def check(project_ids, expert_ids, user_ids):
    """Check the noted proposals against every active expert and the noted experts against
    every current proposal; a change on an approved project's team (an old team of the
    shared-project rule) checks every current proposal."""
    from projects.models import Project

    from .models import ExpertProfile

    project_ids, expert_ids = set(project_ids), set(expert_ids)
    if user_ids:  # a renamed PI: their current proposals (old teams wait for the next full check)
        expert_ids |= set(ExpertProfile.objects.filter(user_id__in=user_ids).values_list("pk", flat=True))
        project_ids |= set(Project.objects.filter(pi_id__in=user_ids, state__in=conflicts.CURRENT_STATES)
                           .values_list("pk", flat=True))
    if project_ids:
        states = dict(Project.objects.filter(pk__in=project_ids).values_list("pk", "state"))
        if any(state in conflicts.APPROVED_STATES for state in states.values()):
            conflicts.refresh_conflicts()
            return
        current = [pk for pk, state in states.items() if state in conflicts.CURRENT_STATES]
        if current:
            conflicts.refresh_conflicts(projects=current)
    if expert_ids:
        conflicts.refresh_conflicts(experts=expert_ids)


# ---- receivers ------------------------------------------------------------------------


def remember_project_people(sender, instance, **kwargs):
    """Note a project's PI and unit as loaded (from ``__dict__``: a deferred field stays deferred)."""
    instance._conflict_people = tuple(instance.__dict__.get(name) for name in PROJECT_FIELDS)


def project_saved(sender, instance, created, **kwargs):
    people = tuple(instance.__dict__.get(name) for name in PROJECT_FIELDS)
    before = getattr(instance, "_conflict_people", None)
    instance._conflict_people = people
    if created or people != before:
        note(projects=[instance.pk])


def team_changed(sender, instance, **kwargs):
    """A member (projects.Member) or an applicant's request (AvoidRequest) changed."""
    note(projects=[instance.project_id])


def expert_changed(sender, instance, **kwargs):
    """An expert's profile (ExpertProfile) or declaration (ExpertDeclaration) changed."""
    note(experts=[getattr(instance, "expert_id", None) or instance.pk])


def user_saved(sender, instance, created, update_fields=None, **kwargs):
    """A name or unit change of a person who may be an expert or a PI (not a login)."""
    if created or (update_fields is not None and not USER_FIELDS & set(update_fields)):
        return
    note(users=[instance.pk])


def connect():
    from projects.models import Member, Project

    from .models import AvoidRequest, ExpertDeclaration, ExpertProfile

    uid = "reviews.conflicts"
    post_init.connect(remember_project_people, sender=Project, dispatch_uid=f"{uid}.project-init")
    post_save.connect(project_saved, sender=Project, dispatch_uid=f"{uid}.project")
    for model in (Member, AvoidRequest):
        post_save.connect(team_changed, sender=model, dispatch_uid=f"{uid}.{model.__name__}.save")
        post_delete.connect(team_changed, sender=model, dispatch_uid=f"{uid}.{model.__name__}.delete")
    for model in (ExpertProfile, ExpertDeclaration):
        post_save.connect(expert_changed, sender=model, dispatch_uid=f"{uid}.{model.__name__}.save")
    # A deleted profile takes its conflicts along (cascade); a deleted declaration does not.
    post_delete.connect(expert_changed, sender=ExpertDeclaration, dispatch_uid=f"{uid}.declaration.delete")
    post_save.connect(user_saved, sender=settings.AUTH_USER_MODEL, dispatch_uid=f"{uid}.user")
