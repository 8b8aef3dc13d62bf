"""The admin of people and units: what the secretariat may do, and what it may not."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts import roles
from accounts.models import Institution, TitleLevel
from tests.factories import InstitutionFactory, UserFactory

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture
def secretary_client(client, secretary):
    secretary.is_staff = True
    secretary.save()
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    client.force_login(secretary)
    return client


@pytest.fixture
def superuser():
    return User.objects.create_superuser("root", "root@example.org", "keti-demo-2023")


@pytest.fixture
def superuser_client(client, superuser):
    client.force_login(superuser)
    return client


def test_user_list_searches_by_real_name_user_name_and_email(secretary_client, applicant):
    url = reverse("admin:accounts_user_changelist")
    other = UserFactory(username="ouyang", real_name="欧阳明月", email="ouyang@ecnu.example")

    assert list(secretary_client.get(url, {"q": applicant.real_name}).context["cl"].result_list) == [applicant]
    assert list(secretary_client.get(url, {"q": "ouyang@ecnu"}).context["cl"].result_list) == [other]
    assert list(secretary_client.get(url, {"q": "applicant"}).context["cl"].result_list) == [applicant]


def test_user_list_filters_by_role_and_unit(secretary_client, secretary, unit_admin, unit):
    url = reverse("admin:accounts_user_changelist")
    group = Group.objects.get(name=roles.UNIT_ADMIN)

    by_role = secretary_client.get(url, {"groups__id__exact": group.pk}).context["cl"].result_list
    assert list(by_role) == [unit_admin]
    by_unit = secretary_client.get(url, {"institution__id__exact": unit.pk}).context["cl"].result_list
    assert list(by_unit) == [unit_admin]


def test_user_page_shows_the_profile_fields(secretary_client, applicant):
    html = secretary_client.get(reverse("admin:accounts_user_change", args=[applicant.pk])).content.decode()
    for name in ("real_name", "phone", "institution", "title", "title_level", "groups"):
        assert f'name="{name}"' in html, name


def test_secretariat_cannot_raise_anyones_rights(secretary_client, secretary):
    url = reverse("admin:accounts_user_change", args=[secretary.pk])
    html = secretary_client.get(url).content.decode()
    assert 'name="is_superuser"' not in html
    assert 'name="user_permissions"' not in html

    data = {
        "username": secretary.username,
        "real_name": secretary.real_name,
        "email": secretary.email,
        "institution": secretary.institution_id,
        "title": "研究员",
        "title_level": TitleLevel.SENIOR,
        "is_active": "on",
        "is_staff": "on",
        "is_superuser": "on",
        "groups": list(secretary.groups.values_list("pk", flat=True)),
        "date_joined_0": "2023-01-01",
        "date_joined_1": "08:00:00",
    }
    response = secretary_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    secretary.refresh_from_db()
    assert secretary.title == "研究员"
    assert not secretary.is_superuser


def test_secretariat_cannot_take_over_a_superuser(secretary_client, superuser):
    change = reverse("admin:accounts_user_change", args=[superuser.pk])
    password = reverse("admin:auth_user_password_change", args=[superuser.pk])

    assert secretary_client.post(change, {"username": "mine"}).status_code == 403
    assert secretary_client.get(password).status_code == 403
    assert secretary_client.post(password, {"password1": "x", "password2": "x"}).status_code == 403
    superuser.refresh_from_db()
    assert superuser.check_password("keti-demo-2023")


def test_superuser_adds_a_user_with_a_unit_and_title(superuser_client, unit):
    response = superuser_client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": "liuhaiyan",
            "usable_password": "true",
            "password1": "Kt-2023-secret!",
            "password2": "Kt-2023-secret!",
            "real_name": "刘海燕",
            "email": "liu@example.org",
            "phone": "021-62233333",
            "institution": unit.pk,
            "title": "副教授",
            "title_level": TitleLevel.ASSOCIATE_SENIOR,
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(username="liuhaiyan")
    assert (user.real_name, user.institution, user.title_level) == ("刘海燕", unit, TitleLevel.ASSOCIATE_SENIOR)


def test_institution_list_filters_and_search(secretary_client):
    url = reverse("admin:accounts_institution_changelist")
    # Names, a type and a province the factory's own sequence never produces.
    other = InstitutionFactory(name="上海市某区社区学校", type="other", province="上海")
    zjou = InstitutionFactory(name="浙江开放大学", type="open_university", province="浙江")
    senior = InstitutionFactory(name="杭州老年大学", type="senior", province="浙江")

    assert list(secretary_client.get(url, {"q": "浙江开放"}).context["cl"].result_list) == [zjou]
    assert list(secretary_client.get(url, {"type": "other"}).context["cl"].result_list) == [other]
    by_province = secretary_client.get(url, {"province": "浙江"}).context["cl"].result_list
    assert set(by_province) == {zjou, senior}


def test_secretariat_adds_an_institution_with_its_admin_group(secretary_client):
    response = secretary_client.post(
        reverse("admin:accounts_institution_add"),
        {"name": "天津开放大学", "type": "open_university", "province": "天津"},
    )
    assert response.status_code == 302
    institution = Institution.objects.get(name="天津开放大学")
    assert institution.admin_group is not None


def test_institution_autocomplete_serves_the_user_form(secretary_client):
    InstitutionFactory(name="宁波职工学院", province="浙江")
    response = secretary_client.get(
        reverse("admin:autocomplete"),
        {"term": "宁波", "app_label": "accounts", "model_name": "user", "field_name": "institution"},
    )
    assert response.status_code == 200
    assert [r["text"] for r in response.json()["results"]] == ["宁波职工学院"]
