"""The committee meeting (会议评审): the two-thirds rule, the quota, staging in silence, one release.

The builders at the top are shared with ``test_meetings_views``.
"""

import datetime as dt
from fractions import Fraction

import pytest
from django.utils import timezone

from accounts import roles
from accounts.models import Notification
from projects.models import Project, TransitionLog
from projects.services import TransitionRefused, perform
from reviews import meetings
from reviews.meetings import (
    approvals_needed,
    cast_vote,
    create_meeting,
    decline_others,
    preview_mails,
    release,
    stage_decision,
    tally,
)
from reviews.models import Meeting, StagedDecision, Vote
from tests.factories import CallClassFactory, ProjectFactory, UserFactory
from tests.reviews.factories import ExpertProfileFactory, ReviewFactory, ReviewRoundFactory

T0 = timezone.make_aware(dt.datetime(2024, 3, 1, 9, 0))
CONFIDENTIAL = "机密：此项不宜资助"
FOR_APPLICANT = "研究设计需进一步细化"

# ---- builders -------------------------------------------------------------------------------

_receipts = iter(range(1, 100000))


def make_expert(n):
    """An expert whose name and username no page or mail may show."""
    return ExpertProfileFactory(user__username=f"mtg_reviewer{n}", user__real_name=f"评审人{chr(0x4e00 + 200 + n)}{n}")


def score(total):
    each = total // 10
    return {"topic": each, "argument": each, "foundation": each}


def reviewed_proposal(round, totals, experts, *, title=None, pi=None):
    """A reviewed proposal of ``round`` with one submitted review per total."""
    number = next(_receipts)
    extra = {"title": title} if title else {}
    if pi is not None:
        extra.update(pi=pi, institution=pi.institution)
    project = ProjectFactory(call_class=round.call_class, state="reviewed", receipt_number=f"SB2024{number:05d}",
                             **extra)
    round.projects.add(project)
    for i, total in enumerate(totals):
        ReviewFactory(
            assignment__round=round, assignment__project=project, assignment__expert=experts[i],
            scores=score(total), recommendation="A" if total >= 70 else "B",
            comments_to_applicant=f"{FOR_APPLICANT}（{i + 1}）", comments_to_committee=f"{CONFIDENTIAL}（{i + 1}）",
            submitted_at=T0 - dt.timedelta(days=10, minutes=-i),
        )
    return project


class Setting:
    """A call with one class (quota 2, so a shortlist of 4), its closed round and six reviewed proposals."""

    def __init__(self, quota=2, rules=None):
        self.experts = [make_expert(n) for n in range(1, 4)]
        self.call_class = CallClassFactory(quota=quota, code="A", rules=rules or {})
        self.call = self.call_class.call
        self.round = ReviewRoundFactory(call_class=self.call_class, state="closed")
        totals = [[90, 90, 90], [80, 80, 80], [70, 70, 70], [60, 60, 60], [50, 50, 50]]
        self.ranked = [reviewed_proposal(self.round, t, self.experts, title=f"社区教育研究之{i + 1}")
                       for i, t in enumerate(totals)]
        self.shortlisted = self.ranked[:4]
        self.off_list = self.ranked[4]
        self.too_few = reviewed_proposal(self.round, [100], self.experts, title="评审不足的课题")


def committee(n, prefix="member"):
    return [UserFactory(username=f"{prefix}{i}", role=roles.COMMITTEE) for i in range(1, n + 1)]


def meeting_of(setting, members, secretary):
    return create_meeting(setting.call, held_on=T0, place="北京", present=members, by=secretary)


def vote_all(meeting, project, members, choices):
    for member, choice in zip(members, choices):
        cast_vote(meeting, project, member, choice, now=T0)


def tally_of(meeting, project):
    return next(t for t in tally(meeting) if t.project.pk == project.pk)


@pytest.fixture
def setting(db):
    return Setting()


@pytest.fixture
def members(db):
    return committee(5)


@pytest.fixture
def meeting(setting, members, secretary):
    return meeting_of(setting, members, secretary)


def recommend(meeting, projects, members):
    for project in projects:
        vote_all(meeting, project, members, ["approve"] * len(members))


# ---- the two-thirds rule --------------------------------------------------------------------


