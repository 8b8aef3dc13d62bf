"""Regression tests of the review audit: a conflict found after the assignment (B1, B2), undoing
a run after hand edits (M1), removing and replacing in one step, and the links of the round page."""

import pytest
from django.urls import reverse

from projects.services import TransitionRefused, perform
from reviews import aggregation, rounds
from reviews.access import assignments_of
from reviews.conflicts import blocking_pairs, decide_conflict, refresh_conflicts
from reviews.models import Assignment, AssignmentSource, AssignmentStatus, Conflict, ConflictStatus, ExpertProfile
from tests.factories import MemberFactory
from tests.reviews import test_rounds as base
from tests.reviews.factories import AssignmentFactory, ReviewFactory, SignatureFactory

pytestmark = pytest.mark.django_db

# The round of test_rounds: four proposals, ten experts (two colleagues, one of the PIs' unit), k=3, m=2.
call_class, pool, proposals, round_ = base.call_class, base.pool, base.proposals, base.round_
NOW, current_pairs = base.NOW, base.current_pairs


def first_current(round_):
    return (round_.assignments.filter(status__in=rounds.CURRENT)
            .select_related("expert__user", "expert__institution", "project").order_by("pk").first())


def colleague_on_the_team(assignment):
    """A team member from the expert's unit: a certain conflict (same unit). The signal's check
    runs after the commit, which a test never reaches: the conflict is not found yet."""
    MemberFactory(project=assignment.project, name="新成员", unit=assignment.expert.unit_label)


def two_experts_of(round_):
    """Two current experts of one proposal."""
    a = first_current(round_)
    b = round_.assignments.filter(status__in=rounds.CURRENT, project=a.project).exclude(pk=a.pk).first()
    return a, b


def same_unit(a, b):
    """Make the expert of ``b`` a colleague of the expert of ``a`` (a unit with no team member)."""
    ExpertProfile.objects.filter(pk=b.expert_id).update(institution=a.expert.institution)


# ---- B1: undo and opening never assign a conflicted pair --------------------------------------------


@pytest.mark.rolled_back
def test_undo_refuses_to_bring_back_a_pair_now_in_conflict(english, round_, secretary):
    rounds.run_assignment(round_, by=secretary, now=NOW)
    second = rounds.run_assignment(round_, by=secretary, now=NOW)
    a = first_current(round_)
    before = current_pairs(round_)
    colleague_on_the_team(a)

    with pytest.raises(TransitionRefused) as refused:
        rounds.undo_run(second, by=secretary, now=NOW)

    text = " ".join(refused.value.messages)
    assert "cannot be undone" in text
    assert str(a.expert) in text and rounds.proposal_label(a.project) in text
    assert f"Same unit: {a.expert.unit_label}." in text
    assert current_pairs(round_) == before
    second.refresh_from_db()
    assert second.undone_at is None


def test_undo_refuses_two_experts_of_one_unit_on_a_proposal(english, round_, secretary):
    rounds.run_assignment(round_, by=secretary, now=NOW)
    second = rounds.run_assignment(round_, by=secretary, now=NOW)
    a, b = two_experts_of(round_)
    same_unit(a, b)

    with pytest.raises(TransitionRefused) as refused:
        rounds.undo_run(second, by=secretary, now=NOW)

    assert "experts of the same unit" in " ".join(refused.value.messages)


def test_opening_never_invites_a_pair_found_in_conflict(round_, secretary):
    rounds.run_assignment(round_, by=secretary, now=NOW)
    a = first_current(round_)
    colleague_on_the_team(a)

    rounds.open_round(round_, by=secretary, now=NOW)  # checks the conflicts first: the pair is replaced

    a.refresh_from_db()
    assert a.status == AssignmentStatus.REMOVED
    assert (a.project_id, a.expert_id) not in current_pairs(round_)
    assert not current_pairs(round_) & blocking_pairs()
    replacement = round_.assignments.get(replaces=a)
    assert replacement.status == AssignmentStatus.INVITED and replacement.source == AssignmentSource.REPLACEMENT


def test_the_open_guard_refuses_a_conflicted_current_pair(english, round_, secretary):
    rounds.run_assignment(round_, by=secretary, now=NOW)
    a = first_current(round_)
    Conflict.objects.create(project=a.project, expert=a.expert, reason="declared", detail="proposal:other|x",
                            status=ConflictStatus.CONFIRMED, decided_by=secretary, decided_at=NOW,
                            decision_reason="由秘书处确认")

    with pytest.raises(TransitionRefused) as refused:
        perform(round_, "open_round", by=secretary, now=NOW)

    text = " ".join(refused.value.messages)
    assert f"{a.expert} may not review {rounds.proposal_label(a.project)}" in text
    assert "Declared by the expert" in text
    round_.refresh_from_db()
    assert round_.state == "draft"


