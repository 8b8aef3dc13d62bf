"""The rules of 回避, the sync of the Conflict table, decisions, signals and the applicant's requests."""

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from accounts import roles
from projects.services import TransitionRefused
from reviews.conflicts import (
    UnitMatcher,
    blocking_pairs,
    conflicts_between,
    decide_conflict,
    describe,
    normalise,
    refresh_conflicts,
    request_avoidance,
    withdraw_avoidance,
)
from reviews.models import (
    AvoidRequest,
    AvoidRequestState,
    Conflict,
    ConflictReason,
    ConflictStatus,
    DeclarationKind,
    ExpertDeclaration,
)
from reviews.signals import Batch
from tests.factories import InstitutionFactory, MemberFactory, ProjectFactory, UserFactory
from tests.reviews.factories import ExpertProfileFactory

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(dt.datetime(2024, 6, 1, 10, 0))


def make_expert(name, unit=None, *, unit_name="", username=None):
    """An expert named ``name`` of the registered unit ``unit`` (a name) or of ``unit_name`` as written."""
    institution = InstitutionFactory(name=unit) if unit else None
    user = UserFactory(username=username or f"expert-{name}", real_name=name, institution=institution,
                       role=roles.EXPERT)
    return ExpertProfileFactory(user=user, institution=institution, unit_name=unit_name)


@pytest.fixture
def proposal(applicant):
    """A proposal in review by 陈明 of 华东师范大学, with no members yet."""
    applicant.real_name = "陈明"
    applicant.save()
    return ProjectFactory(pi=applicant, institution=applicant.institution, state="in_review")


def found(project, expert, reason=None):
    rows = Conflict.objects.filter(project=project, expert=expert)
    if reason:
        rows = rows.filter(reason=reason)
    return sorted(rows.values_list("reason", "status"))


# ---- normalisation and units ------------------------------------------------------------


def test_normalise_folds_width_spaces_and_brackets():
    assert normalise(" 华东师范大学（上海） ") == normalise("华东师范大学(上海)") == "华东师范大学上海"
    assert normalise("ＡＢＣ　大学") == "abc大学"


def test_unit_matcher_abbreviation_variant_and_registered_names():
    matcher = UnitMatcher({"北京大学", "北京师范大学"})
    assert matcher.similar("华东师大", "华东师范大学")
    assert matcher.similar("上海市学习型社会建设服务指导中心", "上海学习型社会建设服务指导中心")  # a variant
    assert not matcher.similar("北京大学", "北京师范大学")  # two registered units
    assert not matcher.similar("北京大学", "北京大学")  # equal is not "similar": it is the same
    assert not matcher.similar("深圳职业技术大学", "华东师范大学")


# ---- TEAM ----------------------------------------------------------------------------------


def test_team_pi_and_member_by_account_are_certain(english, proposal, applicant):
    pi_expert = ExpertProfileFactory(user=applicant)
    member_user = UserFactory(username="m1", real_name="赵一", institution=InstitutionFactory(name="江苏开放大学"))
    MemberFactory(project=proposal, name="赵一", unit="江苏开放大学", user=member_user)
    member_expert = ExpertProfileFactory(user=member_user)
    refresh_conflicts(now=NOW)
    assert (ConflictReason.TEAM, ConflictStatus.CERTAIN) in found(proposal, pi_expert)
    assert found(proposal, member_expert, ConflictReason.TEAM) == [(ConflictReason.TEAM, ConflictStatus.CERTAIN)]
    assert describe(Conflict.objects.get(expert=pi_expert, reason=ConflictReason.TEAM)) == "The expert is the PI."


def test_team_member_by_name_certain_with_same_unit_potential_otherwise(proposal, english):
    same = make_expert("钱二", "深圳职业技术大学")
    elsewhere = make_expert("孙三", "天津市职工大学")
    stranger = make_expert("李四", "北京老年大学")
    MemberFactory(project=proposal, name="钱二", unit="深圳职业技术大学")
    MemberFactory(project=proposal, name="孙 三", unit="")
    refresh_conflicts(now=NOW)
    assert found(proposal, same, ConflictReason.TEAM) == [(ConflictReason.TEAM, ConflictStatus.CERTAIN)]
    assert found(proposal, elsewhere) == [(ConflictReason.TEAM, ConflictStatus.POTENTIAL)]
    assert found(proposal, stranger) == []
    row = Conflict.objects.get(expert=elsewhere)
    assert describe(row) == "A member has the expert's name: 孙 三 (—)."


