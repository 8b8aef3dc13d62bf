"""Who may do what with calls, projects and change requests: the one place that says so.

Predicates take ``(obj, user)`` so they serve as django-fsm transition
permissions as well as view checks. Role rights are group permissions (see
``accounts.roles``); rights on single projects are guardian object permissions,
derived from the project's state and people by ``sync_object_permissions``,
which every transition calls.
"""

from django.contrib.auth.models import Group
from guardian.shortcuts import assign_perm, get_objects_for_user, remove_perm

from accounts import roles

# ---- transition permissions -------------------------------------------------------


def is_pi(project, user):
    """The project's principal investigator (课题负责人)."""
    return user.is_authenticated and user.is_active and project.pi_id == user.pk


def is_unit_admin_of(project, user):
    """A research administrator (单位科研管理员) of the project's unit."""
    return (
        roles.has_role(user, roles.UNIT_ADMIN)
        and project.institution_id is not None
        and user.institution_id == project.institution_id
    )


def is_secretariat(obj, user):
    """The secretariat (秘书处), who runs calls, checks, reviews and supervision."""
    return user.is_authenticated and user.is_active and user.has_perm("projects.manage_project")


def is_change_requester(change, user):
    return user.is_authenticated and change.requested_by_id == user.pk


def is_unit_admin_of_change(change, user):
    return is_unit_admin_of(change.project, user)


def may_reject_change(change, user):
    """The unit while the request waits for it, the secretariat at any time."""
    if change.state == "pending" and is_unit_admin_of_change(change, user):
        return True
    return is_secretariat(change, user)


def is_pi_of_report(report, user):
    return is_pi(report.project, user)


def is_unit_admin_of_report(report, user):
    return is_unit_admin_of(report.project, user)


def may_return_report(report, user):
    """The unit while the materials wait for it, the secretariat at the formal check."""
    if report.state == "submitted":
        return is_unit_admin_of_report(report, user)
    return is_secretariat(report, user)


# ---- object permissions, derived from state ------------------------------------------

ALL_STATES = None  # marker: in every state
SUBMITTED_ONWARD = "submitted_onward"  # once the project has been submitted

# What each party holds on a project, by state. The transitions keep guardian in
# step with this table (Hypha's per-phase permissions, as data).
OBJECT_RIGHTS = {
    "pi": {"view_project": ALL_STATES, "change_project": {"draft"}},
    "member": {"view_project": ALL_STATES},
    "unit": {"view_project": SUBMITTED_ONWARD, "endorse_project": {"submitted"}},
}


def _holds(rule_states, project):
    if rule_states is ALL_STATES:
        return True
    if rule_states == SUBMITTED_ONWARD:
        return project.receipt_number is not None
    return project.state in rule_states


def desired_object_permissions(project):
    """The set of (holder, codename) the project's people and unit should hold now."""
    desired = set()
    for codename, states in OBJECT_RIGHTS["pi"].items():
        if _holds(states, project):
            desired.add((("user", project.pi_id), codename))
    member_user_ids = project.members.exclude(user=None).values_list("user_id", flat=True)
    for user_id in member_user_ids:
        for codename, states in OBJECT_RIGHTS["member"].items():
            if _holds(states, project):
                desired.add((("user", user_id), codename))
    group_id = project.institution.admin_group_id if project.institution_id else None
    if group_id:
        for codename, states in OBJECT_RIGHTS["unit"].items():
            if _holds(states, project):
                desired.add((("group", group_id), codename))
    return desired


def sync_object_permissions(project):
    """Grant what ``OBJECT_RIGHTS`` says is due and revoke what is no longer due."""
    from django.contrib.auth import get_user_model

    from .models import ProjectGroupObjectPermission, ProjectUserObjectPermission

    current = {
        (("user", user_id), codename)
        for user_id, codename in ProjectUserObjectPermission.objects.filter(
            content_object=project
        ).values_list("user_id", "permission__codename")
    } | {
        (("group", group_id), codename)
        for group_id, codename in ProjectGroupObjectPermission.objects.filter(
            content_object=project
        ).values_list("group_id", "permission__codename")
    }
    desired = desired_object_permissions(project)
    if current == desired:
        return
    User = get_user_model()

    def holder(key):
        kind, pk = key
        return User(pk=pk) if kind == "user" else Group(pk=pk)

    for key, codename in desired - current:
        assign_perm(f"projects.{codename}", holder(key), project)
    for key, codename in current - desired:
        remove_perm(f"projects.{codename}", holder(key), project)


# ---- querysets for lists -------------------------------------------------------------


def projects_visible_to(user):
    """The projects ``user`` may open: all for the secretariat, else their object permissions."""
    from .models import Project

    if not user.is_authenticated:
        return Project.objects.none()
    if user.has_perm("projects.view_project"):
        return Project.objects.all()
    return get_objects_for_user(
        user, "projects.view_project", klass=Project, accept_global_perms=False, with_superuser=False
    )


def can_view_project(user, project):
    return user.has_perm("projects.view_project") or user.has_perm("projects.view_project", project)
