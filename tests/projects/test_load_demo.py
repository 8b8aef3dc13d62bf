"""The demo loader: every state is shown, a second run adds nothing, logs chain, accounts log in."""

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from guardian.models import GroupObjectPermission, UserObjectPermission

from accounts.models import Institution, User
from projects.demo import DEMO_PASSWORD
from projects.models import (
    Call,
    CallClass,
    ChangeRequest,
    GuideTopic,
    Member,
    NumberSequence,
    Project,
    ProjectGroupObjectPermission,
    ProjectUserObjectPermission,
    TransitionLog,
)
from projects.workflow import ProjectState
from reviews.models import Assignment, AssignmentRun, Conflict, DeclarationSignature, ExpertProfile, Review, ReviewRound

pytestmark = [pytest.mark.django_db, pytest.mark.rolled_back]

COUNTED = [
    User,
    User.groups.through,
    Group,
    Institution,
    Call,
    CallClass,
    GuideTopic,
    Project,
    Member,
    TransitionLog,
    ChangeRequest,
    NumberSequence,
    ProjectUserObjectPermission,
    ProjectGroupObjectPermission,
    UserObjectPermission,
    GroupObjectPermission,
]
# The review app's demo data.
COUNTED += [ExpertProfile, ReviewRound, AssignmentRun, Assignment, Review, DeclarationSignature, Conflict]


def load_demo():
    out = StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def row_counts():
    return {model._meta.label: model.objects.count() for model in COUNTED}


def test_every_project_state_is_shown():
    output = load_demo()

    shown = set(Project.objects.values_list("state", flat=True))
    assert set(ProjectState.values) <= shown
    assert "2023" in output and "active" in output


def test_the_2023_call_holds_every_state_and_the_2021_call_is_archived():
    load_demo()

    call_2023 = Call.objects.get(year=2023)
    call_2021 = Call.objects.get(year=2021)
    assert set(call_2023.projects.values_list("state", flat=True)) == set(ProjectState.values)
    assert call_2023.state in ("reviewing", "decided")
    assert call_2021.state == "archived"
    assert set(call_2021.projects.values_list("state", flat=True)) == {"completed", "terminated"}


def test_a_second_run_adds_nothing():
    load_demo()
    first = row_counts()

    output = load_demo()

    assert row_counts() == first
    assert "nothing" in output
    assert first["projects.Project"] >= 40
    assert first["projects.ChangeRequest"] >= 2
    assert first["projects.ProjectUserObjectPermission"] > 0


def test_demo_accounts_log_in_with_the_demo_password():
    load_demo()

    for username in ["secretary", "committee1", "expert1", "unitadmin1", "unitadmin8", "applicant1", "applicant40", "admin"]:
        assert authenticate(username=username, password=DEMO_PASSWORD) is not None, username


def test_roles_are_granted():
    load_demo()

    secretary = User.objects.get(username="secretary")
    unit_admin = User.objects.get(username="unitadmin1")
    assert secretary.is_staff and secretary.has_perm("projects.manage_project")
    assert User.objects.get(username="admin").is_superuser
    assert unit_admin.groups.filter(pk=unit_admin.institution.admin_group_id).exists()
    assert User.objects.filter(groups__name="expert").count() == 12
    assert User.objects.filter(groups__name="committee").count() == 5


def test_each_project_log_chains_from_draft_to_its_state():
    load_demo()
    project_type = ContentType.objects.get_for_model(Project)

    for project in Project.objects.all():
        logs = list(
            TransitionLog.objects.filter(content_type=project_type, object_id=project.pk).order_by("at", "pk")
        )
        if not logs:
            assert project.state == "draft", project.title
            continue
        assert logs[0].from_state == "draft", project.title
        for previous, log in zip(logs, logs[1:]):
            assert log.from_state == previous.to_state, (project.title, log.transition)
            assert log.at > previous.at, (project.title, log.transition)
        assert logs[-1].to_state == project.state, project.title
        assert all(log.actor_id for log in logs)


def test_applicants_lead_at_most_one_project_per_call():
    load_demo()

    for call in Call.objects.all():
        pis = list(call.projects.values_list("pi_id", flat=True))
        assert len(pis) == len(set(pis))
