"""Rate limits of the public forms and the API (config/ratelimits.py): over the limit a
request gets 429 in the user's language and writes nothing; limits are per client
address, read behind a proxy from X-Forwarded-For the way the login lockout reads it."""

import pytest
from django.urls import reverse

from accounts.models import TitleLevel, User
from archive.models import Record

pytestmark = pytest.mark.django_db

PASSWORD = "Xuexi-Shehui-2023"


def registration(unit, n):
    return {
        "username": f"person{n}", "real_name": "张晓东", "email": f"person{n}@ecnu.edu.cn",
        "phone": "021-62232000", "institution": unit.pk, "title": "副教授",
        "title_level": TitleLevel.ASSOCIATE_SENIOR, "password1": PASSWORD, "password2": PASSWORD,
    }


def test_registration_over_the_limit_is_429_in_chinese_and_creates_nobody(client, unit, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "forms": "2/h"}
    for n in range(2):
        assert client.post(reverse("register"), registration(unit, n)).status_code == 302
    response = client.post(reverse("register"), registration(unit, 2))
    assert response.status_code == 429
    assert "请求过于频繁" in response.content.decode()
    assert response["Retry-After"] == "60"
    assert set(User.objects.values_list("username", flat=True)) == {"person0", "person1"}


def test_the_limit_is_per_client_address_behind_the_proxy(client, unit, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "forms": "1/h"}
    settings.PROXY_COUNT = 1
    url = reverse("confirm-resend")
    first = {"HTTP_X_FORWARDED_FOR": "203.0.113.7"}
    assert client.post(url, {"email": "a@example.org"}, **first).status_code == 302
    assert client.post(url, {"email": "a@example.org"}, **first).status_code == 429
    # Another visitor behind the same proxy is not held back ...
    assert client.post(url, {"email": "a@example.org"}, HTTP_X_FORWARDED_FOR="203.0.113.8").status_code == 302
    # ... and a forged left-hand entry does not make the first one new.
    forged = {"HTTP_X_FORWARDED_FOR": "10.0.0.1, 203.0.113.7"}
    assert client.post(url, {"email": "a@example.org"}, **forged).status_code == 429


def test_reading_a_form_is_not_counted(client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "forms": "1/h"}
    for _ in range(3):
        assert client.get(reverse("register")).status_code == 200


def test_login_posts_are_limited_per_address(client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login": "3/m"}
    url = reverse("login")
    # Different usernames each time, so the lockout per username never applies.
    for n in range(3):
        assert client.post(url, {"username": f"nobody{n}", "password": "x"}).status_code == 200
    assert client.post(url, {"username": "nobody9", "password": "x"}).status_code == 429


def test_password_reset_is_limited_and_sends_no_mail_over_it(client, settings, mailoutbox, applicant):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "forms": "1/h"}
    url = reverse("password_reset")
    assert client.post(url, {"email": applicant.email}).status_code == 302
    assert len(mailoutbox) == 1
    assert client.post(url, {"email": applicant.email}).status_code == 429
    assert len(mailoutbox) == 1


def test_the_api_answers_429_in_json(client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "api": "2/m"}
    url = reverse("archive-api-search")
    for _ in range(2):
        assert client.get(url, {"q": "教育"}).status_code == 200
    response = client.get(url, {"q": "教育"})
    assert response.status_code == 429
    assert response["Content-Type"].startswith("application/json")
    assert "请求过于频繁" in response.json()["error"]
    # The API's limit is its own: the public search page still answers.
    assert client.get(reverse("archive-search"), {"q": "教育"}).status_code == 200


def test_the_public_archive_pages_are_limited(client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "search": "2/m"}
    assert Record.objects.count() == 0
    for _ in range(2):
        assert client.get(reverse("archive-search")).status_code == 200
    assert client.get(reverse("archive-export")).status_code == 429


def test_limits_can_be_switched_off(client, unit, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "api": "1/m"}
    settings.RATELIMIT_ENABLE = False
    for _ in range(3):
        assert client.get(reverse("archive-api-search"), {"q": "教育"}).status_code == 200