def test_approvals_needed_is_two_thirds_of_those_present_rounded_up():
    assert [approvals_needed(n) for n in (1, 2, 3, 4, 5, 6, 7, 9)] == [1, 2, 2, 3, 4, 4, 5, 6]
    assert meetings.approval_fraction() == Fraction(2, 3)


def test_five_present_four_approvals_recommend_three_do_not(meeting, setting, members):
    first, second = setting.shortlisted[:2]
    vote_all(meeting, first, members, ["approve"] * 4 + ["reject"])
    vote_all(meeting, second, members, ["approve"] * 3 + ["reject", "abstain"])
    one, two = tally_of(meeting, first), tally_of(meeting, second)
    assert (one.approve, one.reject, one.abstain, one.present, one.needed, one.recommended) == (4, 1, 0, 5, 4, True)
    assert (two.approve, two.reject, two.abstain, two.present, two.needed, two.recommended) == (3, 1, 1, 5, 4, False)


def test_three_present_two_approvals_recommend(setting, secretary):
    three = committee(3)
    meeting = meeting_of(setting, three, secretary)
    project = setting.shortlisted[0]
    vote_all(meeting, project, three, ["approve", "approve", "reject"])
    assert tally_of(meeting, project).recommended
    other = setting.shortlisted[1]
    vote_all(meeting, other, three, ["approve", "reject", "reject"])
    assert not tally_of(meeting, other).recommended


def test_abstentions_and_missing_votes_count_as_not_approving(meeting, setting, members):
    project = setting.shortlisted[0]
    vote_all(meeting, project, members[:3], ["approve", "approve", "abstain"])
    count = tally_of(meeting, project)
    assert (count.approve, count.abstain, count.cast, count.not_voted, count.recommended) == (2, 1, 3, 2, False)
    vote_all(meeting, project, members[3:], ["abstain", "abstain"])
    assert not tally_of(meeting, project).recommended  # 2 of 5, abstentions do not lower the bar


def test_the_fraction_is_a_rule_of_the_class(db, secretary):
    setting = Setting(rules={"MEETING_APPROVAL_FRACTION": "3/4"})
    four = committee(4)
    meeting = meeting_of(setting, four, secretary)
    project = setting.shortlisted[0]
    vote_all(meeting, project, four, ["approve", "approve", "approve", "reject"])
    assert tally_of(meeting, project).needed == 3
    assert tally_of(meeting, project).recommended


def test_the_tally_lists_the_shortlist_in_ranking_order(meeting, setting):
    counts = tally(meeting)
    assert [t.project.pk for t in counts] == [p.pk for p in setting.shortlisted]
    assert [t.rank for t in counts] == [1, 2, 3, 4]
    assert all(t.present == 5 and t.cast == 0 for t in counts)


# ---- votes ----------------------------------------------------------------------------------


def test_a_member_may_change_the_vote_while_the_meeting_votes(meeting, setting, members):
    project = setting.shortlisted[0]
    cast_vote(meeting, project, members[0], "reject", now=T0)
    cast_vote(meeting, project, members[0], "approve", now=T0 + dt.timedelta(minutes=5))
    vote = Vote.objects.get(meeting=meeting, project=project, member=members[0])
    assert vote.choice == "approve" and vote.cast_at == T0 + dt.timedelta(minutes=5)
    assert Vote.objects.filter(meeting=meeting).count() == 1


def test_members_not_present_cannot_vote(english, meeting, setting):
    absent = UserFactory(username="absent", role=roles.COMMITTEE)
    with pytest.raises(TransitionRefused) as refused:
        cast_vote(meeting, setting.shortlisted[0], absent, "approve")
    assert refused.value.messages == ["Only the committee members present at the meeting vote."]
    assert not Vote.objects.exists()


def test_only_shortlisted_proposals_are_voted_on(english, meeting, setting, members):
    for project in (setting.off_list, setting.too_few):
        with pytest.raises(TransitionRefused) as refused:
            cast_vote(meeting, project, members[0], "approve")
        assert "is not on the meeting's shortlist" in refused.value.messages[0]
    with pytest.raises(TransitionRefused) as refused:
        cast_vote(meeting, setting.shortlisted[0], members[0], "maybe")
    assert refused.value.messages == ["Choose approve, reject or abstain."]
    assert not Vote.objects.exists()


