"""The secretariat's conflict list and decisions, the applicant's requests page: access, content, queries."""

import pytest
from django.urls import reverse

from accounts import roles
from reviews.models import AvoidRequest, AvoidRequestState, Conflict, ConflictReason, ConflictStatus
from tests.factories import InstitutionFactory, MemberFactory, ProjectFactory, UserFactory
from tests.reviews.factories import ExpertProfileFactory

pytestmark = pytest.mark.django_db

LIST = reverse("conflict-list")


def make_expert(name, unit):
    user = UserFactory(username=f"expert-{name}", real_name=name, institution=InstitutionFactory(name=unit),
                       role=roles.EXPERT)
    return ExpertProfileFactory(user=user)


def make_conflicts(n, secretary):
    """``n`` conflicts of distinct proposals and experts, a third of each status."""
    rows = []
    for i in range(n):
        project = ProjectFactory(state="in_review", receipt_number=f"SB2023{i:05d}")
        expert = make_expert(f"专家{i}", f"第{i}社区学院")
        status = [ConflictStatus.POTENTIAL, ConflictStatus.CERTAIN, ConflictStatus.DISMISSED][i % 3]
        rows.append(Conflict.objects.create(
            project=project, expert=expert, reason=ConflictReason.SAME_UNIT, detail=f"similar:第{i}社院|第{i}社区学院",
            status=status, decided_by=secretary if status == ConflictStatus.DISMISSED else None,
            decided_at=project.created_at if status == ConflictStatus.DISMISSED else None,
            decision_reason="不是同一单位" if status == ConflictStatus.DISMISSED else ""))
    return rows


# ---- access ------------------------------------------------------------------------------------


def test_list_is_for_the_secretariat(client, applicant, secretary):
    assert client.get(LIST).status_code == 302  # to the login page
    expert = make_expert("钱二", "北京老年大学")
    for user in (applicant, expert.user):
        client.force_login(user)
        assert client.get(LIST).status_code == 403
        assert client.post(reverse("conflict-check")).status_code == 403
    client.force_login(secretary)
    assert client.get(LIST).status_code == 200


def test_decide_is_for_the_secretariat(client, applicant, secretary):
    row = make_conflicts(1, secretary)[0]
    client.force_login(applicant)
    assert client.post(reverse("conflict-decide", args=[row.pk]), {"decision": "confirm", "reason": "x"}).status_code == 403
    row.refresh_from_db()
    assert row.status == ConflictStatus.POTENTIAL
    client.force_login(secretary)
    assert client.post(reverse("conflict-decide", args=[row.pk + 999]), {"decision": "confirm", "reason": "x"}).status_code == 404


# ---- the list ----------------------------------------------------------------------------------


def test_list_shows_potential_first_with_forms_and_decisions(client, secretary, english):
    make_conflicts(3, secretary)
    client.force_login(secretary)
    page = client.get(LIST).content.decode()
    assert page.index("SB202300000") < page.index("SB202300001")  # the possible one comes first
    assert "The team&#x27;s unit “第0社院” may be the expert&#x27;s unit “第0社区学院”." in page
    assert page.count('name="decision" value="confirm"') == 1
    assert "不是同一单位" in page and secretary.display_name in page


def test_filters(client, secretary):
    rows = make_conflicts(3, secretary)
    client.force_login(secretary)
    page = client.get(LIST, {"status": "certain"}).content.decode()
    assert "SB202300001" in page and "SB202300000" not in page
    page = client.get(LIST, {"call": rows[2].project.call_id}).content.decode()
    assert "SB202300002" in page and "SB202300001" not in page
    page = client.get(LIST, {"reason": "team"}).content.decode()
    assert "SB2023" not in page


def test_pages_of_fifty(client, secretary):
    project = ProjectFactory(state="in_review")
    experts = [make_expert(f"专家{i}", f"第{i}社区学院") for i in range(51)]
    Conflict.objects.bulk_create([Conflict(project=project, expert=e, reason=ConflictReason.SAME_UNIT) for e in experts])
    client.force_login(secretary)
    assert len(client.get(LIST).context["page"]) == 50
    assert len(client.get(LIST, {"page": 2}).context["page"]) == 1


@pytest.mark.parametrize("n", [3, 30])
def test_list_query_count_does_not_grow(client, secretary, django_assert_num_queries, n):
    make_conflicts(n, secretary)
    client.force_login(secretary)
    client.get(LIST)  # warm the content types and the session
    # session, user, permissions (2), calls of the filter, count, rows
    with django_assert_num_queries(8):
        response = client.get(LIST)
    assert len(response.context["page"]) == n


# ---- decide and check ------------------------------------------------------------------------


def test_decide_with_a_reason_once(client, secretary, english):
    row = make_conflicts(1, secretary)[0]
    client.force_login(secretary)
    url = reverse("conflict-decide", args=[row.pk])
    response = client.post(url, {"decision": "dismiss", "reason": "", "query": "status=potential"}, follow=True)
    assert response.redirect_chain[-1][0] == f"{LIST}?status=potential"
    assert "Please give the reason of the decision." in response.content.decode()
    client.post(url, {"decision": "dismiss", "reason": "同名不同人"})
    row.refresh_from_db()
    assert (row.status, row.decided_by, row.decision_reason) == (ConflictStatus.DISMISSED, secretary, "同名不同人")
    response = client.post(url, {"decision": "confirm", "reason": "改"}, follow=True)
    assert "this one is decided" in response.content.decode()
    row.refresh_from_db()
    assert row.status == ConflictStatus.DISMISSED
    page = client.get(LIST).content.decode()
    assert 'name="decision"' not in page and "同名不同人" in page


