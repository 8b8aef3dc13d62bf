"""The profile (个人信息): a person keeps their own data; a new unit must confirm them again."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts import roles, services
from accounts.models import TitleLevel, User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def en_client(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def confirmed(applicant):
    applicant.institution_confirmed_at = timezone.now()
    applicant.save()
    return applicant


def profile_data(user, **changes):
    data = {
        "real_name": user.real_name,
        "phone": user.phone or "010-58581000",
        "title": user.title,
        "title_level": user.title_level,
        "institution": user.institution_id or "",
    }
    data.update(changes)
    return data


def test_anonymous_visitors_are_sent_to_log_in(client):
    url = reverse("profile")

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_the_page_says_whether_the_unit_has_confirmed(en_client, applicant):
    en_client.force_login(applicant)
    assert "Awaiting confirmation" in en_client.get(reverse("profile")).content.decode()

    applicant.institution_confirmed_at = timezone.now()
    applicant.save()
    html = en_client.get(reverse("profile")).content.decode()
    assert "Awaiting confirmation" not in html
    assert f"{applicant.institution} confirmed on" in html


def test_editing_name_phone_and_title_keeps_the_unit_confirmation(en_client, confirmed):
    en_client.force_login(confirmed)
    before = confirmed.institution_confirmed_at

    response = en_client.post(
        reverse("profile"),
        profile_data(confirmed, real_name="王海燕", phone="13800138000", title="研究员", title_level=TitleLevel.SENIOR),
    )

    assert response["Location"] == reverse("profile")
    confirmed.refresh_from_db()
    assert (confirmed.real_name, confirmed.phone, confirmed.title) == ("王海燕", "13800138000", "研究员")
    assert confirmed.title_level == TitleLevel.SENIOR
    assert confirmed.institution_confirmed_at == before
    assert "Your profile is saved" in en_client.get(reverse("profile")).content.decode()


def test_changing_the_unit_clears_the_confirmation(en_client, confirmed, other_unit):
    en_client.force_login(confirmed)

    en_client.post(reverse("profile"), profile_data(confirmed, institution=other_unit.pk))

    confirmed.refresh_from_db()
    assert confirmed.institution == other_unit
    assert confirmed.institution_confirmed_at is None
    html = en_client.get(reverse("profile")).content.decode()
    assert "research administrator has to confirm you" in html
    assert "Awaiting confirmation" in html


def test_an_invalid_submission_saves_nothing_and_keeps_what_was_typed(en_client, confirmed, other_unit):
    en_client.force_login(confirmed)
    name = confirmed.real_name

    response = en_client.post(
        reverse("profile"), profile_data(confirmed, real_name="", phone="13912345678", institution=other_unit.pk)
    )

    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["real_name"]
    html = response.content.decode()
    assert 'id="id_real_name_error"' in html
    assert 'value="13912345678"' in html
    # The status still describes what is saved, not what was typed.
    assert f"{confirmed.institution} confirmed on" in html
    confirmed.refresh_from_db()
    assert confirmed.real_name == name
    assert confirmed.institution_confirmed_at is not None


def test_a_unit_administrator_cannot_move_to_another_unit(en_client, unit_admin, unit, other_unit):
    en_client.force_login(unit_admin)
    response = en_client.get(reverse("profile"))
    assert response.context["form"].fields["institution"].disabled

    en_client.post(reverse("profile"), profile_data(unit_admin, institution=other_unit.pk, real_name="赵振宇"))

    unit_admin.refresh_from_db()
    assert unit_admin.institution == unit
    assert unit_admin.real_name == "赵振宇"
    with pytest.raises(ValidationError):
        services.update_profile(
            unit_admin, real_name="赵振宇", phone="1", title="", title_level=0, institution=other_unit
        )


def test_a_person_without_unit_chooses_one(en_client, unit):
    person = UserFactory(institution=None)
    en_client.force_login(person)
    assert "You have not chosen a unit" in en_client.get(reverse("profile")).content.decode()

    en_client.post(reverse("profile"), profile_data(person, institution=unit.pk))

    assert User.objects.get(pk=person.pk).institution == unit


def test_the_unit_is_required(en_client, applicant):
    en_client.force_login(applicant)

    response = en_client.post(reverse("profile"), profile_data(applicant, institution=""))

    assert list(response.context["form"].errors) == ["institution"]
    applicant.refresh_from_db()
    assert applicant.institution_id is not None


def test_a_role_holder_outside_the_units_admin_group_may_change_unit(en_client, unit, other_unit):
    # The lock follows the admin group of the unit, not the role alone.
    person = UserFactory(institution=None, role=roles.UNIT_ADMIN)
    person.institution = unit
    person.save()
    en_client.force_login(person)

    en_client.post(reverse("profile"), profile_data(person, institution=other_unit.pk))

    assert User.objects.get(pk=person.pk).institution == other_unit