def test_no_vote_after_the_release(english, meeting, setting, members, secretary):
    recommend(meeting, setting.shortlisted[:1], members)
    stage_decision(meeting, setting.shortlisted[0], "approve", by=secretary, now=T0)
    release(meeting, by=secretary, now=T0)
    with pytest.raises(TransitionRefused) as refused:
        cast_vote(meeting, setting.shortlisted[1], members[0], "approve")
    assert "no longer be cast" in refused.value.messages[0]


# ---- creating a meeting ---------------------------------------------------------------------


def test_create_meeting_refuses_bad_input_with_every_message(english, setting, secretary, applicant):
    count = Meeting.objects.count()
    with pytest.raises(TransitionRefused) as refused:
        create_meeting(setting.call, held_on=None, place="", present=[], by=secretary)
    assert refused.value.messages == ["Give the date and time of the meeting.",
                                      "Name at least one committee member present."]
    with pytest.raises(TransitionRefused) as refused:
        create_meeting(setting.call, held_on=T0, present=[applicant], by=applicant)
    assert refused.value.messages == ["Only the secretariat creates committee meetings.",
                                      f"Not members of the academic committee: {applicant.display_name}."]
    with pytest.raises(TransitionRefused) as refused:
        create_meeting(CallClassFactory(call__year=2030).call, held_on=T0, present=committee(1, "x"), by=secretary)
    assert refused.value.messages == ["The call has no application review round to decide on yet."]
    assert Meeting.objects.count() == count


def test_one_voting_meeting_per_call(english, meeting, setting, members, secretary):
    with pytest.raises(TransitionRefused) as refused:
        meeting_of(setting, members, secretary)
    assert "is still voting on this call" in refused.value.messages[0]
    assert Meeting.objects.count() == 1


def test_create_meeting_writes_its_log_row(meeting, secretary, members):
    assert meeting.state == "voting"
    assert set(meeting.present.all()) == set(members)
    row = TransitionLog.objects.get(object_id=meeting.pk, transition="create")
    assert (row.to_state, row.actor, row.project) == ("voting", secretary, None)


# ---- staging --------------------------------------------------------------------------------


def test_approve_only_a_recommended_proposal(english, meeting, setting, members, secretary):
    project = setting.shortlisted[0]
    vote_all(meeting, project, members, ["approve"] * 3 + ["reject"] * 2)
    with pytest.raises(TransitionRefused) as refused:
        stage_decision(meeting, project, "approve", by=secretary)
    assert refused.value.messages == [
        f"“{project.title}” ({project.receipt_number}) has 3 approvals of 5 members present; "
        "4 are needed for a recommendation."]
    with pytest.raises(TransitionRefused) as refused:
        stage_decision(meeting, setting.off_list, "approve", by=secretary)
    assert "it can only be declined" in refused.value.messages[0]
    assert not StagedDecision.objects.exists()


def test_approvals_never_exceed_the_class_quota(english, meeting, setting, members, secretary):
    first, second, third = setting.shortlisted[:3]
    recommend(meeting, [first, second, third], members)
    stage_decision(meeting, first, "approve", by=secretary, now=T0)
    stage_decision(meeting, second, "approve", by=secretary, now=T0)
    with pytest.raises(TransitionRefused) as refused:
        stage_decision(meeting, third, "approve", by=secretary, now=T0)
    assert refused.value.messages == [
        "Class A has a quota of 2 approvals and 2 are already staged; decline one of them before approving another."]
    assert list(StagedDecision.objects.order_by("project_id").values_list("project_id", "outcome")) == [
        (first.pk, "approve"), (second.pk, "approve")]
    # Restaging replaces: decline the second, then the third fits.
    stage_decision(meeting, second, "decline", by=secretary, note="名额所限", now=T0)
    stage_decision(meeting, third, "approve", by=secretary, now=T0)
    assert dict(StagedDecision.objects.values_list("project_id", "outcome")) == {
        first.pk: "approve", second.pk: "decline", third.pk: "approve"}
    assert StagedDecision.objects.get(project=second).note == "名额所限"