def test_member_with_another_account_is_not_a_namesake(proposal):
    expert = make_expert("钱二", "深圳职业技术大学")
    other = UserFactory(username="other-qian", real_name="钱二", institution=InstitutionFactory(name="北京老年大学"))
    MemberFactory(project=proposal, name="钱二", unit="北京老年大学", user=other)
    refresh_conflicts(now=NOW)
    assert found(proposal, expert) == []


# ---- SAME_UNIT -------------------------------------------------------------------------------


def test_same_registered_unit_as_the_pi_is_certain(proposal):
    colleague = make_expert("周五", "华东师范大学")
    refresh_conflicts(now=NOW)
    assert found(proposal, colleague) == [(ConflictReason.SAME_UNIT, ConflictStatus.CERTAIN)]


def test_unit_written_by_the_expert_equal_to_a_members_unit_is_certain(proposal):
    expert = make_expert("吴六", unit_name="浙江 广播电视大学（杭州）")
    MemberFactory(project=proposal, name="郑七", unit="浙江广播电视大学(杭州)")
    refresh_conflicts(now=NOW)
    assert found(proposal, expert) == [(ConflictReason.SAME_UNIT, ConflictStatus.CERTAIN)]


def test_abbreviated_unit_is_a_potential_conflict(proposal, english):
    expert = make_expert("王八", "深圳职业技术大学")
    member_unit_project = ProjectFactory(state="submitted", pi=UserFactory(username="pi2", real_name="冯九",
                                                                               institution=InstitutionFactory(name="北京老年大学")))
    MemberFactory(project=member_unit_project, name="褚十", unit="深圳职大")
    short = make_expert("蒋十一", unit_name="华东师大")
    refresh_conflicts(now=NOW)
    assert found(proposal, short) == [(ConflictReason.SAME_UNIT, ConflictStatus.POTENTIAL)]
    assert describe(Conflict.objects.get(expert=short)) == "The team's unit “华东师范大学” may be the expert's unit “华东师大”."
    assert found(member_unit_project, expert) == [(ConflictReason.SAME_UNIT, ConflictStatus.POTENTIAL)]


def test_two_registered_units_alike_are_different(db):
    pku = InstitutionFactory(name="北京大学")
    pi = UserFactory(username="pku-pi", real_name="韩梅", institution=pku)
    project = ProjectFactory(pi=pi, institution=pku, state="eligible")
    bnu = make_expert("杨光", "北京师范大学")
    refresh_conflicts(now=NOW)
    assert found(project, bnu) == []


# ---- NAMED_BY_APPLICANT -----------------------------------------------------------------------


def test_applicants_request_pending_potential_confirmed_certain_rejected_nothing(proposal, secretary):
    expert = make_expert("曹操", "江苏开放大学")
    namesake = make_expert("曹操", "天津市职工大学", username="caocao-2")
    request = AvoidRequest.objects.create(project=proposal, name="曹操", unit="江苏开放大学", reason="学术观点对立")
    refresh_conflicts(now=NOW)
    assert found(proposal, expert) == [(ConflictReason.NAMED_BY_APPLICANT, ConflictStatus.POTENTIAL)]
    assert found(proposal, namesake) == []  # the unit given tells them apart
    request.refresh_from_db()
    assert request.expert == expert
    assert "学术观点对立" in describe(Conflict.objects.get(expert=expert))

    AvoidRequest.objects.filter(pk=request.pk).update(state=AvoidRequestState.CONFIRMED)
    refresh_conflicts(now=NOW)
    assert found(proposal, expert) == [(ConflictReason.NAMED_BY_APPLICANT, ConflictStatus.CERTAIN)]

    AvoidRequest.objects.filter(pk=request.pk).update(state=AvoidRequestState.REJECTED)
    refresh_conflicts(now=NOW)
    assert found(proposal, expert) == []


