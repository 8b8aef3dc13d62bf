"""The inbox pages (站内消息): one's own messages only, read on opening, counted in the header."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notification, User

pytestmark = pytest.mark.django_db

T0 = timezone.make_aware(dt.datetime(2024, 3, 1, 9, 0))


def message(user, n=0, *, read=False, link=""):
    entry = Notification.objects.create(user=user, subject=f"通知{n}", body=f"第一行{n}\n第二行", link=link)
    # Distinct, known times: the list is newest first.
    Notification.objects.filter(pk=entry.pk).update(
        created_at=T0 + dt.timedelta(minutes=n), read_at=T0 if read else None)
    entry.refresh_from_db()
    return entry


@pytest.mark.parametrize("name, args", [("inbox", []), ("inbox-detail", [1])])
def test_anonymous_visitors_are_sent_to_log_in(client, name, args):
    response = client.get(reverse(name, args=args))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_list_shows_ones_own_messages_newest_first_unread_marked(client, english, applicant, secretary):
    old = message(applicant, 1, read=True)
    new = message(applicant, 2)
    message(secretary, 3)
    client.force_login(applicant)
    response = client.get(reverse("inbox"))
    assert response.status_code == 200
    assert list(response.context["notifications"]) == [new, old]
    rows = response.content.decode()
    assert "通知3" not in rows
    assert rows.index("通知2") < rows.index("通知1")
    assert rows.count('class="unread"') == 1 and rows.count('class="read"') == 1
    assert "Mark all read" in rows


def test_the_list_is_paginated_by_30(client, applicant):
    for n in range(31):
        message(applicant, n)
    client.force_login(applicant)
    first = client.get(reverse("inbox"))
    assert len(first.context["notifications"]) == 30
    second = client.get(reverse("inbox"), {"page": 2})
    assert [n.subject for n in second.context["notifications"]] == ["通知0"]


def test_opening_a_message_marks_it_read_and_shows_body_and_link(client, english, applicant):
    entry = message(applicant, 1, link="/projects/7/")
    client.force_login(applicant)
    response = client.get(reverse("inbox-detail", args=[entry.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "第一行1" in page and "第二行" in page and 'href="/projects/7/"' in page
    entry.refresh_from_db()
    assert entry.read_at is not None
    first_read = entry.read_at
    client.get(reverse("inbox-detail", args=[entry.pk]))
    entry.refresh_from_db()
    assert entry.read_at == first_read  # the first reading is kept


def test_another_persons_message_is_not_found(client, applicant, secretary):
    theirs = message(secretary, 1)
    client.force_login(applicant)
    assert client.get(reverse("inbox-detail", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_all_read_touches_only_ones_own(client, english, applicant, secretary):
    mine = [message(applicant, n) for n in range(3)]
    theirs = message(secretary, 9)
    client.force_login(applicant)
    assert client.get(reverse("inbox-read-all")).status_code == 405
    response = client.post(reverse("inbox-read-all"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("inbox")
    assert "3 messages marked as read." in response.content.decode()
    assert all(Notification.objects.get(pk=m.pk).read_at for m in mine)
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_the_header_counts_the_unread_messages(client, english, applicant, secretary):
    message(applicant, 1)
    message(applicant, 2)
    message(applicant, 3, read=True)
    message(secretary, 4)
    client.force_login(applicant)
    page = client.get(reverse("profile")).content.decode()
    assert "Inbox (2)" in page and f'href="{reverse("inbox")}"' in page


def test_the_header_costs_one_query_and_none_for_visitors(client, applicant):
    with CaptureQueriesContext(connection) as anonymous:
        client.get(reverse("archive-search"))
    assert not [q for q in anonymous.captured_queries if "accounts_notification" in q["sql"]]
    client.force_login(applicant)
    with CaptureQueriesContext(connection) as logged_in:
        client.get(reverse("archive-search"))
    assert len([q for q in logged_in.captured_queries if "accounts_notification" in q["sql"]]) == 1


@pytest.mark.parametrize("n", [3, 30])
def test_the_list_takes_the_same_queries_for_3_and_30_messages(client, applicant, n, django_assert_num_queries):
    for i in range(n):
        message(applicant, i, read=i % 2 == 0)
    client.force_login(applicant)
    client.get(reverse("inbox"))  # warm the session and the content types
    # session, user, count for the pager, the page of messages, the header's unread count
    with django_assert_num_queries(5):
        assert client.get(reverse("inbox")).status_code == 200


# ---- the language of mail (profile) -------------------------------------------------------------


def test_the_profile_offers_the_language_of_mail(client, english, applicant):
    client.force_login(applicant)
    page = client.get(reverse("profile")).content.decode()
    assert 'name="language"' in page and f'action="{reverse("mail-language")}"' in page
    assert "Site default" in page


@pytest.mark.parametrize("choice", ["en", "zh-hans", ""])
def test_the_language_of_mail_is_saved(client, english, applicant, choice):
    applicant.language = "en" if choice != "en" else ""
    applicant.save()
    client.force_login(applicant)
    response = client.post(reverse("mail-language"), {"language": choice}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("profile")
    assert "The language of your mail is saved." in response.content.decode()
    applicant.refresh_from_db()
    assert applicant.language == choice


def test_an_unknown_language_is_refused_and_changes_nothing(client, english, applicant):
    applicant.language = "en"
    applicant.save()
    client.force_login(applicant)
    response = client.post(reverse("mail-language"), {"language": "fr"}, follow=True)
    assert "Choose one of the languages offered." in response.content.decode()
    applicant.refresh_from_db()
    assert applicant.language == "en"


def test_anonymous_visitors_cannot_set_a_language_of_mail(client):
    response = client.post(reverse("mail-language"), {"language": "en"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_switching_the_interface_language_leaves_the_language_of_mail_alone(client, applicant):
    client.force_login(applicant)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert User.objects.get(pk=applicant.pk).language == ""


def test_the_language_form_does_not_redirect_elsewhere(client, applicant):
    client.force_login(applicant)
    response = client.post(reverse("mail-language"), {"language": "en", "next": "https://evil.example.com/"})
    assert response["Location"] == reverse("profile")
