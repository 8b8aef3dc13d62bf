"""The change-request pages: the PI's forms keep what was typed, the queues endorse and approve, strangers are kept out."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import roles
from projects import access
from projects.models import ChangeRequest, TransitionLog
from projects.services import request_change
from tests.factories import MemberFactory, UserFactory, aware
from tests.projects.test_changes import running as running_from_2024
from tests.projects.test_changes import with_three_members

pytestmark = pytest.mark.usefixtures("english")


def running(pi, **fields):
    """A project under way; the pages run on the real clock, so it ends far ahead."""
    return running_from_2024(pi, **{"end_date": dt.date(2099, 1, 9), **fields})


@pytest.fixture
def project(applicant):
    return with_three_members(running(applicant))


def url(project):
    return reverse("project-changes", args=[project.pk])


# ---- access -----------------------------------------------------------------------------------


def test_who_sees_the_changes_page(client, project, applicant, unit_admin, secretary, other_unit):
    member = UserFactory(institution=applicant.institution)
    MemberFactory(project=project, user=member)
    access.sync_object_permissions(project)
    for person, status in ((applicant, 200), (unit_admin, 200), (secretary, 200), (member, 404), (UserFactory(), 404),
                           (UserFactory(institution=other_unit, role=roles.UNIT_ADMIN), 404)):
        client.force_login(person)
        assert client.get(url(project)).status_code == status, person
    client.logout()
    assert client.get(url(project)).status_code == 302


def test_only_the_pi_posts(client, project, unit_admin):
    client.force_login(unit_admin)
    response = client.post(url(project), {"kind": "extension", "extension-explanation": "x", "extension-extension_months": 6})
    assert response.status_code == 403
    assert not ChangeRequest.objects.exists()


def test_queues_are_role_pages(client, applicant, unit_admin, secretary):
    client.force_login(applicant)
    assert client.get(reverse("unit-change-queue")).status_code == 403
    assert client.get(reverse("change-queue")).status_code == 403
    client.force_login(unit_admin)
    assert client.get(reverse("change-queue")).status_code == 403
    assert client.get(reverse("unit-change-queue")).status_code == 200
    client.force_login(secretary)
    assert client.get(reverse("change-queue")).status_code == 200


# ---- the PI's forms -----------------------------------------------------------------------------


def test_refused_extension_keeps_the_input(client, project, applicant):
    client.force_login(applicant)
    response = client.post(url(project), {"kind": "extension", "extension-explanation": "调研延后，需要延期。",
                                          "extension-extension_months": 13})
    assert response.status_code == 200
    html = response.content.decode()
    assert "An extension is at most 12 months." in html
    assert 'value="13"' in html and "调研延后，需要延期。" in html
    assert 'id="kind-extension" open' in html
    assert not ChangeRequest.objects.exists()


def test_extension_request_is_sent(client, project, applicant):
    client.force_login(applicant)
    response = client.post(url(project), {"kind": "extension", "extension-explanation": "调研延后。",
                                          "extension-extension_months": 6})
    assert response.status_code == 302
    change = ChangeRequest.objects.get()
    assert (change.kind, change.extension_months, change.state) == ("extension", 6, "pending")
    page = client.get(url(project)).content.decode()
    assert "Waiting for the unit" in page and "6 months" in page


def test_member_change_form(client, project, applicant):
    client.force_login(applicant)
    leaving = list(project.members.order_by("pk").values_list("pk", flat=True))
    data = {"kind": "members", "members-explanation": "人员调整。", "members-remove": leaving[:2],
            "members-add-TOTAL_FORMS": 3, "members-add-INITIAL_FORMS": 0,
            "members-add-0-name": "周明辉", "members-add-0-title": "讲师", "members-add-0-unit": "上海开放大学",
            "members-add-0-task": "问卷调查"}
    response = client.post(url(project), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "2 of 3 members would change" in html and "周明辉" in html
    data["members-remove"] = leaving[2:]
    assert client.post(url(project), data).status_code == 302
    change = ChangeRequest.objects.get()
    assert change.member_changes["remove_names"] == ["孙志强"]
    assert change.member_changes["add"][0]["name"] == "周明辉"


def test_incomplete_new_member_is_refused(client, project, applicant):
    client.force_login(applicant)
    data = {"kind": "members", "members-explanation": "人员调整。", "members-add-TOTAL_FORMS": 3,
            "members-add-INITIAL_FORMS": 0, "members-add-0-name": "周明辉"}
    response = client.post(url(project), data)
    assert "Give the name, title, unit and task of every new member." in response.content.decode()
    assert not ChangeRequest.objects.exists()


def test_unknown_successor_explains_revocation(client, project, applicant):
    client.force_login(applicant)
    response = client.post(url(project), {"kind": "pi", "pi-explanation": "负责人调离。", "pi-new_pi": "nobody@example.org"})
    html = response.content.decode()
    assert "No active user has the username or e-mail" in html and "撤项" in html
    assert "I cannot continue" in html and 'value="nobody@example.org"' in html
    assert not ChangeRequest.objects.exists()


def test_successor_by_email_and_title_level(client, project, applicant):
    from accounts.models import TitleLevel

    junior = UserFactory(username="junior", email="junior@example.org", title_level=TitleLevel.JUNIOR)
    client.force_login(applicant)
    response = client.post(url(project), {"kind": "pi", "pi-explanation": "负责人调离。", "pi-new_pi": "junior@example.org"})
    assert "must hold a professional title" in response.content.decode()
    UserFactory(username="senior", email="Senior@Example.org")
    response = client.post(url(project), {"kind": "pi", "pi-explanation": "负责人调离。", "pi-new_pi": "senior@example.org"})
    assert response.status_code == 302
    assert ChangeRequest.objects.get().new_pi.username == "senior"
    assert junior.pk


def test_pi_withdraws(client, project, applicant):
    change = request_change(project, "output_form", by=applicant, explanation="调整。", new_output_form="专著")
    client.force_login(applicant)
    assert client.post(url(project), {"withdraw": change.pk}).status_code == 302
    change.refresh_from_db()
    assert change.state == "withdrawn"


def test_no_forms_for_a_finished_project(client, applicant):
    project = running(applicant, state="completed")
    client.force_login(applicant)
    assert "Request a change" not in client.get(url(project)).content.decode()


# ---- the queues -------------------------------------------------------------------------------


def test_unit_then_secretariat_applies_the_extension(client, project, applicant, unit_admin, secretary):
    change = request_change(project, "extension", by=applicant, explanation="调研延后。", extension_months=6)
    client.force_login(unit_admin)
    response = client.post(reverse("unit-change-queue"), {"change": change.pk, "step": "endorse", "reason": "同意。"})
    assert response.status_code == 302
    client.force_login(secretary)
    page = client.get(reverse("change-queue")).content.decode()
    assert project.title in page and "6 months" in page
    response = client.post(reverse("change-queue"), {"change": change.pk, "step": "approve", "reason": "准予。"})
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.end_date == dt.date(2099, 7, 9)
    assert list(TransitionLog.objects.filter(object_id=change.pk, content_type__model="changerequest")
                .values_list("transition", flat=True)) == ["request", "endorse", "approve"]
    client.force_login(applicant)
    page = client.get(url(project)).content.decode()
    assert "Approved" in page and "准予。" in page


def test_rejection_without_reason_keeps_the_row(client, project, applicant, unit_admin):
    change = request_change(project, "extension", by=applicant, explanation="调研延后。", extension_months=6)
    client.force_login(unit_admin)
    response = client.post(reverse("unit-change-queue"), {"change": change.pk, "step": "reject", "reason": " "})
    assert response.status_code == 200
    assert "Please give a reason for this step." in response.content.decode()
    change.refresh_from_db()
    assert change.state == "pending"


def test_unit_queue_holds_only_its_own(client, applicant, unit_admin, other_unit):
    mine = running(applicant)
    theirs = running(UserFactory(institution=other_unit))
    request_change(mine, "output_form", by=applicant, explanation="调整。", new_output_form="专著")
    other_change = request_change(theirs, "output_form", by=theirs.pi, explanation="调整。", new_output_form="专著")
    client.force_login(unit_admin)
    page = client.get(reverse("unit-change-queue")).content.decode()
    assert mine.title in page and theirs.title not in page
    assert client.post(reverse("unit-change-queue"), {"change": other_change.pk, "step": "endorse"}).status_code == 404


def test_unit_cannot_approve(client, project, applicant, unit_admin):
    change = request_change(project, "output_form", by=applicant, explanation="调整。", new_output_form="专著")
    client.force_login(unit_admin)
    assert client.post(reverse("unit-change-queue"), {"change": change.pk, "step": "approve"}).status_code == 404


def test_secretariat_override_allows_a_longer_extension(client, applicant, unit_admin, secretary):
    project = running(applicant)
    change = ChangeRequest.objects.create(project=project, kind="extension", requested_by=applicant, explanation="特殊情况。",
                                          extension_months=18, created_at=aware(2024, 6, 1, 9, 0), state="endorsed")
    client.force_login(secretary)
    response = client.post(reverse("change-queue"), {"change": change.pk, "step": "approve", "reason": "特批。"})
    assert "An extension is at most 12 months." in response.content.decode()
    response = client.post(reverse("change-queue"), {"change": change.pk, "step": "approve", "reason": "特批。",
                                                     "override_limits": "1"})
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.end_date == dt.date(2100, 7, 9)


# ---- query counts -----------------------------------------------------------------------------


def _count(client, address):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(address).status_code == 200
    return len(queries)


def _requests(n, unit):
    projects = []
    for _i in range(n):
        pi = UserFactory(institution=unit)
        project = running(pi)
        MemberFactory(project=project)
        request_change(project, "extension", by=pi, explanation="延期。", extension_months=6)
        request_change(project, "pi", by=pi, explanation="更换。", new_pi=UserFactory(institution=unit))
        projects.append(project)
    return projects


def test_queue_query_counts_do_not_grow(client, unit, unit_admin, secretary):
    _requests(3, unit)
    counts = {}
    for person, name in ((unit_admin, "unit-change-queue"), (secretary, "change-queue")):
        client.force_login(person)
        counts[name] = _count(client, reverse(name))
    _requests(27, unit)
    for person, name in ((unit_admin, "unit-change-queue"), (secretary, "change-queue")):
        client.force_login(person)
        assert _count(client, reverse(name)) == counts[name], name


def test_changes_page_query_count_does_not_grow(client, project, applicant):
    def add(n):
        for _i in range(n):
            change = request_change(project, "output_form", by=applicant, explanation="调整。", new_output_form="专著")
            from projects.services import perform

            perform(change, "withdraw", by=applicant)

    add(3)
    client.force_login(applicant)
    small = _count(client, url(project))
    add(27)
    assert _count(client, url(project)) == small


def test_the_pi_form_offers_revocation_explicitly(client, project, applicant, unit_admin, secretary):
    from projects.services import perform

    client.force_login(applicant)
    page = client.get(url(project)).content.decode()
    assert "I cannot continue and no one takes over: the project will be revoked (撤项)" in page
    response = client.post(url(project), {"kind": "pi", "pi-explanation": "负责人因病无法继续主持研究。"})
    assert "Name the new PI, or tick" in response.content.decode()
    UserFactory(username="senior")
    response = client.post(url(project), {"kind": "pi", "pi-explanation": "负责人因病无法继续主持研究。",
                                          "pi-new_pi": "senior", "pi-no_successor": "on"})
    assert "Untick" in response.content.decode()
    assert not ChangeRequest.objects.exists()
    response = client.post(url(project), {"kind": "pi", "pi-explanation": "负责人因病无法继续主持研究。",
                                          "pi-no_successor": "on"})
    assert response.status_code == 302
    change = ChangeRequest.objects.get()
    assert change.new_pi is None
    assert "the project will be revoked (撤项)" in client.get(url(project)).content.decode()
    perform(change, "endorse", by=unit_admin)
    perform(change, "approve", by=secretary)
    project.refresh_from_db()
    assert project.state == "revoked"
    assert TransitionLog.objects.filter(project=project, transition="revoke_project",
                                        reason="负责人因病无法继续主持研究。").exists()
