"""Pages of the expert pool: who may open them, what they show and do, and the admin of the review app."""

from io import BytesIO

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from accounts import roles
from reviews import pool
from reviews.models import (
    Assignment,
    AssignmentRun,
    AssignmentStatus,
    AvoidRequest,
    Conflict,
    DeclarationSignature,
    ExpertDeclaration,
    ExpertProfile,
    Reminder,
    Review,
    ReviewRound,
)
from tests.factories import UserFactory
from tests.reviews.factories import AssignmentFactory, ExpertProfileFactory, ReviewFactory, SignatureFactory

User = get_user_model()
pytestmark = pytest.mark.django_db


@pytest.fixture
def expert(unit):
    return ExpertProfileFactory(user__username="expert", user__institution=unit, disciplines=["成人教育学"],
                                keywords=["学分银行"], load_limit=12)


@pytest.fixture
def committee_member(unit):
    return UserFactory(username="committee", institution=unit, role=roles.COMMITTEE)


def secretariat_pages(profile):
    return [
        ("get", reverse("expert-pool")),
        ("get", reverse("expert-import")),
        ("get", reverse("expert-export")),
        ("get", reverse("expert-invite")),
        ("get", reverse("expert-edit", args=[profile.pk])),
        ("post", reverse("expert-set-active", args=[profile.pk])),
    ]


def upload(*rows, headers=pool.HEADERS, name="experts.xlsx"):
    workbook = Workbook()
    workbook.active.append(list(headers))
    for row in rows:
        workbook.active.append(list(row))
    buffer = BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    buffer.name = name
    return buffer


# ---- access --------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["applicant", "expert", "committee_member", "unit_admin"])
def test_secretariat_pages_are_forbidden_to_everyone_else(client, request, who, expert):
    person = request.getfixturevalue(who)
    client.force_login(person.user if isinstance(person, ExpertProfile) else person)
    for method, url in secretariat_pages(expert):
        assert getattr(client, method)(url).status_code == 403, url
    expert.refresh_from_db()
    assert expert.active


def test_secretariat_pages_send_strangers_to_the_login(client, expert):
    for method, url in secretariat_pages(expert):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and reverse("login") in response["Location"], url


def test_secretariat_pages_open_for_the_secretariat(client, secretary, expert):
    client.force_login(secretary)
    for method, url in secretariat_pages(expert):
        expected = 302 if method == "post" else 200
        assert getattr(client, method)(url).status_code == expected, url


def test_an_unknown_expert_is_404(client, secretary):
    client.force_login(secretary)
    assert client.get(reverse("expert-edit", args=[999])).status_code == 404
    assert client.post(reverse("expert-set-active", args=[999])).status_code == 404


# ---- the list ------------------------------------------------------------------------------------


def names(response):
    return [profile.user.real_name for profile in response.context["experts"]]


def test_the_list_filters_by_name_unit_discipline_keyword_and_state(client, secretary, unit, other_unit):
    ExpertProfileFactory(user__real_name="王建国", institution=unit, disciplines=["成人教育学"], keywords=["学分银行"])
    ExpertProfileFactory(user__real_name="李丽华", institution=None, unit_name="某市社区学院",
                         disciplines=["老年教育"], keywords=["数字素养"], active=False)
    ExpertProfileFactory(user__real_name="张志强", institution=other_unit, disciplines=["职业教育"], keywords=["产教融合"])
    client.force_login(secretary)
    url = reverse("expert-pool")
    assert sorted(names(client.get(url))) == sorted(["王建国", "李丽华", "张志强"])
    assert names(client.get(url, {"q": "建国"})) == ["王建国"]
    assert names(client.get(url, {"unit": "社区学院"})) == ["李丽华"]
    assert names(client.get(url, {"unit": "开放大学"})) == ["张志强"]
    assert names(client.get(url, {"discipline": "老年"})) == ["李丽华"]
    assert names(client.get(url, {"keyword": "产教"})) == ["张志强"]
    assert names(client.get(url, {"active": "no"})) == ["李丽华"]
    assert sorted(names(client.get(url, {"active": "yes"}))) == sorted(["王建国", "张志强"])


def test_the_list_counts_current_assignments_only(client, secretary):
    assignment = AssignmentFactory()
    expert = assignment.expert
    AssignmentFactory(expert=expert, round=assignment.round, status=AssignmentStatus.ACCEPTED)
    AssignmentFactory(expert=expert, round=assignment.round, status=AssignmentStatus.DECLINED)
    AssignmentFactory(expert=expert, round__state="closed")
    client.force_login(secretary)
    response = client.get(reverse("expert-pool"))
    row = next(p for p in response.context["experts"] if p.pk == expert.pk)
    assert row.current_assignments == 2