def test_deciding_the_conflict_decides_the_request_and_the_reverse(proposal, secretary):
    expert = make_expert("曹操", "江苏开放大学")
    first = AvoidRequest.objects.create(project=proposal, name="曹操", reason="利益相关")
    refresh_conflicts(now=NOW)
    decide_conflict(Conflict.objects.get(expert=expert), by=secretary, confirm=True, reason="属实", now=NOW)
    first.refresh_from_db()
    assert (first.state, first.expert, first.decided_by, first.decision_reason) == (
        AvoidRequestState.CONFIRMED, expert, secretary, "属实")
    refresh_conflicts(now=NOW)
    assert found(proposal, expert) == [(ConflictReason.NAMED_BY_APPLICANT, ConflictStatus.CONFIRMED)]

    # The reverse: a request decided elsewhere (the admin) carries its decision onto the row.
    other = make_expert("刘备", "北京老年大学")
    second = AvoidRequest.objects.create(project=proposal, name="刘备", reason="竞争关系")
    refresh_conflicts(now=NOW)
    AvoidRequest.objects.filter(pk=second.pk).update(
        state=AvoidRequestState.REJECTED, decided_by=secretary, decided_at=NOW, decision_reason="理由不足")
    refresh_conflicts(now=NOW)
    row = Conflict.objects.get(expert=other)
    assert (row.status, row.decided_by, row.decision_reason) == (ConflictStatus.DISMISSED, secretary, "理由不足")


# ---- DECLARED -------------------------------------------------------------------------------------


def test_declared_about_the_proposal_is_certain(proposal):
    expert = make_expert("孔明", "北京老年大学")
    ExpertDeclaration.objects.create(expert=expert, kind=DeclarationKind.OTHER, project=proposal, text="读后发现是学生的课题")
    refresh_conflicts(now=NOW)
    assert found(proposal, expert) == [(ConflictReason.DECLARED, ConflictStatus.CERTAIN)]


def test_declared_person_by_name_and_unit_certain_by_name_only_potential(proposal, english):
    by_unit = make_expert("孔明", "北京老年大学")
    by_name = make_expert("周瑜", "天津市职工大学")
    unrelated = make_expert("鲁肃", "深圳职业技术大学")
    MemberFactory(project=proposal, name="小乔", unit="江苏开放大学")
    ExpertDeclaration.objects.create(expert=by_unit, kind=DeclarationKind.RELATIVE, person_name="陈明",
                                     person_unit="华东师范大学", text="表兄弟")
    ExpertDeclaration.objects.create(expert=by_name, kind=DeclarationKind.SUPERVISOR, person_name="小乔", text="我的学生")
    ExpertDeclaration.objects.create(expert=unrelated, kind=DeclarationKind.COLLABORATOR, person_name="大乔")
    refresh_conflicts(now=NOW)
    assert found(proposal, by_unit) == [(ConflictReason.DECLARED, ConflictStatus.CERTAIN)]
    assert found(proposal, by_name) == [(ConflictReason.DECLARED, ConflictStatus.POTENTIAL)]
    assert found(proposal, unrelated) == []
    assert describe(Conflict.objects.get(expert=by_name)) == "Supervisor and student with 小乔 (—): 我的学生"


# ---- SHARED_PROJECT -------------------------------------------------------------------------------


def approved_project(pi, *, approved_at, title="社区教育治理研究"):
    return ProjectFactory(pi=pi, institution=pi.institution, state="completed", approved_at=approved_at, title=title)


def test_shared_project_with_the_pi_is_certain(proposal, applicant, english):
    expert = make_expert("黄忠", "北京老年大学")
    old = approved_project(expert.user, approved_at=NOW - dt.timedelta(days=365 * 2))
    MemberFactory(project=old, name="陈明", unit="华东师范大学", user=applicant)
    refresh_conflicts(now=NOW)
    assert found(proposal, expert) == [(ConflictReason.SHARED_PROJECT, ConflictStatus.CERTAIN)]
    assert describe(Conflict.objects.get(expert=expert)) == (
        "Shared the project “社区教育治理研究” (approved 2022) with 陈明.")


def test_shared_project_by_name_only_is_potential_and_old_projects_do_not_count(proposal):
    recent_expert = make_expert("黄忠", "北京老年大学")
    old_expert = make_expert("魏延", "天津市职工大学")
    MemberFactory(project=proposal, name="马岱", unit="江苏开放大学")
    recent = approved_project(recent_expert.user, approved_at=NOW - dt.timedelta(days=400))
    MemberFactory(project=recent, name="马岱", unit="")  # name only: perhaps the same person
    ancient = approved_project(old_expert.user, approved_at=NOW - dt.timedelta(days=365 * 6))
    MemberFactory(project=ancient, name="马岱", unit="江苏开放大学")
    refresh_conflicts(now=NOW)
    assert found(proposal, recent_expert) == [(ConflictReason.SHARED_PROJECT, ConflictStatus.POTENTIAL)]
    assert found(proposal, old_expert) == []


