"""The meeting pages (会议评审): who may open them, voting, staging, preview and release through the web."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import roles
from accounts.models import Notification
from projects.models import Project
from reviews.meetings import create_meeting, stage_decision
from reviews.models import Meeting, StagedDecision, Vote
from tests.factories import UserFactory
from tests.reviews.test_meetings import CONFIDENTIAL, FOR_APPLICANT, T0, Setting, committee, meeting_of, recommend


@pytest.fixture
def setting(db):
    return Setting()


@pytest.fixture
def members(db):
    return committee(3)


@pytest.fixture
def meeting(setting, members, secretary):
    return meeting_of(setting, members, secretary)


@pytest.fixture
def expert(setting):
    return setting.experts[0].user


def page_urls(meeting, project):
    return [
        ("get", reverse("meeting-list")),
        ("get", reverse("meeting-create")),
        ("get", reverse("meeting-detail", args=[meeting.pk])),
        ("post", reverse("meeting-vote", args=[meeting.pk, project.pk])),
        ("post", reverse("meeting-stage", args=[meeting.pk, project.pk])),
        ("post", reverse("meeting-decline-others", args=[meeting.pk])),
        ("post", reverse("meeting-release", args=[meeting.pk])),
    ]


# ---- access ---------------------------------------------------------------------------------


def test_applicants_and_experts_are_refused(client, meeting, setting, expert):
    applicant = setting.shortlisted[0].pi
    for user in (applicant, expert):
        client.force_login(user)
        for method, url in page_urls(meeting, setting.shortlisted[0]):
            assert getattr(client, method)(url, {"choice": "approve"}).status_code == 403, (user, url)
    assert not Vote.objects.exists() and not StagedDecision.objects.exists()


def test_anonymous_visitors_are_sent_to_log_in(client, meeting, setting):
    for method, url in page_urls(meeting, setting.shortlisted[0]):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "/login" in response["Location"]


def test_a_committee_member_not_present_finds_nothing(client, meeting, setting):
    absent = UserFactory(username="absent", role=roles.COMMITTEE)
    client.force_login(absent)
    assert client.get(reverse("meeting-list")).status_code == 200
    assert reverse("meeting-detail", args=[meeting.pk]) not in client.get(reverse("meeting-list")).content.decode()
    assert client.get(reverse("meeting-detail", args=[meeting.pk])).status_code == 404
    project = setting.shortlisted[0]
    assert client.post(reverse("meeting-vote", args=[meeting.pk, project.pk]), {"choice": "approve"}).status_code == 404
    # Committee members do not stage, create or release.
    for method, url in page_urls(meeting, project)[1:2] + page_urls(meeting, project)[4:]:
        assert getattr(client, method)(url).status_code in (403, 404), url
    assert not Vote.objects.exists()


def test_the_secretariat_does_not_vote_unless_present(client, meeting, setting, secretary):
    client.force_login(secretary)
    url = reverse("meeting-vote", args=[meeting.pk, setting.shortlisted[0].pk])
    assert client.post(url, {"choice": "approve"}).status_code == 403
    assert not Vote.objects.exists()


def test_unknown_objects_are_404(client, meeting, setting, secretary, members):
    other = Setting()
    client.force_login(secretary)
    assert client.get(reverse("meeting-detail", args=[999999])).status_code == 404
    url = reverse("meeting-stage", args=[meeting.pk, other.ranked[0].pk])
    assert client.post(url, {"outcome": "decline"}).status_code == 404
    client.force_login(members[0])
    url = reverse("meeting-vote", args=[meeting.pk, other.ranked[0].pk])
    assert client.post(url, {"choice": "approve"}).status_code == 404


# ---- the member's page ----------------------------------------------------------------------


def test_a_member_sees_the_ranking_the_comments_under_aliases_and_votes(client, english, meeting, setting, members):
    client.force_login(members[0])
    page = client.get(reverse("meeting-detail", args=[meeting.pk])).content.decode()
    for project in setting.shortlisted:
        assert project.title in page
        assert reverse("meeting-vote", args=[meeting.pk, project.pk]) in page
        assert reverse("ranking-proposal", args=[setting.round.pk, project.pk]) in page
    assert reverse("meeting-vote", args=[meeting.pk, setting.off_list.pk]) not in page
    assert "专家1" in page and "专家3" in page
    assert FOR_APPLICANT in page and CONFIDENTIAL in page
    for expert in setting.experts:
        assert expert.user.display_name not in page and expert.user.username not in page
    assert "approvals needed" not in page  # the tally is the secretariat's while voting
    assert "Stage: approve" not in page

    project = setting.shortlisted[0]
    url = reverse("meeting-vote", args=[meeting.pk, project.pk])
    response = client.post(url, {"choice": "reject"})
    assert response.status_code == 302 and response["Location"].endswith(f"#p{project.pk}")
    client.post(url, {"choice": "approve"})
    assert Vote.objects.get(meeting=meeting, project=project, member=members[0]).choice == "approve"
    page = client.get(reverse("meeting-detail", args=[meeting.pk])).content.decode()
    assert "Change my vote" in page


def test_a_refused_vote_shows_its_message(client, english, meeting, setting, members):
    client.force_login(members[0])
    url = reverse("meeting-vote", args=[meeting.pk, setting.off_list.pk])
    page = client.post(url, {"choice": "approve"}, follow=True).content.decode()
    assert "is not on the meeting&#x27;s shortlist" in page
    assert not Vote.objects.exists()


# ---- the secretariat's page ------------------------------------------------------------------


def test_the_secretariat_stages_previews_and_releases(client, english, meeting, setting, members, secretary,
                                                      mailoutbox, django_capture_on_commit_callbacks):
    first, second = setting.shortlisted[:2]
    for project in (first, second):  # the mails are written in each applicant's language
        project.pi.language = "en"
        project.pi.save()
    recommend(meeting, [first], members)
    client.force_login(secretary)
    page = client.get(reverse("meeting-detail", args=[meeting.pk])).content.decode()
    assert "3 present, 2 approvals needed." in page and "Recommended" in page
    assert "Decline all the others" in page

    response = client.post(reverse("meeting-stage", args=[meeting.pk, first.pk]), {"outcome": "approve"})
    assert response.status_code == 302
    client.post(reverse("meeting-stage", args=[meeting.pk, second.pk]), {"outcome": "decline", "note": "名额所限"})
    client.post(reverse("meeting-decline-others", args=[meeting.pk]), {"note": "未入围"})
    assert StagedDecision.objects.count() == 4
    assert mailoutbox == [] and not Notification.objects.exists()
    assert Project.objects.get(pk=first.pk).state == "reviewed"

    page = client.get(reverse("meeting-detail", args=[meeting.pk])).content.decode()
    assert "Preview of the mails (4)" in page
    assert f"[Keti] Your application is proposed for approval: {first.title}" in page
    assert f"[Keti] Your application was not approved: {second.title}" in page
    assert "名额所限" in page and f"专家1: {FOR_APPLICANT}" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("meeting-release", args=[meeting.pk]), follow=True)
    assert "4 decisions released" in response.content.decode()
    assert Project.objects.get(pk=first.pk).state == "publicity"
    assert Project.objects.get(pk=second.pk).state == "not_approved"
    assert sorted(m.to[0] for m in mailoutbox) == sorted(
        p.pi.email for p in (first, second, setting.off_list, setting.too_few))

    page = client.get(reverse("meeting-detail", args=[meeting.pk])).content.decode()
    assert "Decisions released" in page and "Release the decisions" not in page


def test_a_refused_staging_keeps_the_note_and_says_why(client, english, meeting, setting, secretary):
    project = setting.shortlisted[0]
    client.force_login(secretary)
    response = client.post(reverse("meeting-stage", args=[meeting.pk, project.pk]),
                           {"outcome": "approve", "note": "请尽快开题"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "0 approvals of 3 members present; 2 are needed for a recommendation." in page
    assert "请尽快开题</textarea>" in page
    assert not StagedDecision.objects.exists()


def test_the_quota_refusal_through_the_page(client, english, setting, secretary):
    setting.call_class.quota = 1
    setting.call_class.save()
    three = committee(3, "q")
    meeting = meeting_of(setting, three, secretary)
    first, second = setting.ranked[:2]
    recommend(meeting, [first, second], three)
    stage_decision(meeting, first, "approve", by=secretary, now=T0)
    client.force_login(secretary)
    response = client.post(reverse("meeting-stage", args=[meeting.pk, second.pk]), {"outcome": "approve"})
    assert response.status_code == 400
    assert "Class A has a quota of 1 approvals and 1 are already staged" in response.content.decode()
    assert list(StagedDecision.objects.values_list("project_id", flat=True)) == [first.pk]


def test_a_refused_release_shows_its_messages(client, english, meeting, secretary):
    client.force_login(secretary)
    response = client.post(reverse("meeting-release", args=[meeting.pk]))
    assert response.status_code == 400
    assert "No decision is staged for release." in response.content.decode()
    meeting.refresh_from_db()
    assert meeting.state == "voting"


def test_withdrawing_a_staged_decision(client, meeting, setting, secretary):
    stage_decision(meeting, setting.off_list, "decline", by=secretary, now=T0)
    client.force_login(secretary)
    client.post(reverse("meeting-stage", args=[meeting.pk, setting.off_list.pk]), {"outcome": "withdraw"})
    assert not StagedDecision.objects.exists()


# ---- creating a meeting ---------------------------------------------------------------------


def test_the_secretariat_creates_a_meeting(client, english, setting, secretary, members):
    client.force_login(secretary)
    page = client.get(reverse("meeting-create")).content.decode()
    assert setting.call.title in page and members[0].display_name in page
    response = client.post(reverse("meeting-create"), {
        "call": setting.call.pk, "held_on": "2024-03-01T09:00", "place": "北京会议室",
        "present": [m.pk for m in members]})
    meeting = Meeting.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("meeting-detail", args=[meeting.pk])
    assert (meeting.place, meeting.present.count(), meeting.created_by) == ("北京会议室", 3, secretary)


def test_a_refused_meeting_keeps_the_input(client, english, meeting, setting, secretary, members):
    client.force_login(secretary)
    response = client.post(reverse("meeting-create"), {
        "call": setting.call.pk, "held_on": "2024-04-01T14:30", "place": "上海会议室",
        "present": [members[0].pk]})
    assert response.status_code == 200
    page = response.content.decode()
    assert "is still voting on this call" in page
    assert 'value="上海会议室"' in page
    assert Meeting.objects.count() == 1
    response = client.post(reverse("meeting-create"), {"call": setting.call.pk, "held_on": "2024-04-01T14:30"})
    assert "This field is required." in response.content.decode()


# ---- the list -------------------------------------------------------------------------------


def make_meetings(n, secretary, members):
    setting = Setting()
    for i in range(n):
        meeting = create_meeting(setting.call, held_on=T0 + dt.timedelta(days=i), present=members, by=secretary)
        Meeting.objects.filter(pk=meeting.pk).update(state="released")
    return setting


def list_queries(client, user):
    client.force_login(user)
    client.get(reverse("meeting-list"))  # warm the session and role caches
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("meeting-list"))
    assert response.status_code == 200
    return len(queries), response.content.decode()


@pytest.mark.parametrize("role", ["secretariat", "committee"])
def test_the_list_costs_the_same_for_3_and_30_meetings(client, db, secretary, role):
    members = committee(2, "lst")
    user = secretary if role == "secretariat" else members[0]
    make_meetings(3, secretary, members)
    few, page = list_queries(client, user)
    assert page.count('<a href="/meetings/') == 3
    make_meetings(27, secretary, members)
    many, page = list_queries(client, user)
    assert few == many
    assert page.count('<a href="/meetings/') == 30


def test_the_dashboard_section_lists_open_meetings(client, meeting, members):
    from django.template.loader import render_to_string

    from reviews.meetings import open_meetings_for

    html = render_to_string("reviews/meetings/_dashboard_section.html", {"user": members[0]})
    assert reverse("meeting-detail", args=[meeting.pk]) in html
    html = render_to_string("reviews/meetings/_dashboard_section.html",
                            {"user": members[0], "meetings": open_meetings_for(members[0])})
    assert reverse("meeting-detail", args=[meeting.pk]) in html


def test_after_the_release_members_see_the_tally_and_vote_no_more(client, english, meeting, setting, members,
                                                                   secretary, django_capture_on_commit_callbacks):
    from reviews.meetings import release

    first = setting.shortlisted[0]
    recommend(meeting, [first], members)
    stage_decision(meeting, first, "approve", by=secretary, now=T0)
    with django_capture_on_commit_callbacks(execute=True):
        release(meeting, by=secretary, now=T0)
    client.force_login(members[0])
    page = client.get(reverse("meeting-detail", args=[meeting.pk])).content.decode()
    assert "Approve 3 · reject 0 · abstain 0" in page and "Your vote: Approve" in page
    assert reverse("meeting-vote", args=[meeting.pk, first.pk]) not in page
    response = client.post(reverse("meeting-vote", args=[meeting.pk, first.pk]), {"choice": "reject"}, follow=True)
    assert "no longer be cast" in response.content.decode()
    assert Vote.objects.get(project=first, member=members[0]).choice == "approve"


def test_a_member_standing_aside_sees_no_vote_form(client, english, meeting, setting, members):
    own = setting.shortlisted[0]
    Project.objects.filter(pk=own.pk).update(pi=members[0])
    client.force_login(members[0])
    page = client.get(reverse("meeting-detail", args=[meeting.pk])).content.decode()
    assert "Not voting (回避)" in page
    assert reverse("meeting-vote", args=[meeting.pk, own.pk]) not in page
    assert reverse("meeting-vote", args=[meeting.pk, setting.shortlisted[1].pk]) in page
    page = client.post(reverse("meeting-vote", args=[meeting.pk, own.pk]), {"choice": "approve"},
                       follow=True).content.decode()
    assert "stand aside (回避)" in page
    assert not Vote.objects.filter(project=own).exists()