def test_the_list_is_paginated_by_50(client, secretary):
    for _n in range(51):
        ExpertProfileFactory()
    client.force_login(secretary)
    first = client.get(reverse("expert-pool"))
    assert len(first.context["experts"]) == 50
    assert len(client.get(reverse("expert-pool"), {"page": 2}).context["experts"]) == 1


@pytest.mark.parametrize("count", [3, 30])
def test_the_list_takes_the_same_queries_for_3_and_30_experts(client, secretary, count, django_assert_num_queries):
    for _n in range(count):
        AssignmentFactory()  # an expert with a current assignment
    client.force_login(secretary)
    with django_assert_num_queries(7):
        response = client.get(reverse("expert-pool"))
    assert len(response.context["experts"]) == count


def test_the_export_follows_the_filters(client, secretary, unit):
    ExpertProfileFactory(user__real_name="王建国", institution=unit)
    ExpertProfileFactory(user__real_name="李丽华", active=False)
    client.force_login(secretary)
    response = client.get(reverse("expert-export"), {"active": "yes"})
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(BytesIO(response.content)).active
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["王建国"]


# ---- import, invite, edit ----------------------------------------------------------------------------


def good_row(email="wang@example.org"):
    return ["王建国", "", email, "华东师范大学", "教授", "成人教育学", "学分银行", "", 10, "在库"]


def test_the_import_page_shows_row_errors_and_keeps_nothing(english, client, secretary, unit):
    client.force_login(secretary)
    bad = good_row("not-an-address")
    response = client.post(reverse("expert-import"), {"sheet": upload(good_row(), bad)})
    assert response.status_code == 200
    assert "Row 3, “电子邮箱”: “not-an-address” is not an e-mail address." in response.content.decode()
    assert not ExpertProfile.objects.exists() and not User.objects.filter(email="wang@example.org").exists()


def test_the_import_page_imports_a_good_sheet(english, client, secretary, unit, mailoutbox,
                                              django_capture_on_commit_callbacks):
    client.force_login(secretary)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("expert-import"), {"sheet": upload(good_row())}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("expert-pool")
    assert "1 created, 0 updated, 0 unchanged." in response.content.decode()
    assert ExpertProfile.objects.get().user.email == "wang@example.org"
    assert len(mailoutbox) == 1 and "http://testserver/accounts/password/reset/" in mailoutbox[0].body


def test_the_import_page_refuses_other_files(english, client, secretary):
    client.force_login(secretary)
    csv = BytesIO(b"name,email\n")
    csv.name = "experts.csv"
    response = client.post(reverse("expert-import"), {"sheet": csv})
    assert "Choose an Excel workbook ending in .xlsx." in response.content.decode()
    fake = BytesIO(b"name,email\n")
    fake.name = "experts.xlsx"
    response = client.post(reverse("expert-import"), {"sheet": fake})
    assert "The file is not an Excel workbook (.xlsx)." in response.content.decode()


def test_the_invite_page_invites(english, client, secretary, unit, mailoutbox, django_capture_on_commit_callbacks):
    client.force_login(secretary)
    data = {"email": "zhao@example.org", "real_name": "赵明辉", "title": "研究员", "unit": "华东师范大学",
            "disciplines": "职业教育, 成人教育学", "keywords": "产教融合；技能培训", "profile_text": "著作一部", "load_limit": 9}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("expert-invite"), data)
    assert response.status_code == 302
    profile = ExpertProfile.objects.get(user__email="zhao@example.org")
    assert profile.disciplines == ["职业教育", "成人教育学"] and profile.keywords == ["产教融合", "技能培训"]
    assert (profile.institution, profile.load_limit) == (unit, 9)
    assert len(mailoutbox) == 1


def test_the_invite_page_shows_form_errors(english, client, secretary):
    client.force_login(secretary)
    response = client.post(reverse("expert-invite"), {"email": "nobody", "real_name": "", "load_limit": 0})
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"email", "real_name", "load_limit"}
    assert not ExpertProfile.objects.exists()