def test_shared_project_years_follow_the_class_rule(proposal):
    expert = make_expert("魏延", "天津市职工大学")
    ancient = approved_project(expert.user, approved_at=NOW - dt.timedelta(days=365 * 6))
    MemberFactory(project=ancient, name="陈明", unit="华东师范大学")
    proposal.call_class.rules = {"CONFLICT_SHARED_PROJECT_YEARS": 8}
    proposal.call_class.save()
    refresh_conflicts(now=NOW)
    assert found(proposal, expert) == [(ConflictReason.SHARED_PROJECT, ConflictStatus.CERTAIN)]


def test_expert_found_on_an_old_team_by_name_and_unit(proposal, applicant):
    expert = make_expert("赵云", unit_name="常山学院")
    old = approved_project(applicant, approved_at=NOW - dt.timedelta(days=100))
    MemberFactory(project=old, name="赵云", unit="常山学院")
    refresh_conflicts(now=NOW)
    assert found(proposal, expert) == [(ConflictReason.SHARED_PROJECT, ConflictStatus.CERTAIN)]


# ---- the sync ------------------------------------------------------------------------------------


@pytest.mark.rolled_back
def test_refresh_counts_and_is_idempotent(proposal):
    make_expert("周五", "华东师范大学")
    MemberFactory(project=proposal, name="钱二", unit="")
    make_expert("钱二", "北京老年大学")
    assert refresh_conflicts(now=NOW) == {"certain": 1, "potential": 1, "created": 2, "removed": 0}
    assert refresh_conflicts(now=NOW) == {"certain": 1, "potential": 1, "created": 0, "removed": 0}


def test_decisions_survive_refresh_and_undecided_rows_go(proposal, secretary):
    expert = make_expert("钱二", "北京老年大学")
    member = MemberFactory(project=proposal, name="钱二", unit="")
    refresh_conflicts(now=NOW)
    row = Conflict.objects.get(expert=expert)
    decide_conflict(row, by=secretary, confirm=False, reason="同名不同人", now=NOW)
    member.delete()
    refresh_conflicts(now=NOW)
    row.refresh_from_db()
    assert (row.status, row.decided_by, row.decided_at) == (ConflictStatus.DISMISSED, secretary, NOW)
    assert blocking_pairs() == set()

    MemberFactory(project=proposal, name="钱二", unit="")  # the same finding again: still dismissed
    refresh_conflicts(now=NOW)
    assert found(proposal, expert) == [(ConflictReason.TEAM, ConflictStatus.DISMISSED)]


@pytest.mark.rolled_back
def test_potential_becomes_certain_and_certain_goes_when_it_no_longer_holds(proposal):
    expert = make_expert("钱二", "北京老年大学")
    member = MemberFactory(project=proposal, name="钱二", unit="")
    refresh_conflicts(now=NOW)
    assert found(proposal, expert) == [(ConflictReason.TEAM, ConflictStatus.POTENTIAL)]
    member.unit = "北京老年大学"
    member.save()
    counts = refresh_conflicts(now=NOW)
    assert (ConflictReason.TEAM, ConflictStatus.CERTAIN) in found(proposal, expert)
    assert counts["certain"] == 2  # the namesake and the same unit
    member.delete()
    assert refresh_conflicts(now=NOW)["removed"] == 2
    assert found(proposal, expert) == []


@pytest.mark.rolled_back
def test_refresh_limited_to_experts_and_projects_leaves_the_rest(proposal):
    first = make_expert("周五", "华东师范大学")
    second = make_expert("吴六", "华东师范大学")
    refresh_conflicts(experts=[first], now=NOW)
    assert blocking_pairs() == {(proposal.pk, first.pk)}
    refresh_conflicts(projects=[proposal], now=NOW)
    assert blocking_pairs(expert_ids=[second.pk]) == {(proposal.pk, second.pk)}
    assert [c.reason for c in conflicts_between(proposal, second)] == [ConflictReason.SAME_UNIT]


