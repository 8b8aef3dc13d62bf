"""Reminders (催评): the two schedules day by day, one mail a day, lateness flags, extensions, timeliness."""

import datetime as dt
import smtplib

import pytest
from django.conf import settings
from django.core.mail.backends import locmem
from django.test import TestCase

from projects.services import TransitionRefused
from reviews import reminders
from reviews.models import AssignmentStatus, Reminder, ReminderKind
from reviews.reminders import LOCAL_TZ
from tests.factories import UserFactory
from tests.reviews.factories import AssignmentFactory, ExpertProfileFactory, ReviewFactory, ReviewRoundFactory

pytestmark = pytest.mark.django_db


def local(month, day, hour=9, minute=0, year=2023):
    """An aware moment on the Asia/Shanghai clock (the beat runs at 09:00)."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=LOCAL_TZ)


def send_reminders(now):
    """The beat's run: its own transaction, so the mails leave after its commit (accounts.inbox)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return reminders.send_reminders(now=now)


def flag_unanswered(now):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return reminders.flag_unanswered(now=now)


def days(start, end):
    """Every day from ``start`` to ``end`` (inclusive) at 09:00 local."""
    moment = start
    while moment <= end:
        yield moment
        moment += dt.timedelta(days=1)


def run_daily(start, end):
    """Run the reminders each morning; {(month, day): mails sent} of the days that sent any."""
    sent = {}
    for now in days(start, end):
        count = send_reminders(now=now)
        if count:
            sent[(now.month, now.day)] = count
    return sent


def kinds_by_day(expert):
    return {(r.day.month, r.day.day): r.kind for r in Reminder.objects.filter(expert=expert)}


@pytest.fixture
def june_round(db):
    """An open round whose reviews are due on 30 June 2023 at 23:59 local."""
    return ReviewRoundFactory(state="open", deadline=local(6, 30, 23, 59), answer_within_days=3)


@pytest.fixture
def invited(june_round):
    """An invitation sent on 10 June at 10:00 that the expert never answers."""
    return AssignmentFactory(round=june_round, invited_at=local(6, 10, 10))


# ---- the schedules, day by day ---------------------------------------------------------------


def test_unanswered_invitation_then_due_then_overdue_every_two_days(invited, mailoutbox):
    sent = run_daily(local(6, 10), local(7, 8))

    assert sent == {(6, 11): 1, (6, 27): 1, (6, 29): 1, (7, 1): 1, (7, 3): 1, (7, 5): 1, (7, 7): 1}
    assert kinds_by_day(invited.expert) == {
        (6, 11): ReminderKind.INVITATION,
        (6, 27): ReminderKind.REVIEW_DUE,
        (6, 29): ReminderKind.REVIEW_DUE,
        (7, 1): ReminderKind.REVIEW_OVERDUE,
        (7, 3): ReminderKind.REVIEW_OVERDUE,
        (7, 5): ReminderKind.REVIEW_OVERDUE,
        (7, 7): ReminderKind.REVIEW_OVERDUE,
    }
    assert len(mailoutbox) == 7
    assert {tuple(m.to) for m in mailoutbox} == {(invited.expert.user.email,)}


def test_accepted_review_gets_no_invitation_reminder(invited):
    invited.status = AssignmentStatus.ACCEPTED
    invited.responded_at = local(6, 10, 12)
    invited.save()

    sent = run_daily(local(6, 10), local(7, 2))

    assert sent == {(6, 27): 1, (6, 29): 1, (7, 1): 1}


def test_schedule_follows_the_rules_in_settings(invited, settings):
    settings.KETI_RULES = {**settings.KETI_RULES, "REMIND_INVITATION_AFTER_DAYS": 2,
                           "REMIND_REVIEW_DAYS_BEFORE": [5], "REMIND_OVERDUE_EVERY_DAYS": 3}

    sent = run_daily(local(6, 10), local(7, 8))

    assert set(sent) == {(6, 12), (6, 25), (7, 1), (7, 4), (7, 7)}


def test_a_call_class_may_override_the_schedule(invited):
    call_class = invited.round.call_class
    call_class.rules = {"REMIND_REVIEW_DAYS_BEFORE": [2]}
    call_class.save()

    sent = run_daily(local(6, 10), local(6, 30))

    assert set(sent) == {(6, 11), (6, 28)}