def test_staging_is_for_the_secretariat_and_reviewed_proposals_of_the_call(english, meeting, setting, members):
    other_call_project = ProjectFactory(state="reviewed")
    with pytest.raises(TransitionRefused) as refused:
        stage_decision(meeting, setting.off_list, "decline", by=members[0])
    assert refused.value.messages == ["Only the secretariat stages decisions."]
    secretary = UserFactory(username="sec2", role=roles.SECRETARIAT)
    with pytest.raises(TransitionRefused) as refused:
        stage_decision(meeting, other_call_project, "decline", by=secretary)
    assert "is not an application of this call" in refused.value.messages[0]
    with pytest.raises(TransitionRefused) as refused:
        stage_decision(meeting, setting.off_list, "postpone", by=secretary)
    assert refused.value.messages == ["Choose approve or decline."]
    assert not StagedDecision.objects.exists()


def test_staging_tells_nobody(meeting, setting, members, secretary, mailoutbox, django_capture_on_commit_callbacks):
    recommend(meeting, setting.shortlisted[:2], members)
    logs = TransitionLog.objects.filter(project__isnull=False).count()
    with django_capture_on_commit_callbacks(execute=True):
        stage_decision(meeting, setting.shortlisted[0], "approve", by=secretary, now=T0)
        stage_decision(meeting, setting.shortlisted[1], "decline", by=secretary, note="名额所限", now=T0)
        decline_others(meeting, by=secretary, now=T0)
        preview_mails(meeting)
    assert mailoutbox == []
    assert not Notification.objects.exists()
    assert TransitionLog.objects.filter(project__isnull=False).count() == logs
    assert set(Project.objects.filter(pk__in=[p.pk for p in setting.ranked]).values_list("state", flat=True)) == {
        "reviewed"}


def test_decline_others_stages_only_the_proposals_off_the_shortlist(meeting, setting, secretary):
    stage_decision(meeting, setting.too_few, "decline", by=secretary, note="已单独处理", now=T0)
    assert decline_others(meeting, by=secretary, note="未入围", now=T0) == 1
    decisions = {d.project_id: (d.outcome, d.note) for d in StagedDecision.objects.all()}
    assert decisions == {setting.too_few.pk: ("decline", "已单独处理"), setting.off_list.pk: ("decline", "未入围")}
    assert decline_others(meeting, by=secretary, now=T0) == 0


# ---- mails and release ----------------------------------------------------------------------


@pytest.fixture
def staged(meeting, setting, members, secretary):
    """Two approvals within the quota, one shortlisted decline with a note, and the others declined."""
    first, second, third = setting.shortlisted[:3]
    recommend(meeting, [first, second, third], members)
    stage_decision(meeting, first, "approve", by=secretary, now=T0)
    stage_decision(meeting, second, "approve", by=secretary, now=T0)
    stage_decision(meeting, third, "decline", by=secretary, note="名额所限，欢迎明年再申报。", now=T0)
    decline_others(meeting, by=secretary, now=T0)
    return meeting


def test_the_preview_is_one_mail_per_applicant_in_their_language(english, staged, setting):
    first = setting.shortlisted[0]
    first.pi.language = "en"
    first.pi.save()
    preview = preview_mails(staged)
    decided = [setting.shortlisted[0], setting.shortlisted[1], setting.shortlisted[2], setting.off_list,
               setting.too_few]
    assert sorted(user.pk for user, _s, _b in preview) == sorted(p.pi_id for p in decided)
    subject, body = next((s, b) for user, s, b in preview if user.pk == first.pi_id)
    assert subject == f"[Keti] Your application is proposed for approval: {first.title}"
    assert "public notice of 7 days" in body and first.receipt_number in body


def test_declined_mails_carry_the_comments_for_the_applicant_and_nothing_confidential(staged, setting):
    third = setting.shortlisted[2]
    mails = {user.pk: (subject, body) for user, subject, body in preview_mails(staged)}
    _subject, body = mails[third.pi_id]
    assert f"专家1: {FOR_APPLICANT}（1）" in body
    assert f"专家3: {FOR_APPLICANT}（3）" in body
    assert "名额所限，欢迎明年再申报。" in body
    approved_body = mails[setting.shortlisted[0].pi_id][1]
    assert FOR_APPLICANT not in approved_body
    for _subject, body in mails.values():
        assert CONFIDENTIAL not in body
        for expert in setting.experts:
            assert expert.user.display_name not in body and expert.user.username not in body