def test_draft_and_inactive_are_left_out(applicant):
    draft = ProjectFactory(pi=applicant, institution=applicant.institution, state="draft")
    expert = make_expert("周五", "华东师范大学")
    expert.active = False
    expert.save()
    make_expert("吴六", "华东师范大学")
    refresh_conflicts(now=NOW)
    assert not Conflict.objects.filter(project=draft).exists()


# ---- decisions ------------------------------------------------------------------------------


def test_decide_needs_a_reason_a_potential_row_and_the_secretariat(proposal, secretary, applicant, english):
    make_expert("钱二", "北京老年大学")
    make_expert("周五", "华东师范大学")
    MemberFactory(project=proposal, name="钱二", unit="")
    refresh_conflicts(now=NOW)
    potential = Conflict.objects.get(status=ConflictStatus.POTENTIAL)
    certain = Conflict.objects.get(status=ConflictStatus.CERTAIN)
    with pytest.raises(TransitionRefused) as refusal:
        decide_conflict(potential, by=secretary, confirm=True, reason="  ")
    assert refusal.value.messages == ["Please give the reason of the decision."]
    with pytest.raises(TransitionRefused) as refusal:
        decide_conflict(certain, by=secretary, confirm=False, reason="不是")
    assert refusal.value.messages == ["Only a possible conflict can be confirmed or dismissed; this one is decided."]
    with pytest.raises(TransitionRefused) as refusal:
        decide_conflict(potential, by=applicant, confirm=False, reason="不是")
    assert refusal.value.messages == ["Only the secretariat decides on conflicts."]
    decide_conflict(potential, by=secretary, confirm=True, reason="同一人", now=NOW)
    assert potential.status == ConflictStatus.CONFIRMED
    with pytest.raises(TransitionRefused):
        decide_conflict(potential, by=secretary, confirm=False, reason="改主意")


# ---- signals ---------------------------------------------------------------------------------
# Each change is made in its own transaction (a savepoint inside the test's), as a page does;
# the captured callbacks are what Django runs after the commit.


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """``with committed():`` runs the block in a transaction and then its on-commit callbacks."""
    from contextlib import contextmanager

    @contextmanager
    def run():
        batches = []
        with django_capture_on_commit_callbacks(execute=True) as captured, transaction.atomic():
            transaction.on_commit(lambda: None)  # as a page's transaction: no batch of the set-up to join
            yield batches
        batches.extend(callback for callback in captured if isinstance(callback, Batch))

    return run


def test_removing_a_member_removes_the_conflict_after_commit(proposal, committed):
    expert = make_expert("钱二", "北京老年大学")
    with committed():
        member = MemberFactory(project=proposal, name="钱二", unit="北京老年大学")
    assert (ConflictReason.TEAM, ConflictStatus.CERTAIN) in found(proposal, expert)
    with committed() as callbacks:
        member.delete()
    assert len(callbacks) == 1
    assert found(proposal, expert) == []


def test_new_expert_profile_and_declaration_are_checked(proposal, committed):
    with committed() as callbacks:
        expert = make_expert("周五", "华东师范大学")
        other = make_expert("孔明", "北京老年大学")
    assert len(callbacks) == 1  # one check for the changes made together
    assert found(proposal, expert) == [(ConflictReason.SAME_UNIT, ConflictStatus.CERTAIN)]
    with committed():
        ExpertDeclaration.objects.create(expert=other, kind=DeclarationKind.RELATIVE, person_name="陈明",
                                         person_unit="华东师范大学")
    assert found(proposal, other) == [(ConflictReason.DECLARED, ConflictStatus.CERTAIN)]


def test_change_of_pi_unit_is_checked(proposal, committed):
    expert = make_expert("周五", "北京老年大学")
    refresh_conflicts(now=NOW)
    assert found(proposal, expert) == []
    with committed():
        proposal.institution = expert.institution
        proposal.save()
    assert found(proposal, expert) == [(ConflictReason.SAME_UNIT, ConflictStatus.CERTAIN)]


def test_renamed_expert_is_checked_but_a_login_is_not(proposal, committed):
    expert = make_expert("钱二", "北京老年大学")
    MemberFactory(project=proposal, name="钱三", unit="北京老年大学")
    with committed() as callbacks:
        expert.user.last_login = NOW
        expert.user.save(update_fields=["last_login"])
    assert callbacks == []
    with committed():
        expert.user.real_name = "钱三"
        expert.user.save()
    assert (ConflictReason.TEAM, ConflictStatus.CERTAIN) in found(proposal, expert)