def test_invited_two_days_before_the_deadline_is_not_reminded_of_the_past_days(june_round):
    late_invite = AssignmentFactory(round=june_round, invited_at=local(6, 28, 15))

    sent = run_daily(local(6, 28), local(6, 30))

    # Day −3 (27 June) was before the invitation; −1 and the invitation reminder fall on 29 June.
    assert sent == {(6, 29): 1}
    assert kinds_by_day(late_invite.expert) == {(6, 29): ReminderKind.REVIEW_DUE}


def test_a_missed_day_is_caught_up_the_next_morning(invited):
    invited.status = AssignmentStatus.ACCEPTED
    invited.save()
    assert send_reminders(now=local(6, 26)) == 0
    # The beat did not run on 27 June (day −3): the reminder goes out on the 28th instead.
    assert send_reminders(now=local(6, 28)) == 1
    assert send_reminders(now=local(6, 29)) == 1  # day −1 as usual


def test_a_due_reminder_caught_up_after_the_deadline_says_overdue(db):
    early = ReviewRoundFactory(state="open", deadline=local(6, 30, 0, 30))
    assignment = AssignmentFactory(round=early, invited_at=local(6, 1), status=AssignmentStatus.ACCEPTED)
    assert send_reminders(now=local(6, 27)) == 1
    # No run on 29 June (day −1); on the 30th at 09:00 the deadline passed at 00:30.
    assert send_reminders(now=local(6, 30)) == 1
    assert kinds_by_day(assignment.expert)[(6, 30)] == ReminderKind.REVIEW_OVERDUE


# ---- one mail a day, idempotent ---------------------------------------------------------------


def test_one_mail_a_day_lists_every_due_item_of_every_round(june_round, mailoutbox):
    expert = ExpertProfileFactory()
    first = AssignmentFactory(round=june_round, expert=expert, invited_at=local(6, 10, 10))
    second = AssignmentFactory(round=june_round, expert=expert, invited_at=local(6, 10, 10))
    other_round = ReviewRoundFactory(state="open", name="2023年度B类立项评审", deadline=local(6, 30, 20))
    third = AssignmentFactory(round=other_round, expert=expert, invited_at=local(6, 10, 10),
                              status=AssignmentStatus.ACCEPTED)
    someone_else = AssignmentFactory(round=june_round, invited_at=local(6, 10, 10))

    assert send_reminders(now=local(6, 27)) == 2

    assert sorted(tuple(m.to) for m in mailoutbox) == sorted([(expert.user.email,), (someone_else.expert.user.email,)])
    reminder = Reminder.objects.get(expert=expert)
    assert set(reminder.assignments.all()) == {first, second, third}
    body = next(m.body for m in mailoutbox if m.to == [expert.user.email])
    assert june_round.name in body and other_round.name in body
    assert "2023-06-30 23:59" in body and "2023-06-30 20:00" in body
    assert "/review/" in body


def test_running_twice_the_same_day_sends_nothing_more(invited, mailoutbox):
    assert send_reminders(now=local(6, 27, 9)) == 1
    assert send_reminders(now=local(6, 27, 9, 1)) == 0
    assert send_reminders(now=local(6, 27, 21)) == 0
    assert len(mailoutbox) == 1
    assert Reminder.objects.count() == 1


def test_a_second_worker_finds_the_days_row_and_sends_nothing(invited, mailoutbox):
    """Two workers at once: the one that loses the (expert, day) race sends no mail."""
    items = reminders.due_by_expert(local(6, 27))[invited.expert]
    Reminder.objects.create(expert=invited.expert, kind=ReminderKind.REVIEW_DUE, day=dt.date(2023, 6, 27),
                            sent_at=local(6, 27, 9))  # the other worker, a moment earlier

    assert reminders.send_one(invited.expert, items, local(6, 27)) is False
    assert mailoutbox == []
    assert Reminder.objects.count() == 1


def test_an_item_due_after_the_days_mail_waits_for_tomorrow(june_round, mailoutbox):
    expert = ExpertProfileFactory()
    AssignmentFactory(round=june_round, expert=expert, invited_at=local(6, 10, 10))
    assert send_reminders(now=local(6, 27)) == 1
    # Later that day another round's review, due on 30 June too, is in its reminder window.
    other_round = ReviewRoundFactory(state="open", deadline=local(6, 30, 23, 59))
    late = AssignmentFactory(round=other_round, expert=expert, invited_at=local(6, 26, 10),
                             status=AssignmentStatus.ACCEPTED)

    assert send_reminders(now=local(6, 27, 15)) == 0
    assert send_reminders(now=local(6, 28)) == 1
    assert list(Reminder.objects.get(expert=expert, day=dt.date(2023, 6, 28)).assignments.all()) == [late]


