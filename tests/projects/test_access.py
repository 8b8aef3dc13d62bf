"""Object permissions follow the transitions; nobody reaches a project that is not theirs."""

import datetime as dt

import pytest
from django.urls import reverse

from accounts import roles
from projects import access
from projects.models import Project, ProjectGroupObjectPermission, ProjectUserObjectPermission
from projects.services import perform, request_change
from tests.factories import MemberFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


def perms(user, project):
    """The object permissions ``user`` holds on ``project``, asked fresh (guardian caches per user)."""
    fresh = type(user).objects.get(pk=user.pk)
    return {p for p in ("view_project", "change_project", "endorse_project") if fresh.has_perm(f"projects.{p}", project)}


@pytest.fixture
def member(unit):
    return UserFactory(username="member", institution=unit)


@pytest.fixture
def stranger(other_unit):
    return UserFactory(username="stranger", institution=other_unit)


@pytest.fixture
def draft(applicant, member):
    project = ProjectFactory(pi=applicant)
    MemberFactory(project=project, user=member, name=member.real_name)
    access.sync_object_permissions(project)
    return project


def test_rights_follow_the_application(draft, applicant, member, unit_admin, stranger, secretary):
    assert perms(applicant, draft) == {"view_project", "change_project"}
    assert perms(member, draft) == {"view_project"}
    assert perms(unit_admin, draft) == set()  # not before submission
    perform(draft, "submit", by=applicant)
    assert perms(applicant, draft) == {"view_project"}  # no editing once submitted
    assert perms(unit_admin, draft) == {"view_project", "endorse_project"}
    perform(draft, "endorse", by=unit_admin)
    assert perms(unit_admin, draft) == {"view_project"}
    assert perms(stranger, draft) == set()
    perform(draft, "return_for_revision", by=secretary, reason="请补充研究基础")
    assert perms(applicant, draft) == {"view_project", "change_project"}


def test_unit_rights_reach_an_administrator_appointed_later(draft, applicant, unit):
    perform(draft, "submit", by=applicant)
    newcomer = UserFactory(username="newadmin", institution=unit)
    assert perms(newcomer, draft) == set()
    roles.grant_role(newcomer, roles.UNIT_ADMIN)
    assert perms(newcomer, draft) == {"view_project", "endorse_project"}
    roles.revoke_role(newcomer, roles.UNIT_ADMIN)
    assert perms(newcomer, draft) == set()


def test_change_of_pi_moves_the_rights(applicant, unit, unit_admin, secretary):
    project = ProjectFactory(pi=applicant, state="active", receipt_number="SB202300001", number="CAEA2023A001",
                             start_date=dt.date(2023, 10, 1), end_date=dt.date(2025, 9, 30))
    access.sync_object_permissions(project)
    successor = UserFactory(username="successor", institution=unit)
    change = request_change(project, "pi", by=applicant, explanation="负责人退休", new_pi=successor)
    perform(change, "endorse", by=unit_admin)
    perform(change, "approve", by=secretary)
    assert perms(successor, project) == {"view_project"}
    assert perms(applicant, project) == set()
    assert not ProjectUserObjectPermission.objects.filter(user=applicant).exists()


def test_guardian_uses_the_direct_foreign_key_tables(draft, applicant):
    perform(draft, "submit", by=applicant)
    assert ProjectUserObjectPermission.objects.filter(content_object=draft, user=applicant).exists()
    assert ProjectGroupObjectPermission.objects.filter(content_object=draft).exists()


def test_visible_projects(draft, applicant, member, stranger, secretary, unit_admin):
    other = ProjectFactory(pi=stranger)
    access.sync_object_permissions(other)
    assert set(access.projects_visible_to(applicant)) == {draft}
    assert set(access.projects_visible_to(member)) == {draft}
    assert set(access.projects_visible_to(stranger)) == {other}
    assert set(access.projects_visible_to(secretary)) == {draft, other}
    assert set(access.projects_visible_to(unit_admin)) == set()


@pytest.mark.parametrize("who,status", [("applicant", 200), ("member", 200), ("secretary", 200),
                                        ("unit_admin", 404), ("stranger", 404), ("other_admin", 404)])
def test_project_page_by_url(client, draft, applicant, member, secretary, unit_admin, stranger, other_unit, who, status):
    people = {"applicant": applicant, "member": member, "secretary": secretary, "unit_admin": unit_admin,
              "stranger": stranger,
              "other_admin": UserFactory(username="otheradmin", institution=other_unit, role=roles.UNIT_ADMIN)}
    client.force_login(people[who])
    assert client.get(reverse("project-detail", args=[draft.pk])).status_code == status


def test_step_by_url_is_refused_to_strangers(client, draft, stranger):
    client.force_login(stranger)
    response = client.post(reverse("project-step", args=[draft.pk, "withdraw"]))
    assert response.status_code == 404
    assert Project.objects.get(pk=draft.pk).state == "draft"


def test_anonymous_is_sent_to_login(client, draft):
    response = client.get(reverse("project-detail", args=[draft.pk]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_step_through_the_page(client, draft, applicant):
    client.force_login(applicant)
    page = client.get(reverse("project-detail", args=[draft.pk]))
    assert reverse("project-step", args=[draft.pk, "submit"]) in page.content.decode()
    client.post(reverse("project-step", args=[draft.pk, "submit"]))
    draft.refresh_from_db()
    assert draft.state == "submitted"


def test_dashboard_query_count_is_flat(client, applicant, secretary, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count_for(user):
        client.force_login(user)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("dashboard")).status_code == 200
        return len(ctx)

    ProjectFactory(pi=applicant, state="endorsed")
    one_pi, one_sec = count_for(applicant), count_for(secretary)
    for _ in range(3):
        ProjectFactory(pi=applicant, state="endorsed", call_class__call__year=2024)
    assert count_for(applicant) == one_pi
    assert count_for(secretary) == one_sec