def test_release_tells_each_applicant_exactly_once_and_moves_the_projects(
        staged, setting, secretary, mailoutbox, django_capture_on_commit_callbacks):
    preview = {user.email: (subject, body) for user, subject, body in preview_mails(staged)}
    later = T0 + dt.timedelta(hours=2)
    with django_capture_on_commit_callbacks(execute=True):
        released = release(staged, by=secretary, now=later)
    assert len(released) == 5
    staged.refresh_from_db()
    assert (staged.state, staged.released_at) == ("released", later)
    first, second, third, fourth = setting.shortlisted
    states = dict(Project.objects.values_list("pk", "state"))
    assert [states[p.pk] for p in (first, second)] == ["publicity", "publicity"]
    assert [states[p.pk] for p in (third, setting.off_list, setting.too_few)] == ["not_approved"] * 3
    assert states[fourth.pk] == "reviewed"  # shortlisted, no decision staged: untouched
    for project, step in ((first, "approve"), (third, "decline"), (setting.off_list, "decline")):
        row = TransitionLog.objects.get(project=project, transition=step)
        assert (row.actor, row.at) == (secretary, later)
    assert TransitionLog.objects.get(transition="release", object_id=staged.pk).to_state == "released"
    # Exactly one mail per applicant, the one previewed.
    assert sorted(m.to[0] for m in mailoutbox) == sorted(preview)
    for mail in mailoutbox:
        assert (mail.subject, mail.body) == preview[mail.to[0]]
    assert Notification.objects.count() == 5
    assert set(Notification.objects.values_list("user_id", flat=True)) == {
        p.pi_id for p in (first, second, third, setting.off_list, setting.too_few)}
    assert not StagedDecision.objects.filter(released_at__isnull=True).exists()