def test_the_mail_names_no_applicant(invited, mailoutbox):
    project = invited.project
    send_reminders(now=local(6, 27))

    (mail,) = mailoutbox
    text = mail.subject + mail.body
    for secret in (project.title, project.pi.real_name, project.institution.name, f"/{project.pk}/"):
        assert secret not in text
    for number in (project.receipt_number, project.number):
        assert not number or number not in text


def test_the_kind_is_the_most_urgent_item(june_round):
    expert = ExpertProfileFactory()
    AssignmentFactory(round=june_round, expert=expert, invited_at=local(7, 1, 10))  # invitation only
    earlier = ReviewRoundFactory(state="open", deadline=local(6, 20, 23, 59))
    AssignmentFactory(round=earlier, expert=expert, invited_at=local(6, 1), status=AssignmentStatus.ACCEPTED)

    assert send_reminders(now=local(7, 2)) == 1
    assert Reminder.objects.get(expert=expert).kind == ReminderKind.REVIEW_OVERDUE


# ---- nothing owed, nothing sent ----------------------------------------------------------------


def test_no_reminder_after_submission(invited, mailoutbox):
    assert run_daily(local(6, 10), local(6, 27)) == {(6, 11): 1, (6, 27): 1}
    ReviewFactory(assignment=invited, submitted_at=local(6, 27, 15))
    assert run_daily(local(6, 28), local(7, 8)) == {}


def test_a_draft_review_is_still_reminded(invited):
    invited.status = AssignmentStatus.ACCEPTED
    invited.save()
    ReviewFactory(assignment=invited, state="draft", submitted_at=None)
    assert send_reminders(now=local(6, 29)) == 1


@pytest.mark.parametrize("status", [AssignmentStatus.DECLINED, AssignmentStatus.REMOVED, AssignmentStatus.PROPOSED])
def test_no_reminder_for_an_assignment_no_longer_held(invited, status, mailoutbox):
    invited.status = status
    invited.save()
    assert run_daily(local(6, 10), local(7, 5)) == {}
    assert mailoutbox == []


@pytest.mark.parametrize("state", ["draft", "closed"])
def test_no_reminder_outside_an_open_round(state, mailoutbox):
    round_ = ReviewRoundFactory(state=state, deadline=local(6, 30, 23, 59))
    AssignmentFactory(round=round_, invited_at=local(6, 10, 10))
    assert run_daily(local(6, 10), local(7, 5)) == {}


def test_an_expert_without_address_is_skipped_and_not_recorded(invited):
    invited.expert.user.email = ""
    invited.expert.user.save()
    assert send_reminders(now=local(6, 27)) == 0
    assert Reminder.objects.count() == 0


# ---- extending a deadline ------------------------------------------------------------------------


def test_extended_deadline_moves_the_reminders(invited, secretary, mailoutbox, django_capture_on_commit_callbacks):
    invited.status = AssignmentStatus.ACCEPTED
    invited.save()
    with django_capture_on_commit_callbacks(execute=True):  # the mail leaves after the commit
        reminders.extend_deadline(invited, local(7, 10, 23, 59), by=secretary, now=local(6, 20))
    invited.refresh_from_db()
    assert invited.deadline == local(7, 10, 23, 59)
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [invited.expert.user.email]
    assert "2023-07-10 23:59" in mailoutbox[0].body
    assert invited.project.pi.real_name not in mailoutbox[0].body

    sent = run_daily(local(6, 20), local(7, 14))

    assert set(sent) == {(7, 7), (7, 9), (7, 11), (7, 13)}


def test_extension_after_overdue_stops_the_overdue_reminders(invited, secretary):
    assert send_reminders(now=local(7, 1)) == 1
    reminders.extend_deadline(invited, local(7, 6, 18), by=secretary, now=local(7, 1, 11))

    assert set(run_daily(local(7, 2), local(7, 8))) == {(7, 3), (7, 5), (7, 7)}
    assert kinds_by_day(invited.expert)[(7, 3)] == ReminderKind.REVIEW_DUE
    assert kinds_by_day(invited.expert)[(7, 7)] == ReminderKind.REVIEW_OVERDUE