@pytest.mark.rolled_back
def test_check_now_runs_the_rules_and_shows_the_counts(client, secretary, applicant, english):
    project = ProjectFactory(state="in_review", pi=applicant, institution=applicant.institution)
    MemberFactory(project=project, name="钱二", unit="")
    make_expert("钱二", "北京老年大学")
    make_expert("周五", applicant.institution.name)
    client.force_login(secretary)
    response = client.post(reverse("conflict-check"), follow=True)
    assert "Conflicts checked: 1 certain and 1 possible; 2 new, 0 no longer found." in response.content.decode()
    assert Conflict.objects.count() == 2


# ---- the applicant's page --------------------------------------------------------------------


@pytest.fixture
def application(applicant):
    return ProjectFactory(pi=applicant, institution=applicant.institution, state="submitted")


def test_avoid_page_is_the_pis_alone(client, application, applicant, secretary):
    url = reverse("project-avoid", args=[application.pk])
    assert client.get(url).status_code == 302
    member_user = UserFactory(username="member")
    MemberFactory(project=application, user=member_user)
    for user in (UserFactory(username="stranger"), member_user, secretary, make_expert("钱二", "北京老年大学").user):
        client.force_login(user)
        assert client.get(url).status_code == 404
        assert client.post(url, {"name": "钱二", "reason": "x"}).status_code == 404
    assert not AvoidRequest.objects.exists()
    client.force_login(applicant)
    page = client.get(url).content.decode()
    assert reverse("project-detail", args=[application.pk]) in page


def test_pi_names_withdraws_and_sees_states_not_matches(client, application, applicant, english):
    expert = make_expert("曹操", "江苏开放大学")
    url = reverse("project-avoid", args=[application.pk])
    client.force_login(applicant)
    response = client.post(url, {"name": "曹操", "unit": "江苏开放大学", "reason": "学术观点对立"}, follow=True)
    assert "The request is sent to the secretariat." in response.content.decode()
    request = AvoidRequest.objects.get()
    AvoidRequest.objects.filter(pk=request.pk).update(expert=expert)
    for name in ("刘备", "孙权"):
        client.post(url, {"name": name, "reason": "竞争关系"})
    AvoidRequest.objects.filter(name="刘备").update(state=AvoidRequestState.REJECTED)
    page = client.get(url).content.decode()
    assert "Waiting for the secretariat" in page and "Not accepted" in page
    assert expert.user.username not in page and "Name an expert" not in page  # three named: no more form
    assert page.count('name="withdraw"') == 2
    response = client.post(url, {"name": "张飞", "reason": "x"}, follow=True)
    assert "You may name at most 3 experts to exclude." in response.content.decode()

    response = client.post(url, {"withdraw": request.pk}, follow=True)
    assert "The request is withdrawn." in response.content.decode()
    rejected = AvoidRequest.objects.get(name="刘备")
    response = client.post(url, {"withdraw": rejected.pk}, follow=True)
    assert "The secretariat has already decided on this request." in response.content.decode()
    assert sorted(AvoidRequest.objects.values_list("name", flat=True)) == ["刘备", "孙权"]


def test_no_request_once_the_review_began(client, applicant, english):
    project = ProjectFactory(pi=applicant, institution=applicant.institution, state="in_review")
    client.force_login(applicant)
    response = client.post(reverse("project-avoid", args=[project.pk]), {"name": "曹操", "reason": "很长的理由"})
    page = response.content.decode()
    assert "Experts can be named for exclusion only while the application is under way." in page
    assert "Name an expert" not in page
    assert not AvoidRequest.objects.exists()


def test_refused_request_keeps_the_input(client, application, applicant, english):
    client.force_login(applicant)
    url = reverse("project-avoid", args=[application.pk])
    client.post(url, {"name": "曹操", "reason": "理由"})
    page = client.post(url, {"name": "曹操", "reason": "很长的理由"}).content.decode()
    assert "You have already named this expert." in page and "很长的理由" in page


def test_form_keeps_input_on_error(client, application, applicant, english):
    client.force_login(applicant)
    response = client.post(reverse("project-avoid", args=[application.pk]), {"name": "曹操", "unit": "江苏开放大学", "reason": ""})
    page = response.content.decode()
    assert 'value="江苏开放大学"' in page and "This field is required." in page


@pytest.mark.parametrize("n", [1, 3])
def test_avoid_page_query_count(client, application, applicant, django_assert_num_queries, n):
    AvoidRequest.objects.bulk_create([AvoidRequest(project=application, name=f"专家{i}", reason="x") for i in range(n)])
    client.force_login(applicant)
    # session, user, project with class, requests
    with django_assert_num_queries(5):
        client.get(reverse("project-avoid", args=[application.pk]))
