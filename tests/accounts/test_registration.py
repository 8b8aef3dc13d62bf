"""Registration with its confirmation link, and the passwords: Django's machinery, our pages."""

import datetime as dt
import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.http import urlsafe_base64_encode

from accounts import services
from accounts.models import TitleLevel, User
from accounts.tokens import email_confirmation_token
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "Xuexi-Shehui-2023"


@pytest.fixture
def en_client(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def form_data(unit):
    return {
        "username": "zhangxd",
        "real_name": "张晓东",
        "email": "zhangxd@ecnu.edu.cn",
        "phone": "021-62232000",
        "institution": unit.pk,
        "title": "副教授",
        "title_level": TitleLevel.ASSOCIATE_SENIOR,
        "password1": PASSWORD,
        "password2": PASSWORD,
    }


def only_link(message):
    links = re.findall(r"https?://\S+", message.body)
    assert len(links) == 1, message.body
    return links[0]


def path_of(link):
    return re.sub(r"^https?://[^/]+", "", link)


def without_csrf_tokens(response):
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


def register(client, data, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(reverse("register"), data)


def test_registration_creates_an_inactive_account_and_the_link_activates_and_logs_in(
    en_client, form_data, unit, django_capture_on_commit_callbacks
):
    assert en_client.get(reverse("register")).status_code == 200

    response = register(en_client, form_data, django_capture_on_commit_callbacks)

    assert response.status_code == 302
    assert response["Location"] == reverse("register-done")
    user = User.objects.get(username="zhangxd")
    assert not user.is_active
    assert (user.real_name, user.phone, user.institution, user.title) == ("张晓东", "021-62232000", unit, "副教授")
    assert user.title_level == TitleLevel.ASSOCIATE_SENIOR
    assert user.institution_confirmed_at is None
    assert user.check_password(PASSWORD)
    assert SESSION_KEY not in en_client.session
    assert not en_client.login(username="zhangxd", password=PASSWORD)  # not before confirming

    [message] = mail.outbox
    assert message.to == ["zhangxd@ecnu.edu.cn"]
    link = only_link(message)
    assert link.startswith("http://testserver/accounts/confirm/")

    response = en_client.get(path_of(link))

    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    user.refresh_from_db()
    assert user.is_active
    assert int(en_client.session[SESSION_KEY]) == user.pk
    assert "Your e-mail address is confirmed" in en_client.get(reverse("dashboard")).content.decode()


def test_the_confirmation_mail_leaves_only_after_the_commit(client, form_data, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(reverse("register"), form_data)

    assert User.objects.filter(username="zhangxd").exists()
    assert len(callbacks) == 1
    assert mail.outbox == []


def test_a_confirmation_link_works_once(client, form_data, django_capture_on_commit_callbacks):
    register(client, form_data, django_capture_on_commit_callbacks)
    link = path_of(only_link(mail.outbox[0]))
    client.get(link)
    client.post(reverse("logout"))

    response = client.get(link)

    assert response.status_code == 200
    assert response.templates[0].name == "accounts/confirm_invalid.html"
    assert SESSION_KEY not in client.session


def test_duplicate_email_in_another_case_and_duplicate_username_are_refused_next_to_their_fields(
    en_client, form_data, django_capture_on_commit_callbacks
):
    UserFactory(username="zhangxd", email="ZhangXD@ECNU.edu.cn")
    form_data.update(username="ZhangXD", email="zhangxd@ecnu.EDU.CN")

    response = register(en_client, form_data, django_capture_on_commit_callbacks)

    assert response.status_code == 200
    form = response.context["form"]
    assert "An account with this e-mail address already exists" in form.errors["email"][0]
    assert "already exists" in form.errors["username"][0]
    assert User.objects.count() == 1
    assert mail.outbox == []
    html = response.content.decode()
    # Each error is next to its field, announced through aria-describedby.
    for field in ("email", "username"):
        assert f'<ul class="errorlist" id="id_{field}_error">' in html
        [tag] = re.findall(rf'<input [^>]*id="id_{field}"[^>]*>', html)
        assert 'aria-invalid="true"' in tag
        assert re.search(rf'aria-describedby="[^"]*id_{field}_error', tag)
    # What was typed is kept (but not the passwords).
    assert 'value="zhangxd@ecnu.EDU.CN"' in html
    assert 'value="张晓东"' in html
    assert 'value="021-62232000"' in html
    assert PASSWORD not in html


def test_the_password_must_be_typed_the_same_twice(en_client, form_data, django_capture_on_commit_callbacks):
    form_data["password2"] = PASSWORD + "x"

    response = register(en_client, form_data, django_capture_on_commit_callbacks)

    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["password2"]
    assert "didn’t match" in response.context["form"].errors["password2"][0]
    assert not User.objects.filter(username="zhangxd").exists()
    assert mail.outbox == []


def test_djangos_password_validators_apply(en_client, form_data, django_capture_on_commit_callbacks):
    form_data.update(password1="12345678", password2="12345678")

    response = register(en_client, form_data, django_capture_on_commit_callbacks)

    errors = response.context["form"].errors["password2"]
    assert any("too common" in e for e in errors)
    assert any("entirely numeric" in e for e in errors)
    assert not User.objects.filter(username="zhangxd").exists()


def test_name_phone_email_and_unit_are_required(en_client, form_data, django_capture_on_commit_callbacks):
    for field in ("real_name", "phone", "email", "institution"):
        form_data[field] = ""

    response = register(en_client, form_data, django_capture_on_commit_callbacks)

    assert set(response.context["form"].errors) == {"real_name", "phone", "email", "institution"}
    assert not User.objects.filter(username="zhangxd").exists()


def test_the_service_refuses_a_taken_address_too(unit):
    UserFactory(email="li@example.org")

    with pytest.raises(ValidationError):
        services.register_user(password=PASSWORD, base_url="http://x/", username="li2", email="LI@example.org")


def test_a_tampered_or_foreign_link_changes_nothing_and_offers_a_new_link(
    en_client, form_data, django_capture_on_commit_callbacks
):
    register(en_client, form_data, django_capture_on_commit_callbacks)
    link = path_of(only_link(mail.outbox[0]))
    prefix, uidb64, token, _ = link.rsplit("/", 3)
    other = UserFactory(is_active=False)

    for bad in (
        f"{prefix}/{uidb64}/{token[:-1]}{'a' if token[-1] != 'a' else 'b'}/",  # token altered
        f"{prefix}/{urlsafe_base64_encode(str(other.pk).encode())}/{token}/",  # token of someone else
        f"{prefix}/not-base64!/{token}/",
    ):
        response = en_client.get(bad)
        assert response.status_code == 200
        html = response.content.decode()
        assert "This link does not work" in html
        assert f'action="{reverse("confirm-resend")}"' in html

    assert not User.objects.get(username="zhangxd").is_active
    assert not User.objects.get(pk=other.pk).is_active
    assert SESSION_KEY not in en_client.session


def test_an_expired_link_is_refused(client, form_data, django_capture_on_commit_callbacks, settings, monkeypatch):
    register(client, form_data, django_capture_on_commit_callbacks)
    link = path_of(only_link(mail.outbox[0]))
    later = dt.datetime.now() + dt.timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 60)
    monkeypatch.setattr(email_confirmation_token, "_now", lambda: later)

    response = client.get(link)

    assert response.templates[0].name == "accounts/confirm_invalid.html"
    assert not User.objects.get(username="zhangxd").is_active


def test_a_password_reset_link_cannot_confirm_an_account(client, form_data, django_capture_on_commit_callbacks):
    register(client, form_data, django_capture_on_commit_callbacks)
    user = User.objects.get(username="zhangxd")
    uid = urlsafe_base64_encode(str(user.pk).encode())

    client.get(reverse("confirm-email", args=[uid, default_token_generator.make_token(user)]))

    user.refresh_from_db()
    assert not user.is_active


def test_resend_answers_the_same_whether_or_not_the_address_exists(en_client, django_capture_on_commit_callbacks):
    waiting = UserFactory(username="waiting", email="waiting@example.org", is_active=False)
    UserFactory(username="active", email="active@example.org")
    UserFactory(username="banned", email="banned@example.org", is_active=False, last_login=dt.datetime(2023, 1, 1, tzinfo=dt.UTC))

    answers = []
    for address in ("nobody@example.org", "WAITING@example.org", "active@example.org", "banned@example.org"):
        with django_capture_on_commit_callbacks(execute=True):
            response = en_client.post(reverse("confirm-resend"), {"email": address}, follow=True)
        answers.append((response.redirect_chain, without_csrf_tokens(response)))

    assert all(answer == answers[0] for answer in answers)
    assert answers[0][0] == [(reverse("confirm-resend-done"), 302)]
    [message] = mail.outbox  # only the account waiting for confirmation is mailed
    assert message.to == [waiting.email]
    en_client.get(path_of(only_link(message)))
    waiting.refresh_from_db()
    assert waiting.is_active


def test_resend_form_reports_a_malformed_address_next_to_the_field(en_client):
    response = en_client.post(reverse("confirm-resend"), {"email": "not an address"})

    assert response.status_code == 200
    assert "email" in response.context["form"].errors
    assert 'id="id_email_error"' in response.content.decode()


def test_password_reset_round_trip(en_client, applicant):
    response = en_client.post(reverse("password_reset"), {"email": applicant.email.upper()})

    assert response["Location"] == reverse("password_reset_done")
    [message] = mail.outbox
    assert message.to == [applicant.email]
    link = path_of(only_link(message))

    response = en_client.get(link)  # Django swaps the token for a session value
    assert response.status_code == 302
    set_password_url = response["Location"]
    assert "This link does not work" not in en_client.get(set_password_url).content.decode()
    response = en_client.post(set_password_url, {"new_password1": "Chengren-Jiaoyu-9", "new_password2": "Chengren-Jiaoyu-9"})

    assert response["Location"] == reverse("password_reset_complete")
    assert en_client.get(reverse("password_reset_complete")).status_code == 200
    assert en_client.login(username=applicant.username, password="Chengren-Jiaoyu-9")
    assert not en_client.login(username=applicant.username, password="keti-demo-2023")


def test_password_reset_for_an_unknown_address_looks_the_same_and_sends_nothing(en_client):
    response = en_client.post(reverse("password_reset"), {"email": "nobody@example.org"})

    assert response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []


def test_a_used_password_reset_link_shows_the_way_to_a_new_one(en_client, applicant):
    en_client.post(reverse("password_reset"), {"email": applicant.email})
    link = path_of(only_link(mail.outbox[0]))
    applicant.set_password("Chengren-Jiaoyu-9")
    applicant.save()

    response = en_client.get(link, follow=True)

    assert not response.context["validlink"]
    assert f'href="{reverse("password_reset")}"' in response.content.decode()


def test_password_change(en_client, applicant):
    en_client.force_login(applicant)

    response = en_client.post(
        reverse("password_change"),
        {"old_password": "keti-demo-2023", "new_password1": "Chengren-Jiaoyu-9", "new_password2": "Chengren-Jiaoyu-9"},
    )

    assert response["Location"] == reverse("password_change_done")
    assert en_client.get(reverse("password_change_done")).status_code == 200
    applicant.refresh_from_db()
    assert applicant.check_password("Chengren-Jiaoyu-9")


def test_password_change_wants_the_old_password(en_client, applicant):
    en_client.force_login(applicant)

    response = en_client.post(
        reverse("password_change"),
        {"old_password": "wrong", "new_password1": "Chengren-Jiaoyu-9", "new_password2": "Chengren-Jiaoyu-9"},
    )

    assert list(response.context["form"].errors) == ["old_password"]
    assert 'id="id_old_password_error"' in response.content.decode()


@pytest.mark.parametrize(
    "name",
    ["login", "register", "register-done", "confirm-resend", "confirm-resend-done", "password_reset", "password_reset_done"],
)
def test_public_pages_render_in_both_languages(client, name, db):
    for language in ("en", "zh-hans"):
        response = client.get(reverse(name), HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200
        assert f'<html lang="{language}">' in response.content.decode()


def test_login_page_links_to_reset_registration_and_new_link(client):
    html = client.get(reverse("login")).content.decode()

    for name in ("password_reset", "register", "confirm-resend"):
        assert f'href="{reverse(name)}"' in html


def test_logged_in_people_are_sent_from_registration_to_their_dashboard(client, applicant):
    client.force_login(applicant)

    assert client.get(reverse("register"))["Location"] == reverse("dashboard")
