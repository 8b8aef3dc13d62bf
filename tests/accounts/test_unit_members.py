"""The unit's people (单位人员确认): its research administrator confirms or removes them, and sees no one else."""

import datetime as dt

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import roles, services
from accounts.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LONG_AGO = timezone.make_aware(dt.datetime(2023, 3, 1, 9, 0))


@pytest.fixture
def en_client(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def admin_client(en_client, unit_admin):
    en_client.force_login(unit_admin)
    return en_client


@pytest.fixture
def stranger(other_unit):
    """Someone of another unit, waiting for that unit's confirmation."""
    return UserFactory(username="stranger", institution=other_unit)


def member(unit, **kwargs):
    return UserFactory(institution=unit, **kwargs)


def state(user):
    user = User.objects.get(pk=user.pk)
    return user.institution_id, user.institution_confirmed_at


# --- who may open the page -----------------------------------------------------


@pytest.mark.parametrize(
    "name, args, method",
    [
        ("unit-members", [], "get"),
        ("unit-members-confirm", [], "post"),
        ("unit-member-confirm", [1], "post"),
        ("unit-member-remove", [1], "post"),
    ],
)
def test_anonymous_visitors_are_sent_to_log_in(client, name, args, method, db):
    url = reverse(name, args=args)

    response = getattr(client, method)(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_people_without_the_role_get_403(client, applicant, unit):
    someone = member(unit)
    client.force_login(applicant)

    assert client.get(reverse("unit-members")).status_code == 403
    assert client.post(reverse("unit-member-confirm", args=[someone.pk])).status_code == 403
    assert client.post(reverse("unit-members-confirm"), {"selected": [someone.pk]}).status_code == 403
    assert client.post(reverse("unit-member-remove", args=[someone.pk])).status_code == 403
    assert state(someone) == (unit.pk, None)


def test_the_role_without_the_units_admin_group_opens_nothing(client, unit, other_unit):
    # Made administrator at one unit, later moved to another by the secretariat:
    # the role alone does not make them the new unit's administrator.
    moved = UserFactory(institution=other_unit, role=roles.UNIT_ADMIN)
    moved.institution = unit
    moved.save()
    someone = member(unit)
    client.force_login(moved)

    assert client.get(reverse("unit-members")).status_code == 403
    assert client.post(reverse("unit-member-confirm", args=[someone.pk])).status_code == 403
    assert state(someone) == (unit.pk, None)


# --- the list ------------------------------------------------------------------


def test_the_list_shows_only_the_units_active_people_unconfirmed_first(admin_client, unit, stranger):
    confirmed = member(unit, real_name="王建国", institution_confirmed_at=LONG_AGO)
    waiting = member(unit, real_name="李丽华")
    member(unit, real_name="未激活", is_active=False)

    response = admin_client.get(reverse("unit-members"))

    assert response.status_code == 200
    people = list(response.context["people"])
    assert stranger not in people
    assert "未激活" not in [p.real_name for p in people]
    assert people.index(waiting) < people.index(confirmed)
    assert [p.institution_confirmed_at is None for p in people] == sorted(
        (p.institution_confirmed_at is None for p in people), reverse=True
    )
    html = response.content.decode()
    assert stranger.real_name not in html
    assert f'formaction="{reverse("unit-member-confirm", args=[waiting.pk])}"' in html
    assert f'formaction="{reverse("unit-member-confirm", args=[confirmed.pk])}"' not in html
    assert f'formaction="{reverse("unit-member-remove", args=[confirmed.pk])}"' in html
    assert f'<label class="visually-hidden" for="select-{waiting.pk}">' in html


def test_the_administrators_of_the_unit_have_no_remove_button(admin_client, unit_admin):
    html = admin_client.get(reverse("unit-members")).content.decode()

    assert unit_admin.real_name in html
    assert f'formaction="{reverse("unit-member-remove", args=[unit_admin.pk])}"' not in html


def test_the_list_costs_the_same_number_of_queries_for_one_and_three_people(admin_client, unit):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(reverse("unit-members")).status_code == 200
        return len(captured)

    member(unit)
    one = queries()
    member(unit, institution_confirmed_at=LONG_AGO)
    member(unit)
    three = queries()

    assert one == three


# --- confirming ----------------------------------------------------------------


def test_the_administrator_confirms_one_person(admin_client, unit):
    first, second = member(unit), member(unit)

    response = admin_client.post(reverse("unit-member-confirm", args=[first.pk]), {"selected": [second.pk]})

    assert response["Location"] == reverse("unit-members")
    assert state(first)[1] is not None
    assert state(second)[1] is None  # the per-row button confirms its row only
    assert "1 person confirmed" in admin_client.get(reverse("unit-members")).content.decode()


def test_the_administrator_confirms_several_at_once(admin_client, unit):
    people = [member(unit) for _ in range(3)]
    left_out = member(unit)

    admin_client.post(reverse("unit-members-confirm"), {"selected": [p.pk for p in people]})

    assert all(state(p)[1] is not None for p in people)
    assert state(left_out)[1] is None
    assert "3 people confirmed" in admin_client.get(reverse("unit-members")).content.decode()


def test_confirming_again_keeps_the_first_date(admin_client, unit):
    earlier = member(unit, institution_confirmed_at=LONG_AGO)

    admin_client.post(reverse("unit-member-confirm", args=[earlier.pk]))

    assert state(earlier)[1] == LONG_AGO


def test_confirm_selected_without_a_selection_says_so(admin_client):
    response = admin_client.post(reverse("unit-members-confirm"), follow=True)

    assert "Select at least one person" in response.content.decode()


def test_the_service_sets_the_date_it_is_given(unit_admin, unit):
    person = member(unit)
    now = timezone.make_aware(dt.datetime(2023, 9, 1, 10, 30))

    assert services.confirm_membership(unit_admin, [person], now=now) == 1
    assert state(person)[1] == now


def test_an_administrator_cannot_confirm_a_person_of_another_unit(admin_client, stranger):
    response = admin_client.post(reverse("unit-member-confirm", args=[stranger.pk]))

    assert response.status_code == 404
    assert state(stranger) == (stranger.institution_id, None)


def test_confirm_selected_naming_a_stranger_changes_nobody(admin_client, unit, stranger):
    own = member(unit)

    response = admin_client.post(reverse("unit-members-confirm"), {"selected": [own.pk, stranger.pk]})

    assert response.status_code == 404
    assert state(own)[1] is None
    assert state(stranger)[1] is None


@pytest.mark.parametrize("selected", [["99999"], ["abc"]])
def test_confirm_selected_with_unknown_or_malformed_ids_is_404(admin_client, selected):
    assert admin_client.post(reverse("unit-members-confirm"), {"selected": selected}).status_code == 404


def test_confirming_is_post_only(admin_client, unit):
    person = member(unit)

    assert admin_client.get(reverse("unit-member-confirm", args=[person.pk])).status_code == 405
    assert state(person)[1] is None


# --- removing ------------------------------------------------------------------


def test_removing_clears_unit_and_confirmation_and_tells_the_person_after_the_commit(
    admin_client, unit, django_capture_on_commit_callbacks
):
    person = member(unit, institution_confirmed_at=LONG_AGO)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client.post(reverse("unit-member-remove", args=[person.pk]))
    assert response["Location"] == reverse("unit-members")
    assert state(person) == (None, None)
    assert mail.outbox == []  # not before the commit

    for callback in callbacks:
        callback()
    [message] = mail.outbox
    assert message.to == [person.email]
    assert unit.name in message.subject
    assert person not in admin_client.get(reverse("unit-members")).context["people"]


def test_an_administrator_cannot_remove_a_person_of_another_unit(
    admin_client, stranger, django_capture_on_commit_callbacks
):
    stranger.institution_confirmed_at = LONG_AGO
    stranger.save()

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("unit-member-remove", args=[stranger.pk]))

    assert response.status_code == 404
    assert state(stranger) == (stranger.institution_id, LONG_AGO)
    assert mail.outbox == []


def test_administrators_of_the_unit_are_not_removed_here(admin_client, unit_admin, unit):
    fellow = UserFactory(institution=unit, role=roles.UNIT_ADMIN)

    for person in (unit_admin, fellow):
        assert admin_client.post(reverse("unit-member-remove", args=[person.pk])).status_code == 404
        assert state(person)[0] == unit.pk


def test_the_removal_mail_is_not_sent_if_the_person_chose_the_unit_again(
    unit_admin, unit, django_capture_on_commit_callbacks
):
    person = member(unit)
    with django_capture_on_commit_callbacks() as scheduled:  # the mail waits in the queue ...
        services.remove_membership(unit_admin, person)
    assert scheduled
    # ... while the person chooses the unit again; then the queued work runs.
    User.objects.filter(pk=person.pk).update(institution=unit)
    for callback in scheduled:
        callback()

    assert services.mail_membership_removed(person.pk, unit.pk) is False
    assert mail.outbox == []