def test_a_second_release_refuses(english, staged, secretary, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        release(staged, by=secretary, now=T0)
    sent = len(mailoutbox)
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(TransitionRefused) as refused:
            release(staged, by=secretary, now=T0)
    assert "is not possible while the record is" in refused.value.messages[0]
    assert len(mailoutbox) == sent
    assert Notification.objects.count() == 5


def test_release_refuses_with_nothing_staged(english, meeting, secretary):
    with pytest.raises(TransitionRefused) as refused:
        release(meeting, by=secretary, now=T0)
    assert refused.value.messages == ["No decision is staged for release."]
    meeting.refresh_from_db()
    assert meeting.state == "voting"


def test_only_the_secretariat_releases(english, staged, members):
    with pytest.raises(TransitionRefused) as refused:
        release(staged, by=members[0], now=T0)
    assert refused.value.messages == ["You are not allowed to do “Release the decisions” here."]
    assert Project.objects.filter(state="publicity").count() == 0


def test_a_refused_release_changes_nothing(english, staged, setting, secretary, mailoutbox,
                                           django_capture_on_commit_callbacks):
    third = setting.shortlisted[2]
    perform(third, "decline", by=secretary, now=T0)  # decided outside the meeting meanwhile
    logs = TransitionLog.objects.count()
    notes = Notification.objects.count()
    sent = len(mailoutbox)
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(TransitionRefused) as refused:
            release(staged, by=secretary, now=T0)
    assert refused.value.messages == [
        f"“{third.title}” ({third.receipt_number}): “Decline” is not possible while the record is “Not approved”."]
    staged.refresh_from_db()
    assert (staged.state, staged.released_at) == ("voting", None)
    assert Project.objects.filter(pk__in=[p.pk for p in setting.shortlisted[:2]], state="reviewed").count() == 2
    assert TransitionLog.objects.count() == logs
    assert Notification.objects.count() == notes
    assert len(mailoutbox) == sent
    assert not StagedDecision.objects.filter(released_at__isnull=False).exists()


def test_the_quota_guard_of_the_release(english, staged, setting, secretary):
    """Defence in depth: a quota lowered after staging stops the release."""
    setting.call_class.quota = 1
    setting.call_class.save()
    with pytest.raises(TransitionRefused) as refused:
        release(staged, by=secretary, now=T0)
    assert refused.value.messages == ["Class A: 2 approvals staged, the quota is 1."]
    assert Project.objects.filter(state="publicity").count() == 0


# ---- the quota over several meetings of a call ----------------------------------------------


def _second_meeting(setting, members, secretary):
    """A first meeting approves two (the quota) and releases; a second meeting of the call votes on the rest."""
    first = meeting_of(setting, members, secretary)
    recommend(first, setting.shortlisted[:2], members)
    for project in setting.shortlisted[:2]:
        stage_decision(first, project, "approve", by=secretary, now=T0)
    release(first, by=secretary, now=T0)
    second = create_meeting(setting.call, held_on=T0 + dt.timedelta(days=1), present=members, by=secretary)
    recommend(second, setting.shortlisted[2:4], members)
    return second


def test_a_second_meeting_cannot_approve_beyond_the_quota(english, db, secretary):
    setting = Setting(quota=2)
    members = committee(3)
    second = _second_meeting(setting, members, secretary)
    with pytest.raises(TransitionRefused) as refused:
        stage_decision(second, setting.shortlisted[2], "approve", by=secretary, now=T0)
    assert refused.value.messages == [
        "Class A has a quota of 2 approvals; 2 were released by earlier meetings and 0 are staged here, "
        "so no further approval is possible."]
    assert not StagedDecision.objects.filter(meeting=second).exists()
    stage_decision(second, setting.shortlisted[2], "decline", by=secretary, now=T0)  # declining is always possible
    assert Project.objects.filter(call_class=setting.call_class, state="publicity").count() == 2


def test_a_dropped_approval_frees_its_place_for_a_second_meeting(db, secretary):
    setting = Setting(quota=2)
    members = committee(3)
    second = _second_meeting(setting, members, secretary)
    perform(setting.shortlisted[0], "drop", by=secretary, reason="异议成立：成果存在署名争议。", now=T0)
    stage_decision(second, setting.shortlisted[2], "approve", by=secretary, now=T0)
    release(second, by=secretary, now=T0 + dt.timedelta(days=1))
    assert Project.objects.filter(call_class=setting.call_class, state="publicity").count() == 2


def test_the_release_guard_counts_earlier_meetings(english, db, secretary):
    setting = Setting(quota=3)
    members = committee(3)
    second = _second_meeting(setting, members, secretary)
    stage_decision(second, setting.shortlisted[2], "approve", by=secretary, now=T0)
    setting.call_class.quota = 2  # lowered after staging: the release stops
    setting.call_class.save()
    with pytest.raises(TransitionRefused) as refused:
        release(second, by=secretary, now=T0)
    assert refused.value.messages == [
        "Class A: 1 approvals staged and 2 released by earlier meetings, the quota is 2."]
    assert Project.objects.filter(call_class=setting.call_class, state="publicity").count() == 2


# ---- standing aside (回避) ---------------------------------------------------------------------


def test_the_pi_a_team_member_and_the_pi_s_unit_stand_aside(english, db, secretary):
    from tests.factories import InstitutionFactory, MemberFactory

    setting = Setting()
    members = committee(5)
    own = setting.shortlisted[0]
    Project.objects.filter(pk=own.pk).update(pi=members[0])
    MemberFactory(project=own, name=members[1].real_name or "成员", user=members[1])
    unit = InstitutionFactory(name="江苏开放大学")
    Project.objects.filter(pk=own.pk).update(institution=unit)
    members[2].institution = unit
    members[2].save()
    own.refresh_from_db()
    meeting = meeting_of(setting, members, secretary)
    for member, reason in ((members[0], "You are the PI of"), (members[1], "You are a member of the team of"),
                           (members[2], "You belong to the unit of the PI of")):
        with pytest.raises(TransitionRefused) as refused:
            cast_vote(meeting, own, member, "approve", now=T0)
        [message] = refused.value.messages
        assert message.startswith(reason) and "stand aside (回避)" in message
    assert not Vote.objects.exists()
    cast_vote(meeting, setting.shortlisted[1], members[0], "approve", now=T0)  # other proposals: they vote

    # The base of that proposal is the 2 members who may vote: both approving recommend it.
    vote_all(meeting, own, members[3:], ["approve", "approve"])
    count = tally_of(meeting, own)
    assert (count.present, count.recused, count.needed, count.approve, count.recommended) == (2, 3, 2, 2, True)
    other = tally_of(meeting, setting.shortlisted[1])
    assert (other.present, other.recused, other.needed) == (5, 0, 4)