def refusal(call):
    with pytest.raises(TransitionRefused) as caught:
        call()
    return caught.value.messages


def test_extend_deadline_refusals(english, invited, secretary, applicant, mailoutbox):
    now = local(6, 20)
    assert refusal(lambda: reminders.extend_deadline(invited, local(7, 5), by=applicant, now=now)) == [
        "Only the secretariat may extend a deadline."]
    assert refusal(lambda: reminders.extend_deadline(invited, local(6, 25), by=secretary, now=now)) == [
        "The new deadline must be later than the current one (2023-06-30 23:59)."]
    assert refusal(lambda: reminders.extend_deadline(invited, local(7, 2), by=secretary, now=local(7, 3))) == [
        "The new deadline must be in the future."]
    assert refusal(lambda: reminders.extend_deadline(invited, local(6, 1), by=secretary, now=now)) == [
        "The new deadline must be later than the current one (2023-06-30 23:59).",
        "The new deadline must be in the future.",
    ]
    invited.refresh_from_db()
    assert invited.deadline is None and mailoutbox == []


def test_extend_deadline_refused_when_past_and_earlier_together(english, invited, secretary):
    messages = refusal(lambda: reminders.extend_deadline(invited, local(6, 25), by=secretary, now=local(6, 26)))
    assert messages == ["The new deadline must be later than the current one (2023-06-30 23:59).",
                        "The new deadline must be in the future."]


def test_extend_deadline_refused_for_a_submitted_review_or_a_lost_assignment(english, invited, secretary):
    ReviewFactory(assignment=invited, submitted_at=local(6, 20))
    assert refusal(lambda: reminders.extend_deadline(invited, local(7, 5), by=secretary, now=local(6, 21))) == [
        "The review has already been submitted."]

    removed = AssignmentFactory(round=invited.round, invited_at=local(6, 10), status=AssignmentStatus.REMOVED)
    assert refusal(lambda: reminders.extend_deadline(removed, local(7, 5), by=secretary, now=local(6, 21))) == [
        "The expert no longer holds this assignment."]


def test_extend_deadline_refused_in_a_closed_round(english, secretary):
    closed = AssignmentFactory(round=ReviewRoundFactory(state="closed", deadline=local(6, 30)),
                               invited_at=local(6, 10))
    assert refusal(lambda: reminders.extend_deadline(closed, local(7, 5), by=secretary, now=local(6, 21))) == [
        "The review round is not open."]


def test_a_second_extension_must_be_later_than_the_first(english, invited, secretary):
    reminders.extend_deadline(invited, local(7, 10), by=secretary, now=local(6, 20))
    assert refusal(lambda: reminders.extend_deadline(invited, local(7, 5), by=secretary, now=local(6, 21))) == [
        "The new deadline must be later than the current one (2023-07-10 09:00)."]


# ---- unanswered invitations flagged to the secretariat ----------------------------------------------


def test_unanswered_invitations_after_the_days_to_answer(invited):
    answered = AssignmentFactory(round=invited.round, invited_at=local(6, 10, 10),
                                 status=AssignmentStatus.ACCEPTED, responded_at=local(6, 11))
    assert answered
    assert reminders.unanswered_invitations(invited.round, now=local(6, 13, 9, 59)) == []

    (item,) = reminders.unanswered_invitations(invited.round, now=local(6, 13, 10))

    assert item.assignment == invited
    assert item.limit == local(6, 13, 10)


def test_the_rounds_own_days_to_answer_count(invited):
    invited.round.answer_within_days = 5
    invited.round.save()
    assert reminders.unanswered_invitations(invited.round, now=local(6, 14)) == []
    assert len(reminders.unanswered_invitations(invited.round, now=local(6, 15, 10))) == 1


def test_flag_unanswered_mails_the_secretariat_once(invited, secretary, mailoutbox):
    assert flag_unanswered(now=local(6, 13, 9, 30)) == 0
    assert flag_unanswered(now=local(6, 14, 9, 30)) == 1

    (mail,) = mailoutbox
    assert mail.to == [secretary.email]
    assert invited.expert.user.real_name in mail.body
    assert f"/secretariat/rounds/{invited.round.pk}/late/" in mail.body

    assert flag_unanswered(now=local(6, 15, 9, 30)) == 0
    assert len(mailoutbox) == 1


