"""Roles are groups; this module names them and says what each may do globally.

Object-level rights (a PI's own project, a unit's projects) are guardian
permissions granted by the project workflow; see ``projects.access``.
"""

from django.contrib.auth.models import Group, Permission

SECRETARIAT = "secretariat"  # 秘书处
COMMITTEE = "committee"  # 学术委员会
EXPERT = "expert"  # 评审专家
UNIT_ADMIN = "unit_admin"  # 单位科研管理员

ROLE_NAMES = (SECRETARIAT, COMMITTEE, EXPERT, UNIT_ADMIN)

# Global (model-level) permissions of each role, as "app_label.codename".
ROLE_PERMISSIONS = {
    SECRETARIAT: [
        "accounts.view_user",
        "accounts.change_user",
        "accounts.add_institution",
        "accounts.change_institution",
        "accounts.view_institution",
        "projects.add_call",
        "projects.change_call",
        "projects.view_call",
        "projects.add_callclass",
        "projects.change_callclass",
        "projects.view_callclass",
        "projects.add_guidetopic",
        "projects.change_guidetopic",
        "projects.view_guidetopic",
        "projects.view_project",
        "projects.manage_project",
        "projects.view_member",
        "projects.view_changerequest",
        "projects.view_transitionlog",
        "archive.view_record",
        "archive.change_record",
        "archive.add_record",
    ],
    COMMITTEE: [
        "projects.view_call",
        "projects.decide_project",
    ],
    EXPERT: [],
    UNIT_ADMIN: [],
}


def has_role(user, role):
    """True when ``user`` is active and in the role's group (cached per request user)."""
    if not user.is_authenticated or not user.is_active:
        return False
    cache = getattr(user, "_role_cache", None)
    if cache is None:
        cache = set(user.groups.values_list("name", flat=True))
        user._role_cache = cache
    return role in cache


def ensure_role_groups():
    """Create the role groups with their permissions (idempotent; run after migrate)."""
    for role in ROLE_NAMES:
        group, _created = Group.objects.get_or_create(name=role)
        wanted = []
        for dotted in ROLE_PERMISSIONS[role]:
            app_label, codename = dotted.split(".")
            wanted.append(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(wanted)


def grant_role(user, role):
    group, _created = Group.objects.get_or_create(name=role)
    user.groups.add(group)
    user.__dict__.pop("_role_cache", None)
    if role == UNIT_ADMIN and user.institution_id:
        user.groups.add(user.institution.admin_group)


def revoke_role(user, role):
    user.groups.remove(*Group.objects.filter(name=role))
    if role == UNIT_ADMIN and user.institution_id:
        user.groups.remove(user.institution.admin_group)
    user.__dict__.pop("_role_cache", None)