def test_the_open_guard_refuses_two_experts_of_one_unit(english, round_, secretary):
    rounds.run_assignment(round_, by=secretary, now=NOW)
    a, b = two_experts_of(round_)
    same_unit(a, b)

    with pytest.raises(TransitionRefused) as refused:
        rounds.open_round(round_, by=secretary, now=NOW)

    assert f"{rounds.proposal_label(a.project)} has two experts of the same unit" in " ".join(refused.value.messages)
    assert not round_.assignments.filter(status=AssignmentStatus.INVITED).exists()


# ---- B2: a conflict found after the invitation takes the expert off ------------------------------------


@pytest.mark.rolled_back
def test_a_conflict_found_after_the_invitation_removes_and_replaces_the_expert(
    round_, secretary, mailoutbox, django_capture_on_commit_callbacks
):
    rounds.run_assignment(round_, by=secretary, now=NOW)
    rounds.open_round(round_, by=secretary, now=NOW)
    a = first_current(round_)
    review = ReviewFactory(assignment=a)  # even a submitted review
    colleague_on_the_team(a)

    with django_capture_on_commit_callbacks(execute=True):
        refresh_conflicts(projects=[a.project], now=NOW)

    a.refresh_from_db()
    assert a.status == AssignmentStatus.REMOVED and a.removed_at == NOW
    replacement = round_.assignments.get(replaces=a)
    assert replacement.status == AssignmentStatus.INVITED and replacement.invited_at == NOW
    assert (replacement.project_id, replacement.expert_id) not in blocking_pairs()
    assert [m.to for m in mailoutbox] == [[replacement.expert.user.email]]
    assert review.pk not in {r.pk for r in aggregation.counted_reviews([round_])}
    assert not assignments_of(a.expert.user).filter(pk=a.pk).exists()


def test_confirming_a_possible_conflict_removes_and_replaces_the_expert(round_, secretary):
    rounds.run_assignment(round_, by=secretary, now=NOW)
    rounds.open_round(round_, by=secretary, now=NOW)
    a = first_current(round_)
    conflict = Conflict.objects.create(project=a.project, expert=a.expert, reason="team",
                                       detail="namesake:某人|", status=ConflictStatus.POTENTIAL)

    decide_conflict(conflict, by=secretary, confirm=True, reason="同一人", now=NOW)

    a.refresh_from_db()
    assert a.status == AssignmentStatus.REMOVED and a.removed_at == NOW
    assert round_.assignments.filter(replaces=a, status=AssignmentStatus.INVITED).exists()


def test_dismissing_a_possible_conflict_keeps_the_expert(round_, secretary):
    rounds.run_assignment(round_, by=secretary, now=NOW)
    rounds.open_round(round_, by=secretary, now=NOW)
    a = first_current(round_)
    conflict = Conflict.objects.create(project=a.project, expert=a.expert, reason="team",
                                       detail="namesake:某人|", status=ConflictStatus.POTENTIAL)

    decide_conflict(conflict, by=secretary, confirm=False, reason="不是同一人", now=NOW)

    a.refresh_from_db()
    assert a.status == AssignmentStatus.INVITED


def test_an_inactive_expert_holding_an_assignment_is_still_checked(round_, secretary):
    rounds.run_assignment(round_, by=secretary, now=NOW)
    rounds.open_round(round_, by=secretary, now=NOW)
    a = first_current(round_)
    ExpertProfile.objects.filter(pk=a.expert_id).update(active=False)
    colleague_on_the_team(a)

    refresh_conflicts(now=NOW)  # every current proposal, every expert that matters

    assert (a.project_id, a.expert_id) in blocking_pairs()
    a.refresh_from_db()
    assert a.status == AssignmentStatus.REMOVED


def test_a_pair_in_conflict_is_closed_to_the_expert_even_before_it_is_removed(client):
    a = AssignmentFactory()
    SignatureFactory(expert=a.expert, round=a.round)
    client.force_login(a.expert.user)
    assert client.get(reverse("expert-dossier", args=[a.token])).status_code == 200
    Conflict.objects.create(project=a.project, expert=a.expert, reason="declared", detail="proposal:other|x")

    assert client.get(reverse("expert-dossier", args=[a.token])).status_code == 404
    assert not assignments_of(a.expert.user).exists()