def test_the_secretariat_edits_a_profile_and_deactivates_it(client, secretary, expert, other_unit):
    client.force_login(secretary)
    url = reverse("expert-edit", args=[expert.pk])
    assert 'value="成人教育学"' in client.get(url).content.decode()
    response = client.post(url, {"real_name": "王建国", "title": "研究员", "unit": other_unit.name,
                                 "disciplines": "成人教育学、社区教育", "keywords": "学分银行, 终身学习",
                                 "profile_text": "甲\n\n乙", "load_limit": 7})
    assert response.status_code == 302
    expert.refresh_from_db()
    expert.user.refresh_from_db()
    assert expert.user.real_name == "王建国" and expert.institution == other_unit
    assert expert.disciplines == ["成人教育学", "社区教育"] and expert.keywords == ["学分银行", "终身学习"]
    assert (expert.profile_text, expert.load_limit) == ("甲\n乙", 7)

    client.post(reverse("expert-set-active", args=[expert.pk]), {"active": "0"})
    expert.refresh_from_db()
    assert not expert.active
    client.post(reverse("expert-set-active", args=[expert.pk]), {"active": "1"})
    expert.refresh_from_db()
    assert expert.active


# ---- the expert's own profile ------------------------------------------------------------------------


def test_experts_edit_their_own_profile_but_not_the_limit(client, expert):
    client.force_login(expert.user)
    url = reverse("expert-profile-own")
    response = client.get(url)
    assert response.status_code == 200 and set(response.context["form"].fields) == set(pool.OWN_FIELDS)
    response = client.post(url, {"disciplines": "成人教育学、老年教育", "keywords": "数字素养", "profile_text": "论文一篇",
                                 "load_limit": 99, "active": ""})
    assert response.status_code == 302
    expert.refresh_from_db()
    assert expert.disciplines == ["成人教育学", "老年教育"] and expert.keywords == ["数字素养"]
    assert (expert.load_limit, expert.active) == (12, True)


@pytest.mark.parametrize("who", ["applicant", "secretary", "committee_member"])
def test_the_own_profile_page_is_for_experts_only(client, request, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get(reverse("expert-profile-own")).status_code == 403


def test_an_expert_whose_role_was_taken_away_has_no_profile_page(client, expert):
    roles.revoke_role(expert.user, roles.EXPERT)
    client.force_login(expert.user)
    assert client.get(reverse("expert-profile-own")).status_code == 403


# ---- the admin -----------------------------------------------------------------------------------


REVIEW_MODELS = [ExpertProfile, ExpertDeclaration, AvoidRequest, Conflict, ReviewRound, AssignmentRun, Assignment,
                 DeclarationSignature, Review, Reminder]


@pytest.fixture
def admin_with_data(admin_client):
    review = ReviewFactory()
    SignatureFactory(expert=review.assignment.expert, round=review.assignment.round)
    return admin_client, review


@pytest.mark.parametrize("model", REVIEW_MODELS, ids=lambda m: m.__name__)
def test_every_review_model_has_an_admin_list_that_loads(admin_with_data, model):
    admin_client, _review = admin_with_data
    url = reverse(f"admin:reviews_{model._meta.model_name}_changelist")
    assert admin_client.get(url).status_code == 200


def test_admin_pages_of_a_round_a_review_and_an_expert_load_without_state_or_token_fields(admin_with_data):
    admin_client, review = admin_with_data
    assignment = review.assignment
    round_page = admin_client.get(reverse("admin:reviews_reviewround_change", args=[assignment.round.pk]))
    assert round_page.status_code == 200 and 'name="state"' not in round_page.content.decode()
    review_page = admin_client.get(reverse("admin:reviews_review_change", args=[review.pk]))
    assert review_page.status_code == 200 and 'name="scores"' not in review_page.content.decode()
    assignment_page = admin_client.get(reverse("admin:reviews_assignment_change", args=[assignment.pk]))
    assert assignment.token not in assignment_page.content.decode()
    expert_page = admin_client.get(reverse("admin:reviews_expertprofile_change", args=[assignment.expert.pk]))
    assert expert_page.status_code == 200
    assert admin_client.get(reverse("admin:reviews_review_add")).status_code == 403
    assert admin_client.get(reverse("admin:reviews_expertprofile_add")).status_code == 403


def test_the_admin_does_not_let_a_posted_round_state_through(admin_with_data):
    admin_client, review = admin_with_data
    round_ = review.assignment.round
    url = reverse("admin:reviews_reviewround_change", args=[round_.pk])
    response = admin_client.post(url, {"name": "改名后的评审", "state": "closed"})
    assert response.status_code == 302
    round_.refresh_from_db()
    assert (round_.name, round_.state) == ("改名后的评审", "open")
    assert Assignment.objects.filter(pk=review.assignment.pk).exists()


def test_the_list_and_the_profile_link_the_timeliness_record(client, secretary, expert):
    client.force_login(secretary)
    link = reverse("expert-timeliness", args=[expert.pk])
    assert link in client.get(reverse("expert-pool")).content.decode()
    assert link in client.get(reverse("expert-edit", args=[expert.pk])).content.decode()
