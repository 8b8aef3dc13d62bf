"""The secretariat's pages of lateness and timeliness: access, content, actions, query counts."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from reviews.models import AssignmentStatus, Reminder, ReminderKind
from reviews.reminders import LOCAL_TZ, local_text
from tests.factories import InstitutionFactory, UserFactory
from tests.reviews.factories import AssignmentFactory, ExpertProfileFactory, ReviewFactory, ReviewRoundFactory

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def late_round(now):
    """An open round whose deadline passed yesterday."""
    return ReviewRoundFactory(state="open", name="2023年度A类立项评审", deadline=now - DAY, answer_within_days=3)


def overdue(round_, now, **kwargs):
    return AssignmentFactory(round=round_, status=AssignmentStatus.ACCEPTED, invited_at=now - 20 * DAY,
                             responded_at=now - 19 * DAY, **kwargs)


def remind(assignment, when):
    reminder = Reminder.objects.create(expert=assignment.expert, kind=ReminderKind.REVIEW_OVERDUE,
                                       day=when.astimezone(LOCAL_TZ).date(), sent_at=when)
    reminder.assignments.add(assignment)
    return reminder


def late_url(round_):
    return reverse("round-late", args=[round_.pk])


# ---- access --------------------------------------------------------------------------------------


def test_late_page_is_for_the_secretariat(client, late_round, applicant, secretary):
    url = late_url(late_round)
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(applicant)
    assert client.get(url).status_code == 403
    client.force_login(ExpertProfileFactory().user)
    assert client.get(url).status_code == 403
    client.force_login(secretary)
    assert client.get(url).status_code == 200
    assert client.get(reverse("round-late", args=[late_round.pk + 1000])).status_code == 404


def test_timeliness_page_is_for_the_secretariat(client, applicant, secretary):
    expert = ExpertProfileFactory()
    url = reverse("expert-timeliness", args=[expert.pk])
    assert client.get(url).status_code == 302
    client.force_login(expert.user)  # not even the expert sees his own record
    assert client.get(url).status_code == 403
    client.force_login(applicant)
    assert client.get(url).status_code == 403
    client.force_login(secretary)
    assert client.get(url).status_code == 200
    assert client.get(reverse("expert-timeliness", args=[expert.pk + 1000])).status_code == 404


def test_actions_are_for_the_secretariat(client, late_round, now, applicant):
    assignment = overdue(late_round, now)
    client.force_login(applicant)
    for name in ("round-late-extend", "round-late-replace"):
        url = reverse(name, args=[late_round.pk, assignment.pk])
        assert client.post(url, {"deadline": "2099-01-01T10:00"}).status_code == 403
    assignment.refresh_from_db()
    assert assignment.deadline is None and assignment.status == AssignmentStatus.ACCEPTED


def test_actions_take_only_post_and_assignments_of_the_round(client, late_round, now, secretary):
    assignment = overdue(late_round, now)
    other_round = ReviewRoundFactory(state="open")
    client.force_login(secretary)
    assert client.get(reverse("round-late-extend", args=[late_round.pk, assignment.pk])).status_code == 405
    assert client.post(reverse("round-late-extend", args=[other_round.pk, assignment.pk]),
                       {"deadline": "2099-01-01T10:00"}).status_code == 404


# ---- content -------------------------------------------------------------------------------------


def test_late_page_sorts_rows_into_unanswered_overdue_and_due_soon(client, english, late_round, now, secretary):
    late_one = overdue(late_round, now)
    remind(late_one, now - 2 * DAY)
    soon = overdue(late_round, now, deadline=now + 2 * DAY)
    far = overdue(late_round, now, deadline=now + 10 * DAY)
    silent = AssignmentFactory(round=late_round, invited_at=now - 5 * DAY)
    done = overdue(late_round, now)
    ReviewFactory(assignment=done)
    client.force_login(secretary)

    response = client.get(late_url(late_round))

    report = response.context["report"]
    assert [item.assignment for item in report.unanswered] == [silent]
    assert report.overdue == [late_one]
    assert report.due_soon == [soon]
    html = response.content.decode()
    for shown in (late_one, soon, silent):
        assert shown.expert.user.real_name in html and shown.project.title in html
    assert far.project.title not in html and done.project.title not in html
    assert local_text(now - 2 * DAY) in html  # last reminder
    assert html.count('name="deadline"') == 3
    assert reverse("expert-timeliness", args=[late_one.expert_id]) in html


def test_timeliness_page_shows_the_record(client, english, secretary, now):
    expert = ExpertProfileFactory()
    round_ = ReviewRoundFactory(state="closed", name="2022年度A类立项评审", deadline=now - 30 * DAY)
    assignment = AssignmentFactory(round=round_, expert=expert, status=AssignmentStatus.ACCEPTED,
                                   invited_at=now - 60 * DAY, responded_at=now - 58 * DAY)
    ReviewFactory(assignment=assignment, submitted_at=now - 31 * DAY)
    client.force_login(secretary)

    response = client.get(reverse("expert-timeliness", args=[expert.pk]))

    record = response.context["record"]
    assert record["submitted"] == 1 and record["on_time"] == 1 and record["average_days_to_answer"] == 2.0
    assert "2022年度A类立项评审" in response.content.decode()


# ---- actions -------------------------------------------------------------------------------------


def test_extend_from_the_page(client, english, late_round, now, secretary, mailoutbox,
                              django_capture_on_commit_callbacks):
    assignment = overdue(late_round, now)
    client.force_login(secretary)
    new = (now + 5 * DAY).astimezone(LOCAL_TZ).replace(second=0, microsecond=0)

    with django_capture_on_commit_callbacks(execute=True):  # the mail leaves after the commit
        response = client.post(reverse("round-late-extend", args=[late_round.pk, assignment.pk]),
                               {"deadline": new.strftime("%Y-%m-%dT%H:%M")}, follow=True)

    assignment.refresh_from_db()
    assert assignment.deadline == new
    assert f"is now {local_text(new)}" in response.content.decode()
    assert [m.to for m in mailoutbox] == [[assignment.expert.user.email]]


def test_extend_refused_from_the_page_says_why(client, english, late_round, now, secretary):
    assignment = overdue(late_round, now)
    client.force_login(secretary)
    past = (now - 3 * DAY).astimezone(LOCAL_TZ)

    response = client.post(reverse("round-late-extend", args=[late_round.pk, assignment.pk]),
                           {"deadline": past.strftime("%Y-%m-%dT%H:%M")}, follow=True)

    html = response.content.decode()
    assert "The new deadline must be in the future." in html
    assert "The new deadline must be later than the current one" in html
    response = client.post(reverse("round-late-extend", args=[late_round.pk, assignment.pk]),
                           {"deadline": "not a date"}, follow=True)
    assert "Enter a valid date/time." in response.content.decode()
    assignment.refresh_from_db()
    assert assignment.deadline is None


def test_replace_from_the_page(client, english, late_round, now, secretary):
    from reviews.conflicts import refresh_conflicts

    silent = AssignmentFactory(round=late_round, invited_at=now - 5 * DAY)
    outsider = ExpertProfileFactory(user__institution=InstitutionFactory(name="第99社区学院"),
                                    disciplines=[silent.project.discipline], keywords=list(silent.project.keywords))
    refresh_conflicts(now=now)
    client.force_login(secretary)
    page = client.get(late_url(late_round)).content.decode()
    assert outsider.user.real_name in page
    assert reverse("round-late-replace", args=[late_round.pk, silent.pk]) in page

    response = client.post(reverse("round-late-replace", args=[late_round.pk, silent.pk]), follow=True)

    silent.refresh_from_db()
    assert silent.status == AssignmentStatus.REMOVED
    replacement = late_round.assignments.get(replaces=silent)
    assert replacement.expert == outsider and replacement.status == AssignmentStatus.INVITED
    assert "is invited instead" in response.content.decode()


# ---- query counts ----------------------------------------------------------------------------------


def fill(round_, now, n):
    """n late rows (overdue and due soon, each reminded once) and one unanswered invitation."""
    for i in range(n):
        a = overdue(round_, now, deadline=now + DAY if i % 3 == 0 else None)
        remind(a, now - (i % 4 + 1) * DAY)


def test_late_page_query_count_does_not_grow_with_rows(client, django_assert_num_queries, now, secretary):
    """3 and 30 unanswered invitations (each with a replacement to propose), plus overdue rows:
    the replacements are computed in one batch, so the count is the same."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    small = ReviewRoundFactory(state="open", deadline=now - DAY, answer_within_days=3)
    big = ReviewRoundFactory(state="open", deadline=now - DAY, answer_within_days=3)
    for round_, n in ((small, 3), (big, 30)):
        fill(round_, now, n)
        for _ in range(n):
            AssignmentFactory(round=round_, invited_at=now - 5 * DAY)
    ExpertProfileFactory()  # someone free to take over
    client.force_login(secretary)
    client.get(late_url(small))  # warm the session and the content types

    with CaptureQueriesContext(connection) as small_queries:
        response = client.get(late_url(small))
    assert len(response.context["report"].unanswered) == 3
    assert all(item.replacement is not None for item in response.context["report"].unanswered)
    with django_assert_num_queries(len(small_queries)):
        response = client.get(late_url(big))
    assert len(response.context["report"].unanswered) == 30
    assert len(response.context["report"].overdue) + len(response.context["report"].due_soon) == 30


def test_timeliness_page_query_count_does_not_grow_with_rows(client, django_assert_num_queries, now, secretary):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    few, many = ExpertProfileFactory(), ExpertProfileFactory()
    for expert, n in ((few, 3), (many, 30)):
        round_ = ReviewRoundFactory(state="open", deadline=now + DAY)
        for i in range(n):
            a = overdue(round_, now, expert=expert)
            if i % 2:
                ReviewFactory(assignment=a)
            remind(a, now - (i + 1) * DAY)
    client.force_login(secretary)
    client.get(reverse("expert-timeliness", args=[few.pk]))

    with CaptureQueriesContext(connection) as few_queries:
        client.get(reverse("expert-timeliness", args=[few.pk]))
    with django_assert_num_queries(len(few_queries)):
        response = client.get(reverse("expert-timeliness", args=[many.pk]))
    assert response.context["record"]["invitations"] == 30


def test_staff_without_the_secretariat_role_is_refused(client, late_round):
    """Being staff (the admin flag) is not being the secretariat."""
    user = UserFactory(username="staffer", is_staff=True)
    client.force_login(user)
    assert client.get(late_url(late_round)).status_code == 403