def test_flag_unanswered_ignores_answered_and_closed(invited, secretary, mailoutbox):
    invited.status = AssignmentStatus.ACCEPTED
    invited.save()
    closed = ReviewRoundFactory(state="closed", deadline=local(6, 30))
    AssignmentFactory(round=closed, invited_at=local(6, 10, 10))
    assert flag_unanswered(now=local(6, 14, 9, 30)) == 0
    assert mailoutbox == []


# ---- timeliness ------------------------------------------------------------------------------------


def test_timeliness_on_a_constructed_history():
    expert = ExpertProfileFactory()
    spring = ReviewRoundFactory(state="closed", deadline=local(4, 30, 23, 59))
    summer = ReviewRoundFactory(state="open", deadline=local(6, 30, 23, 59))
    # Spring: accepted after 1 day, submitted 2 days early; declined after 3 days.
    on_time = AssignmentFactory(round=spring, expert=expert, status=AssignmentStatus.ACCEPTED,
                                invited_at=local(4, 1), responded_at=local(4, 2))
    ReviewFactory(assignment=on_time, submitted_at=local(4, 28, 23, 59))
    AssignmentFactory(round=spring, expert=expert, status=AssignmentStatus.DECLINED,
                      invited_at=local(4, 1), responded_at=local(4, 4))
    # Summer: accepted after 2 days, submitted one day after an extended deadline.
    late = AssignmentFactory(round=summer, expert=expert, status=AssignmentStatus.ACCEPTED,
                             invited_at=local(6, 1), responded_at=local(6, 3), deadline=local(7, 5, 23, 59))
    ReviewFactory(assignment=late, submitted_at=local(7, 6, 23, 59))
    # Never answered and removed; a fresh invitation still within its days; a draft not counted.
    AssignmentFactory(round=summer, expert=expert, status=AssignmentStatus.REMOVED, invited_at=local(6, 1))
    AssignmentFactory(round=summer, expert=expert, invited_at=local(7, 6))
    AssignmentFactory(round=summer, expert=expert, status=AssignmentStatus.PROPOSED, invited_at=None)
    AssignmentFactory(round=summer, invited_at=local(6, 1))  # someone else's

    record = reminders.timeliness(expert, now=local(7, 7))

    assert {k: v for k, v in record.items() if k != "rounds"} == {
        "invitations": 5, "accepted": 2, "declined": 1, "unanswered": 1, "submitted": 2,
        "on_time": 1, "late": 1, "average_days_to_answer": 2.0, "average_days_before_deadline": 0.5,
    }
    by_round = {row["round"]: row for row in record["rounds"]}
    assert by_round[spring]["on_time"] == 1 and by_round[spring]["declined"] == 1
    assert by_round[summer]["late"] == 1 and by_round[summer]["unanswered"] == 1


def test_timeliness_of_a_newcomer():
    record = reminders.timeliness(ExpertProfileFactory(), now=local(7, 7))
    assert record["invitations"] == 0
    assert record["average_days_to_answer"] is None and record["average_days_before_deadline"] is None
    assert record["rounds"] == []


# ---- the beat ---------------------------------------------------------------------------------------


def test_the_beat_schedule_names_registered_tasks():
    from importlib import import_module

    from config.celery import app

    import_module("reviews.tasks")  # what autodiscovery imports in the worker and the beat

    schedule = settings.CELERY_BEAT_SCHEDULE
    names = {entry["task"] for entry in schedule.values()}
    assert {"reviews.tasks_reminders.send_review_reminders",
            "reviews.tasks_reminders.flag_unanswered_invitations"} <= names
    for name in names:
        assert name in app.tasks
    times = {entry["task"].rsplit(".", 1)[1]: entry["schedule"] for entry in schedule.values()}
    assert times["send_review_reminders"].hour == {9} and times["send_review_reminders"].minute == {0}
    assert times["flag_unanswered_invitations"].hour == {9} and times["flag_unanswered_invitations"].minute == {30}
    assert settings.CELERY_TIMEZONE == "Asia/Shanghai"


def test_the_tasks_run_eagerly(db, mailoutbox):
    from reviews.tasks_reminders import flag_unanswered_invitations, send_review_reminders

    assert send_review_reminders.delay().get() == 0
    assert flag_unanswered_invitations.delay().get() == 0


def test_the_secretariat_is_found_by_role(secretary):
    UserFactory(username="bystander")
    assert list(reminders.secretariat_users()) == [secretary]