def test_a_new_member_of_an_old_project_checks_every_proposal(proposal, applicant, committed):
    expert = make_expert("黄忠", "北京老年大学")
    old = approved_project(expert.user, approved_at=timezone.now() - dt.timedelta(days=300))
    with committed():
        MemberFactory(project=old, name="陈明", unit="华东师范大学", user=applicant)
    assert found(proposal, expert) == [(ConflictReason.SHARED_PROJECT, ConflictStatus.CERTAIN)]


def test_a_rolled_back_change_is_not_checked(proposal, committed):
    with committed() as callbacks:
        try:
            with transaction.atomic():
                make_expert("周五", "华东师范大学")
                raise RuntimeError
        except RuntimeError:
            pass
    assert callbacks == []


def test_refresh_sends_nothing_to_itself(proposal, committed):
    make_expert("曹操", "江苏开放大学")
    AvoidRequest.objects.create(project=proposal, name="曹操", reason="x")
    with committed() as callbacks:
        refresh_conflicts(now=NOW)
    assert callbacks == []
    assert Conflict.objects.count() == 1


# ---- the applicant's requests ------------------------------------------------------------------


@pytest.fixture
def application(applicant):
    return ProjectFactory(pi=applicant, institution=applicant.institution, state="submitted")


def test_pi_names_up_to_three_experts(application, applicant, english):
    for name in ("甲", "乙", "丙"):
        request_avoidance(application, by=applicant, name=name, unit="", reason="理由")
    with pytest.raises(TransitionRefused) as refusal:
        request_avoidance(application, by=applicant, name="丁", unit="", reason="理由")
    assert refusal.value.messages == ["You may name at most 3 experts to exclude."]
    assert application.avoid_requests.count() == 3


def test_avoid_request_needs_name_reason_and_no_duplicate(application, applicant, english):
    with pytest.raises(TransitionRefused) as refusal:
        request_avoidance(application, by=applicant, name=" ", unit="", reason="")
    assert refusal.value.messages == ["Please give the expert's name.", "Please give the reason for excluding the expert."]
    request_avoidance(application, by=applicant, name="曹操", unit="江苏开放大学", reason="理由")
    with pytest.raises(TransitionRefused) as refusal:
        request_avoidance(application, by=applicant, name="曹 操", unit="江苏开放大学 ", reason="理由")
    assert refusal.value.messages == ["You have already named this expert."]


def test_only_the_pi_during_the_application(application, applicant, english):
    stranger = UserFactory(username="stranger")
    with pytest.raises(TransitionRefused) as refusal:
        request_avoidance(application, by=stranger, name="曹操", unit="", reason="理由")
    assert refusal.value.messages == ["Only the PI may name experts to exclude."]
    reviewed = ProjectFactory(pi=applicant, institution=applicant.institution, state="in_review")
    with pytest.raises(TransitionRefused) as refusal:
        request_avoidance(reviewed, by=applicant, name="曹操", unit="", reason="理由")
    assert refusal.value.messages == ["Experts can be named for exclusion only while the application is under way."]


def test_withdraw_only_pending(application, applicant, secretary, english):
    request = request_avoidance(application, by=applicant, name="曹操", unit="", reason="理由")
    decided = request_avoidance(application, by=applicant, name="刘备", unit="", reason="理由")
    AvoidRequest.objects.filter(pk=decided.pk).update(state=AvoidRequestState.REJECTED)
    decided.refresh_from_db()
    with pytest.raises(TransitionRefused) as refusal:
        withdraw_avoidance(decided, by=applicant)
    assert refusal.value.messages == ["The secretariat has already decided on this request."]
    with pytest.raises(TransitionRefused):
        withdraw_avoidance(request, by=secretary)
    withdraw_avoidance(request, by=applicant)
    assert list(application.avoid_requests.values_list("name", flat=True)) == ["刘备"]


def test_the_limit_is_a_rule_of_the_class(application, applicant):
    application.call_class.rules = {"MAX_AVOID_REQUESTS": 1}
    application.call_class.save()
    request_avoidance(application, by=applicant, name="甲", unit="", reason="理由")
    with pytest.raises(TransitionRefused):
        request_avoidance(application, by=applicant, name="乙", unit="", reason="理由")