@pytest.mark.rolled_back
def test_the_round_page_shows_a_removal_for_conflict(client, english, round_, secretary):
    rounds.run_assignment(round_, by=secretary, now=NOW)
    a = first_current(round_)
    colleague_on_the_team(a)
    refresh_conflicts(projects=[a.project], now=NOW)
    client.force_login(secretary)

    page = client.get(reverse("round-detail", args=[round_.pk])).content.decode()

    assert "Removed" in page and "in conflict with the proposal" in page
    assert NOW.strftime("%Y-%m-%d") in page


# ---- M1: undo never silently drops a later hand edit ---------------------------------------------------


def test_undo_is_refused_after_a_hand_edit(english, round_, pool, secretary):
    run = rounds.run_assignment(round_, by=secretary, now=NOW)
    a = first_current(round_)
    rounds.remove_assignment(a, by=secretary, now=NOW)
    manual = next(rounds.add_by_hand(round_, a.project, e, by=secretary, now=NOW)
                  for e in pool if not rounds.hand_problems(round_, a.project, e))

    with pytest.raises(TransitionRefused) as refused:
        rounds.undo_run(run, by=secretary, now=NOW)

    assert "changed by hand after run 1" in " ".join(refused.value.messages)
    assert Assignment.objects.filter(pk=manual.pk, status=AssignmentStatus.PROPOSED).exists()


def test_undo_is_refused_after_a_replacement(english, round_, secretary):
    run = rounds.run_assignment(round_, by=secretary, now=NOW)
    rounds.remove_and_replace(first_current(round_), by=secretary, now=NOW)

    with pytest.raises(TransitionRefused):
        rounds.undo_run(run, by=secretary, now=NOW)


def test_undo_of_an_untouched_run_still_works(round_, secretary):
    first = rounds.run_assignment(round_, by=secretary, now=NOW)
    pairs = current_pairs(round_)
    second = rounds.run_assignment(round_, by=secretary, now=NOW)
    rounds.undo_run(second, by=secretary, now=NOW)
    assert current_pairs(round_) == pairs
    rounds.undo_run(first, by=secretary, now=NOW)
    assert current_pairs(round_) == set()


# ---- remove and replace: one step, refused without a replacement ---------------------------------------


def test_remove_and_replace_is_refused_when_nobody_can_replace(client, english, round_, pool, secretary):
    rounds.run_assignment(round_, by=secretary, now=NOW)
    a = first_current(round_)
    on_it = set(round_.assignments.filter(project=a.project, status__in=rounds.CURRENT)
                .values_list("expert_id", flat=True))
    ExpertProfile.objects.exclude(pk__in=on_it).update(active=False)
    client.force_login(secretary)

    response = client.post(reverse("round-assignment-remove", args=[round_.pk, a.pk]), {"replace": "1"}, follow=True)

    assert "No eligible expert is left to replace it; the assignment is kept." in response.content.decode()
    a.refresh_from_db()
    assert a.status == AssignmentStatus.PROPOSED


def test_remove_and_replace_through_the_page(client, english, round_, secretary):
    rounds.run_assignment(round_, by=secretary, now=NOW)
    a = first_current(round_)
    client.force_login(secretary)

    response = client.post(reverse("round-assignment-remove", args=[round_.pk, a.pk]), {"replace": "1"}, follow=True)

    a.refresh_from_db()
    replacement = round_.assignments.get(replaces=a)
    assert a.status == AssignmentStatus.REMOVED
    assert f"Replaced by {replacement.expert}." in response.content.decode()


# ---- M3: ways in from the round page ---------------------------------------------------------------


def test_the_round_page_links_the_late_page_the_ranking_and_reopens_reviews(client, english, round_, secretary):
    rounds.run_assignment(round_, by=secretary, now=NOW)
    rounds.open_round(round_, by=secretary, now=NOW)
    review = ReviewFactory(assignment=first_current(round_))
    client.force_login(secretary)

    page = client.get(reverse("round-detail", args=[round_.pk])).content.decode()

    assert reverse("round-late", args=[round_.pk]) in page
    assert reverse("class-ranking", args=[round_.call_class.pk]) in page
    assert f'action="{reverse("review-reopen", args=[review.pk])}"' in page
    assert 'name="reason" required' in page


def test_reopen_from_the_round_page(client, english, round_, secretary):
    rounds.run_assignment(round_, by=secretary, now=NOW)
    rounds.open_round(round_, by=secretary, now=NOW)
    review = ReviewFactory(assignment=first_current(round_))
    client.force_login(secretary)
    detail = reverse("round-detail", args=[round_.pk])

    response = client.post(reverse("review-reopen", args=[review.pk]), {"reason": "请补充意见", "next": detail})

    assert response.status_code == 302 and response.url == detail
    review.refresh_from_db()
    assert review.state == "draft"
