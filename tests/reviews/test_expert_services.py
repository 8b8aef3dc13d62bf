"""The expert's steps: declaration, accepting, drafts, submission, reopening, declining, conflicts."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from projects.services import TransitionRefused, perform
from reviews import services
from reviews.models import (
    AssignmentStatus,
    Conflict,
    DeclarationSignature,
    ExpertDeclaration,
    Review,
)
from tests.factories import InstitutionFactory
from tests.reviews.factories import AssignmentFactory, ExpertProfileFactory, SignatureFactory

NOW = timezone.now().replace(microsecond=0)
COMPLETE = {
    "scores": {"topic": "8", "argument": "9", "foundation": "7"},
    "recommendation": "A",
    "comments_to_applicant": "选题有现实意义，论证较充分，建议进一步细化研究方法。",
    "comments_to_committee": "可以入围。",
}


@pytest.fixture
def assignment(db):
    return AssignmentFactory()


@pytest.fixture
def signed(assignment):
    SignatureFactory(expert=assignment.expert, round=assignment.round)
    return assignment


def expert_user(assignment):
    return assignment.expert.user


def spare_experts(n=3):
    """Experts of units of their own, free to replace someone."""
    return [
        ExpertProfileFactory(user__institution=InstitutionFactory(name=f"替补测试学院{i}")) for i in range(n)
    ]


# ---- declaration and invitation ------------------------------------------------------------


def test_signing_stores_the_text_once(assignment):
    first = services.sign_declaration(assignment.expert, assignment.round, now=NOW)
    again = services.sign_declaration(assignment.expert, assignment.round, now=NOW + dt.timedelta(hours=1))
    assert first.pk == again.pk and again.signed_at == NOW
    assert DeclarationSignature.objects.count() == 1
    for promise in ("保密", "利益冲突", "不复制", "外传", "回避", "申报"):
        assert promise in first.text


def test_accepting_needs_the_declaration(english, assignment):
    with pytest.raises(TransitionRefused) as refusal:
        services.accept(assignment, by=expert_user(assignment), now=NOW)
    assert refusal.value.messages == ["Please sign the confidentiality and no-conflict declaration first."]
    services.sign_declaration(assignment.expert, assignment.round, now=NOW)
    services.accept(assignment, by=expert_user(assignment), now=NOW)
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.ACCEPTED and assignment.responded_at == NOW


def test_only_the_expert_accepts(english, signed, applicant):
    with pytest.raises(TransitionRefused) as refusal:
        services.accept(signed, by=applicant, now=NOW)
    assert refusal.value.messages == ["This review assignment is not yours."]
    signed.refresh_from_db()
    assert signed.status == AssignmentStatus.INVITED


# ---- drafts ----------------------------------------------------------------------------------


def test_a_draft_may_be_incomplete_and_accepts_the_invitation(signed):
    review = services.save_review(signed, {"scores": {"topic": "8"}, "comments_to_applicant": "初稿"},
                                  by=expert_user(signed), now=NOW)
    assert review.state == "draft" and review.scores == {"topic": 8} and review.total is None
    assert review.comments_to_applicant == "初稿"
    signed.refresh_from_db()
    assert signed.status == AssignmentStatus.ACCEPTED and signed.responded_at == NOW


def test_a_draft_needs_the_declaration(english, assignment):
    with pytest.raises(TransitionRefused) as refusal:
        services.save_review(assignment, COMPLETE, by=expert_user(assignment), now=NOW)
    assert refusal.value.messages == ["Please sign the confidentiality and no-conflict declaration first."]
    assert not Review.objects.exists()


def test_scores_off_the_scale_are_named_and_never_stored(english, signed):
    data = dict(COMPLETE, scores={"topic": "11", "argument": "9", "foundation": "七点五"}, recommendation="Z")
    with pytest.raises(services.ReviewInputRefused) as refusal:
        services.save_review(signed, data, by=expert_user(signed), now=NOW)
    assert refusal.value.messages == [
        "The score of “选题” must be a whole number from 3 to 10.",
        "The score of “研究基础” must be a whole number from 3 to 10.",
        "Please choose one of the recommendations offered.",
    ]
    review = Review.objects.get(assignment=signed)
    assert review.scores == {"argument": 9} and review.total is None and review.recommendation == ""
    assert review.comments_to_applicant == COMPLETE["comments_to_applicant"]  # the typed text is kept


def test_the_total_is_the_weighted_sum(signed):
    review = services.save_review(signed, COMPLETE, by=expert_user(signed), now=NOW)
    assert review.total == Decimal("8") * 3 + Decimal("9") * 5 + Decimal("7") * 2  # 83


def test_full_width_digits_are_read(signed):
    review = services.save_review(signed, {"scores": {"topic": "８"}}, by=expert_user(signed), now=NOW)
    assert review.scores == {"topic": 8}


def test_saving_again_replaces_the_draft(signed):
    user = expert_user(signed)
    services.save_review(signed, COMPLETE, by=user, now=NOW)
    review = services.save_review(signed, {"scores": {"topic": "5"}}, by=user, now=NOW)
    assert Review.objects.count() == 1
    assert review.scores == {"topic": 5} and review.comments_to_applicant == "" and review.total is None


# ---- submission --------------------------------------------------------------------------------


def test_submitting_lists_every_missing_part_and_keeps_the_draft(english, signed):
    data = {"scores": {"topic": "12", "argument": "6"}, "comments_to_committee": "保密意见"}
    with pytest.raises(TransitionRefused) as refusal:
        services.submit_review(signed, data, by=expert_user(signed), now=NOW)
    assert refusal.value.messages == [
        "The score of “选题” must be a whole number from 3 to 10.",
        "Please score “研究基础”.",
        "Please choose a recommendation.",
        "Please write your comments to the applicant.",
    ]
    review = Review.objects.get(assignment=signed)
    assert review.state == "draft" and review.scores == {"argument": 6}
    assert review.comments_to_committee == "保密意见"


def test_a_complete_review_is_submitted(signed):
    review = services.submit_review(signed, COMPLETE, by=expert_user(signed), now=NOW)
    assert review.state == "submitted" and review.submitted_at == NOW and review.total == Decimal("83.00")
    assert review.recommendation == "A"


def test_a_submitted_review_is_read_only(english, signed):
    user = expert_user(signed)
    services.submit_review(signed, COMPLETE, by=user, now=NOW)
    for step in (services.save_review, services.submit_review):
        with pytest.raises(TransitionRefused) as refusal:
            step(signed, dict(COMPLETE, scores={"topic": "3", "argument": "3", "foundation": "3"}), by=user, now=NOW)
        assert "can no longer be changed" in refusal.value.messages[0]
    review = Review.objects.get(assignment=signed)
    assert review.state == "submitted" and review.scores == {"topic": 8, "argument": 9, "foundation": 7}


def test_nothing_is_saved_once_the_round_is_closed(english, signed, secretary):
    perform(signed.round, "close_round", by=secretary, now=NOW)
    with pytest.raises(TransitionRefused) as refusal:
        services.save_review(signed, COMPLETE, by=expert_user(signed), now=NOW)
    assert refusal.value.messages == ["The review round is closed."]
    assert not Review.objects.exists()


def test_the_secretariat_reopens_with_a_reason(english, signed, secretary):
    user = expert_user(signed)
    review = services.submit_review(signed, COMPLETE, by=user, now=NOW)
    with pytest.raises(TransitionRefused) as refusal:
        services.reopen_review(review, by=secretary, reason="", now=NOW)
    assert refusal.value.messages == ["Please give a reason for this step."]
    with pytest.raises(TransitionRefused):
        services.reopen_review(review, by=user, reason="想改一下", now=NOW)
    review = services.reopen_review(review, by=secretary, reason="评分与评语不一致，请核对。", now=NOW)
    assert review.state == "draft" and review.reopened_at == NOW
    review = services.save_review(signed, dict(COMPLETE, scores={"topic": "6", "argument": "9", "foundation": "7"}),
                                  by=user, now=NOW)
    assert review.scores["topic"] == 6


# ---- declining and conflicts ---------------------------------------------------------------------


def test_declining_needs_a_reason(english, signed):
    with pytest.raises(TransitionRefused) as refusal:
        services.decline(signed, by=expert_user(signed), reason="  ", now=NOW)
    assert refusal.value.messages == ["Please give a reason for declining."]
    signed.refresh_from_db()
    assert signed.status == AssignmentStatus.INVITED


def test_no_declining_after_submission(english, signed):
    services.submit_review(signed, COMPLETE, by=expert_user(signed), now=NOW)
    with pytest.raises(TransitionRefused) as refusal:
        services.decline(signed, by=expert_user(signed), reason="太忙", now=NOW)
    assert "submitted" in refusal.value.messages[0]


def test_declining_invites_a_replacement(signed, mailoutbox):
    spare_experts()
    services.decline(signed, by=expert_user(signed), reason="近期出国访学，无法按期完成。", now=NOW)
    signed.refresh_from_db()
    assert signed.status == AssignmentStatus.DECLINED and signed.responded_at == NOW
    assert signed.decline_reason == "近期出国访学，无法按期完成。"
    replacement = signed.round.assignments.exclude(pk=signed.pk).get(project=signed.project)
    assert replacement.replaces_id == signed.pk and replacement.expert_id != signed.expert_id
    assert replacement.status == AssignmentStatus.INVITED


def test_the_secretariat_records_a_decline_for_the_expert(english, signed, secretary, applicant):
    spare_experts()
    with pytest.raises(TransitionRefused) as refusal:
        services.decline(signed, by=applicant, reason="代为谢绝", now=NOW)
    assert refusal.value.messages == ["This review assignment is not yours."]
    services.decline(signed, by=secretary, reason="专家电话告知：近期住院。", now=NOW)
    signed.refresh_from_db()
    assert signed.status == AssignmentStatus.DECLINED


def test_a_declared_conflict_withdraws_the_proposal(signed):
    spare_experts()
    declaration = services.declare_conflict(signed, by=expert_user(signed), kind="supervisor",
                                            text="从行文看，申请人应是我指导过的博士生。", now=NOW)
    signed.refresh_from_db()
    assert signed.status == AssignmentStatus.REMOVED and signed.removed_at == NOW
    stored = ExpertDeclaration.objects.get()
    assert stored == declaration
    assert (stored.expert, stored.project, stored.kind) == (signed.expert, signed.project, "supervisor")
    assert signed.round.assignments.exclude(pk=signed.pk).filter(project=signed.project, replaces=signed).exists()
    assert Conflict.objects.blocking().filter(project=signed.project, expert=signed.expert, reason="declared").exists()


def test_a_conflict_needs_a_kind_and_an_explanation(english, signed):
    with pytest.raises(TransitionRefused) as refusal:
        services.declare_conflict(signed, by=expert_user(signed), kind="enemy", text="", now=NOW)
    assert refusal.value.messages == ["Please choose the kind of conflict.", "Please explain the conflict in a few words."]
    assert not ExpertDeclaration.objects.exists()


def test_a_withdrawn_assignment_takes_no_step(english, signed):
    signed.status = AssignmentStatus.REMOVED
    signed.save()
    for step in (services.accept,):
        with pytest.raises(TransitionRefused) as refusal:
            step(signed, by=expert_user(signed), now=NOW)
        assert refusal.value.messages == ["This review assignment has been withdrawn."]
    with pytest.raises(TransitionRefused):
        services.save_review(signed, COMPLETE, by=expert_user(signed), now=NOW)