# ---- the proposed replacement ----------------------------------------------------------------------


@pytest.fixture
def candidates(invited):
    """Two more experts who match the proposal: a colleague of the PI (conflicted) and an outsider."""
    from reviews.conflicts import refresh_conflicts
    from tests.factories import InstitutionFactory

    project = invited.project
    colleague = ExpertProfileFactory(user__institution=project.institution, disciplines=[project.discipline],
                                     keywords=list(project.keywords), profile_text=project.title)
    outsider = ExpertProfileFactory(user__institution=InstitutionFactory(name="第99社区学院"),
                                    disciplines=[project.discipline], keywords=list(project.keywords)[:1])
    refresh_conflicts(now=local(6, 10))
    from reviews.conflicts import blocking_pairs

    assert (project.pk, colleague.pk) in blocking_pairs() and (project.pk, outsider.pk) not in blocking_pairs()
    return colleague, outsider


def test_flagged_invitation_comes_with_a_replacement_never_conflicted(invited, candidates, secretary, mailoutbox):
    colleague, outsider = candidates

    (item,) = reminders.unanswered_invitations(invited.round, now=local(6, 14))

    assert item.replacement == outsider
    assert flag_unanswered(now=local(6, 14, 9, 30)) == 1
    assert outsider.user.real_name in mailoutbox[0].body
    assert colleague.user.real_name not in mailoutbox[0].body


def test_replace_unanswered_removes_the_late_expert_and_invites_the_proposed_one(invited, candidates, secretary):
    colleague, outsider = candidates

    new = reminders.replace_unanswered(invited, by=secretary, now=local(6, 14, 10))

    invited.refresh_from_db()
    assert invited.status == AssignmentStatus.REMOVED and invited.removed_at == local(6, 14, 10)
    assert new.expert == outsider and new.status == AssignmentStatus.INVITED and new.replaces == invited
    assert new.invited_at == local(6, 14, 10)


def test_replace_unanswered_refusals(english, invited, candidates, secretary, applicant):
    assert refusal(lambda: reminders.replace_unanswered(invited, by=applicant, now=local(6, 14))) == [
        "Only the secretariat may replace an expert."]
    assert refusal(lambda: reminders.replace_unanswered(invited, by=secretary, now=local(6, 12))) == [
        "The expert still has until 2023-06-13 10:00 to answer."]
    invited.status = AssignmentStatus.ACCEPTED
    invited.save()
    assert refusal(lambda: reminders.replace_unanswered(invited, by=secretary, now=local(6, 14))) == [
        "The invitation has been answered or withdrawn in the meantime."]


def test_replace_unanswered_without_anyone_available_changes_nothing(english, invited, secretary):
    assert refusal(lambda: reminders.replace_unanswered(invited, by=secretary, now=local(6, 14))) == [
        "No expert is available to replace them; the invitation is kept."]
    invited.refresh_from_db()
    assert invited.status == AssignmentStatus.INVITED


# ---- a refused mail, and the extension mail after the commit ------------------------------------------


class RefusingBackend(locmem.EmailBackend):
    """The mail server refuses one address (an SMTP error), takes the others."""

    def send_messages(self, messages):
        if any("refused" in address for message in messages for address in message.to):
            raise smtplib.SMTPRecipientsRefused({"refused@example.org": (550, b"no such user")})
        return super().send_messages(messages)


def test_a_refused_mail_is_logged_and_the_others_still_go(june_round, settings, mailoutbox, caplog):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    refused = AssignmentFactory(round=june_round, invited_at=local(6, 10, 10),
                                expert__user__email="refused@example.org")
    fine = AssignmentFactory(round=june_round, invited_at=local(6, 10, 10))

    assert send_reminders(now=local(6, 13)) == 2

    assert [m.to for m in mailoutbox] == [[fine.expert.user.email]]
    # The mail leaves after the commit: the refusal is logged, the reminder stays in the inbox.
    assert Reminder.objects.filter(expert=refused.expert).exists()
    assert refused.expert.user.notifications.count() == 1
    assert "could not be mailed" in caplog.text


def test_the_extension_mail_leaves_only_after_the_commit(invited, secretary, mailoutbox,
                                                         django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        reminders.extend_deadline(invited, local(7, 10, 23, 59), by=secretary, now=local(6, 20))
    assert mailoutbox == [] and len(callbacks) == 1
