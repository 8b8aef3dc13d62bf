"""Review rounds (评审轮次): creation, the optimal assigner on real data, runs, hand edits,
opening, closing and replacement. The solver's own optimality is proven in test_assignment.py."""

import datetime as dt
from collections import Counter

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from projects.models import TransitionLog
from projects.services import TransitionRefused
from reviews import rounds
from reviews.conflicts import blocking_pairs, refresh_conflicts
from reviews.forms_schema import default_form
from reviews.models import (
    Assignment,
    AssignmentRun,
    AssignmentSource,
    AssignmentStatus,
    Conflict,
    ExpertDeclaration,
    ReviewRound,
)
from tests.factories import CallClassFactory, InstitutionFactory, MemberFactory, ProjectFactory, UserFactory
from tests.reviews.factories import ExpertProfileFactory

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(dt.datetime(2023, 6, 1, 9, 0))
DEADLINE = NOW + dt.timedelta(days=21)
EXPERT_UNITS = ["复旦大学", "南京大学", "浙江大学", "武汉大学", "中山大学", "四川大学", "吉林大学"]
EXPERT_NAMES = "甲乙丙丁戊己庚辛壬癸"
TOPICS = [
    ("老年教育", ["老年教育", "数字素养", "社区学习"]),
    ("职业教育", ["职业教育", "产教融合", "技能培训"]),
    ("社区教育", ["社区教育", "学习型城市", "治理"]),
    ("终身教育", ["学分银行", "学习成果认证", "资历框架"]),
]


def make_expert(n, unit_name, topic=0, load_limit=20):
    discipline, keywords = TOPICS[topic % len(TOPICS)]
    user = UserFactory(username=f"pool{n}", real_name=f"专家{EXPERT_NAMES[n % 10]}{n}",
                       institution=InstitutionFactory(name=unit_name), role=roles.EXPERT)
    return ExpertProfileFactory(user=user, disciplines=[discipline], keywords=keywords, load_limit=load_limit,
                                profile_text="主持课题：" + "、".join(keywords) + "研究。")


def make_proposal(call_class, pi_unit, n, topic=0, state="eligible"):
    discipline, keywords = TOPICS[topic % len(TOPICS)]
    return ProjectFactory(
        call_class=call_class, state=state, receipt_number=f"SB2023{n:05d}",
        pi=UserFactory(username=f"pi{n}", real_name=f"申请人{n}号", institution=pi_unit),
        title=f"{keywords[0]}与{keywords[1]}研究之{n}", keywords=keywords, discipline=discipline,
        basis=f"{keywords[0]}的{keywords[1]}问题亟待研究。", content=f"{keywords[2]}的现状与对策。",
    )


@pytest.fixture
def call_class(db):
    return CallClassFactory(code="B")  # k = 3


@pytest.fixture
def pool(unit):
    """Seven experts of seven units, two colleagues of one unit, and one of the PIs' unit."""
    experts = [make_expert(i, EXPERT_UNITS[i], topic=i) for i in range(7)]
    experts += [make_expert(7, "厦门大学", topic=0), make_expert(8, "厦门大学", topic=0)]
    experts.append(make_expert(9, unit.name, topic=0))  # same unit as every PI: never assignable
    return experts


@pytest.fixture
def proposals(call_class, unit):
    return [make_proposal(call_class, unit, n, topic=n) for n in range(4)]


@pytest.fixture
def round_(call_class, proposals, pool, secretary):
    return rounds.create_round(call_class, stage="application", by=secretary, deadline=DEADLINE, m=2)


def current_pairs(round_):
    return set(round_.assignments.filter(status__in=rounds.CURRENT).values_list("project_id", "expert_id"))


def snapshot(round_):
    return sorted(
        round_.assignments.filter(status__in=rounds.CURRENT).values_list(
            "pk", "project_id", "expert_id", "status", "locked", "source", "token", "affinity", "run_id")
    )


def assert_valid(round_):
    pairs = current_pairs(round_)
    blocking = blocking_pairs()
    assert not pairs & blocking
    per_proposal = Counter(p for p, _e in pairs)
    assert set(per_proposal.values()) == {round_.experts_per_proposal}
    assert set(per_proposal) == set(round_.projects.values_list("pk", flat=True))
    assert max(Counter(e for _p, e in pairs).values()) <= round_.load_limit
    units = {a.expert_id: rounds.unit_key(a.expert) for a in round_.assignments.select_related(
        "expert__institution")}
    for project_id in per_proposal:
        on_it = [units[e] for p, e in pairs if p == project_id]
        assert len(on_it) == len(set(on_it))


# ---- creation -------------------------------------------------------------------------------


def test_create_round_takes_defaults_and_the_eligible_proposals(call_class, proposals, unit, secretary, settings):
    other = make_proposal(call_class, unit, 90, state="endorsed")
    round_ = rounds.create_round(call_class, stage="application", by=secretary, deadline=DEADLINE)
    assert round_.state == "draft"
    assert round_.experts_per_proposal == call_class.experts_per_proposal == 3
    assert round_.load_limit == settings.KETI_RULES["EXPERT_LOAD_LIMIT"]
    assert round_.form == default_form("application")
    assert set(round_.projects.all()) == set(proposals)
    assert other not in round_.projects.all()
    assert "2023" in round_.name
    # A second round of the same stage does not take proposals a draft round holds.
    again = rounds.create_round(call_class, stage="application", by=secretary, deadline=DEADLINE)
    assert again.projects.count() == 0


def test_create_round_for_the_midterm_takes_projects_in_their_midterm_check(call_class, unit, secretary):
    midterm = make_proposal(call_class, unit, 91, state="midterm_review")
    make_proposal(call_class, unit, 92, state="eligible")
    round_ = rounds.create_round(call_class, stage="midterm", by=secretary, deadline=DEADLINE, k=2)
    assert list(round_.projects.all()) == [midterm]
    assert round_.form == default_form("midterm") and round_.experts_per_proposal == 2


def test_create_round_refuses_a_bad_form_and_strangers(english, call_class, secretary, applicant):
    with pytest.raises(TransitionRefused) as refused:
        rounds.create_round(call_class, stage="application", by=secretary, deadline=DEADLINE,
                            form={"criteria": [], "scale": {"min": 5, "max": 3}, "recommendations": []})
    assert "The review form needs at least one criterion." in refused.value.messages
    assert "The scale needs whole numbers with the lowest below the highest." in refused.value.messages
    with pytest.raises(TransitionRefused):
        rounds.create_round(call_class, stage="application", by=applicant, deadline=DEADLINE)
    assert not ReviewRound.objects.exists()


# ---- the assigner ------------------------------------------------------------------------------


def test_run_assigns_optimally_within_every_rule_and_is_stored(round_, pool, secretary):
    run = rounds.run_assignment(round_, by=secretary, now=NOW)
    assert_valid(round_)
    pairs = current_pairs(round_)
    assert len(pairs) == 4 * 3
    assert not any(e == pool[9].pk for _p, e in pairs)  # the PIs' colleague
    assert run.number == 1 and run.feasible and run.undone_at is None
    assert run.inputs["proposals"] == sorted(round_.projects.values_list("pk", flat=True))
    assert set(run.inputs["experts"]) == {e.pk for e in pool}
    assert run.inputs["conflict_count"] >= 4
    assert run.inputs["locked"] == [] and run.inputs["excluded"] == []
    assert run.parameters["k"] == 3 and run.parameters["m"] == 2
    assert run.parameters["weights"] == {"discipline": 0.4, "text": 0.6}
    assert run.parameters["solver"]["method"] == "min-cost flow"
    assert run.result["proven_optimal"] is True
    assert {(p, e) for p, e, *_ in run.result["pairs"]} == pairs
    assert run.total_affinity == pytest.approx(sum(row[2] for row in run.result["pairs"]), abs=1e-4)
    assert run.before == []
    for a in round_.assignments.all():
        assert a.run_id == run.pk and a.source == AssignmentSource.SOLVER and a.status == AssignmentStatus.PROPOSED
        assert set(a.affinity_parts) == {"discipline", "text"}
        assert a.affinity == pytest.approx(0.4 * a.affinity_parts["discipline"] + 0.6 * a.affinity_parts["text"])


def test_the_assigner_prefers_the_matching_experts(round_, proposals, pool, secretary):
    rounds.run_assignment(round_, by=secretary, now=NOW)
    # The 职业教育 proposal gets the 职业教育 expert (pool[1]), who is free of conflicts.
    assert (proposals[1].pk, pool[1].pk) in current_pairs(round_)


def test_a_conflict_declared_by_the_expert_is_never_assigned(round_, proposals, pool, secretary):
    ExpertDeclaration.objects.create(expert=pool[1], kind="relative", project=proposals[1], text="亲属")
    rounds.run_assignment(round_, by=secretary, now=NOW)
    assert (proposals[1].pk, pool[1].pk) not in current_pairs(round_)
    assert_valid(round_)


def test_locked_pairs_are_kept_on_a_rerun(round_, proposals, pool, secretary):
    rounds.run_assignment(round_, by=secretary, now=NOW)
    # Swap one solver pair for a worse one by hand: it is locked and survives the next run.
    project = proposals[1]
    victim = round_.assignments.filter(project=project).exclude(expert=pool[1]).first() or \
        round_.assignments.filter(project=project).first()
    rounds.remove_assignment(victim, by=secretary, now=NOW)
    on_it = {a.expert_id for a in round_.assignments.filter(project=project, status__in=rounds.CURRENT)}
    candidates = [e for e in pool[:7] if e.pk not in on_it and e.pk != victim.expert_id
                  and not rounds.hand_problems(round_, project, e)]
    manual = rounds.add_by_hand(round_, project, candidates[-1], by=secretary)
    assert manual.locked and manual.source == AssignmentSource.MANUAL
    run = rounds.run_assignment(round_, by=secretary, now=NOW)
    assert Assignment.objects.get(pk=manual.pk).status == AssignmentStatus.PROPOSED
    assert [project.pk, manual.expert_id] in run.inputs["locked"]
    assert [project.pk, victim.expert_id] in run.inputs["excluded"]
    assert (project.pk, victim.expert_id) not in current_pairs(round_)
    assert_valid(round_)


def test_compare_and_undo_restore_exactly(round_, proposals, pool, secretary):
    first = rounds.run_assignment(round_, by=secretary, now=NOW)
    lock_me = round_.assignments.order_by("pk").first()
    rounds.set_locked(lock_me, True, by=secretary)
    remove_me = round_.assignments.exclude(pk=lock_me.pk).order_by("pk").first()
    rounds.remove_assignment(remove_me, by=secretary, now=NOW)
    before = snapshot(round_)
    second = rounds.run_assignment(round_, by=secretary, now=NOW)
    assert second.number == 2
    assert sorted(row["id"] for row in second.before) == [row[0] for row in before]

    comparison = rounds.compare_runs(second)
    assert comparison.other == first
    mine = {(p, e) for p, e, *_ in second.result["pairs"]}
    theirs = {(p, e) for p, e, *_ in first.result["pairs"]}
    assert set(comparison.added) == mine - theirs
    assert set(comparison.removed) == theirs - mine
    assert (remove_me.project_id, remove_me.expert_id) in comparison.removed
    assert set(comparison.kept) == mine & theirs
    assert comparison.change == pytest.approx(second.total_affinity - first.total_affinity)

    with pytest.raises(TransitionRefused):
        rounds.undo_run(first, by=secretary, now=NOW)  # not the latest
    rounds.undo_run(second, by=secretary, now=NOW)
    assert snapshot(round_) == before
    assert Assignment.objects.get(pk=lock_me.pk).locked
    second.refresh_from_db()
    assert second.undone_at == NOW and second.undone_by == secretary
    with pytest.raises(TransitionRefused):
        rounds.undo_run(second, by=secretary, now=NOW)
    with pytest.raises(TransitionRefused):  # now the latest run, but a pair of it was removed by hand
        rounds.undo_run(first, by=secretary, now=NOW)
    assert snapshot(round_) == before


def test_infeasible_round_is_diagnosed_naming_the_proposals_and_nothing_changes(
    english, round_, proposals, pool, secretary
):
    crowded = proposals[2]
    for i in range(6):  # team members from six of the seven expert units: few experts are left
        MemberFactory(project=crowded, name=f"成员{i}", unit=EXPERT_UNITS[i])
    refresh_conflicts(projects=[crowded])
    messages = rounds.diagnose_round(round_)
    assert len(messages) == 1
    assert crowded.title in messages[0] and crowded.receipt_number in messages[0]
    assert "needs 3 experts" in messages[0] and "in conflict with it" in messages[0]

    with pytest.raises(TransitionRefused) as refused:
        rounds.run_assignment(round_, by=secretary, now=NOW)
    assert refused.value.messages == messages
    assert not Assignment.objects.exists()
    run = AssignmentRun.objects.get()
    assert not run.feasible and run.result["shortfalls"] == messages


def test_too_few_places_for_the_round(english, round_, secretary):
    ReviewRound.objects.filter(pk=round_.pk).update(load_limit=1)
    round_.refresh_from_db()
    messages = rounds.diagnose_round(round_)
    assert any("The round needs 12 reviews" in m and "only 10 places" in m for m in messages)


def test_run_refused_when_the_round_is_closed(english, round_, secretary):
    ReviewRound.objects.filter(pk=round_.pk).update(state="closed")
    with pytest.raises(TransitionRefused) as refused:
        rounds.run_assignment(round_, by=secretary, now=NOW)
    assert "can no longer change" in refused.value.messages[0]


# ---- by hand ------------------------------------------------------------------------------------


def test_add_by_hand_refuses_conflicts_colleagues_overload_and_duplicates(
    english, round_, proposals, pool, secretary
):
    project = proposals[0]
    with pytest.raises(TransitionRefused) as refused:
        rounds.add_by_hand(round_, project, pool[9], by=secretary)  # the PI's unit
    assert "may not review" in refused.value.messages[0]
    assert "Same unit as the PI or a member" in refused.value.messages[0]

    first = rounds.add_by_hand(round_, project, pool[7], by=secretary)
    with pytest.raises(TransitionRefused) as refused:
        rounds.add_by_hand(round_, project, pool[8], by=secretary)  # pool[7]'s colleague
    assert any("of the same unit (厦门大学)" in m for m in refused.value.messages)
    with pytest.raises(TransitionRefused) as refused:
        rounds.add_by_hand(round_, project, pool[7], by=secretary)
    assert any("already reviews" in m for m in refused.value.messages)

    rounds.add_by_hand(round_, proposals[1], pool[7], by=secretary)  # m = 2 reached
    with pytest.raises(TransitionRefused) as refused:
        rounds.add_by_hand(round_, proposals[2], pool[7], by=secretary)
    assert any("already has 2 proposals in this round, the most allowed (2)" in m for m in refused.value.messages)
    assert round_.assignments.count() == 2
    assert first.locked and first.status == AssignmentStatus.PROPOSED
    assert set(first.affinity_parts) == {"discipline", "text"}


def test_a_possible_conflict_blocks_a_pair_by_hand_until_dismissed(english, round_, proposals, pool, secretary):
    user = UserFactory(username="abbrev", real_name="专家缩写", institution=None, role=roles.EXPERT)
    abbreviated = ExpertProfileFactory(user=user, institution=None, unit_name="华东师大", disciplines=["老年教育"])
    with pytest.raises(TransitionRefused) as refused:
        rounds.add_by_hand(round_, proposals[0], abbreviated, by=secretary)
    assert "possible, still to be decided" in refused.value.messages[0]
    assert not round_.assignments.exists()
    from reviews.conflicts import decide_conflict

    conflict = Conflict.objects.get(project=proposals[0], expert=abbreviated)
    decide_conflict(conflict, by=secretary, confirm=False, reason="两个不同单位", now=NOW)
    assert rounds.add_by_hand(round_, proposals[0], abbreviated, by=secretary).expert == abbreviated


def test_remove_takes_access_away_at_once(round_, proposals, pool, secretary):
    rounds.run_assignment(round_, by=secretary, now=NOW)
    rounds.open_round(round_, by=secretary, now=NOW)
    assignment = round_.assignments.first()
    user = assignment.expert.user
    from reviews.access import assignments_of

    assert assignments_of(user).filter(pk=assignment.pk).exists()
    rounds.remove_assignment(assignment, by=secretary, now=NOW)
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.REMOVED and assignment.removed_at == NOW
    assert not assignments_of(user).filter(pk=assignment.pk).exists()


# ---- opening and closing ------------------------------------------------------------------------


def test_open_and_close_drive_the_projects_and_write_the_log(
    round_, proposals, pool, secretary, mailoutbox, django_capture_on_commit_callbacks
):
    rounds.run_assignment(round_, by=secretary, now=NOW)
    with django_capture_on_commit_callbacks(execute=True):
        rounds.open_round(round_, by=secretary, now=NOW)
    round_.refresh_from_db()
    assert round_.state == "open" and round_.opened_at == NOW
    assert {p.state for p in round_.projects.all()} == {"in_review"}
    assert set(round_.assignments.values_list("status", flat=True)) == {AssignmentStatus.INVITED}
    assert set(round_.assignments.values_list("invited_at", flat=True)) == {NOW}
    assert TransitionLog.objects.filter(transition="open_round", object_id=round_.pk).count() == 1
    assert TransitionLog.objects.filter(transition="start_review", project__in=proposals).count() == 4

    experts = set(round_.assignments.values_list("expert__user__email", flat=True))
    invitations = [m for m in mailoutbox if "Invitation" in m.subject or "邀请" in m.subject]
    assert len(invitations) == len(experts)
    assert {m.to[0] for m in invitations} == experts
    for mail in invitations:
        assert settings.SITE_URL + reverse("expert-dashboard") in mail.body  # a full address, not a bare path
        for project in proposals:
            assert project.receipt_number not in mail.body and project.pi.real_name not in mail.body

    rounds.close_round(round_, by=secretary, now=NOW + dt.timedelta(days=30))
    round_.refresh_from_db()
    assert round_.state == "closed"
    assert {p.state for p in round_.projects.all()} == {"reviewed"}
    assert TransitionLog.objects.filter(transition="close_review", project__in=proposals).count() == 4


def test_a_run_in_an_open_round_keeps_the_invited_and_fills_the_gaps(
    round_, proposals, pool, secretary, mailoutbox, django_capture_on_commit_callbacks
):
    rounds.run_assignment(round_, by=secretary, now=NOW)
    rounds.open_round(round_, by=secretary, now=NOW)
    gone = round_.assignments.order_by("pk").first()
    rounds.remove_assignment(gone, by=secretary, now=NOW)
    invited = set(round_.assignments.filter(status=AssignmentStatus.INVITED).values_list("pk", flat=True))
    later = NOW + dt.timedelta(days=2)
    with django_capture_on_commit_callbacks(execute=True):
        run = rounds.run_assignment(round_, by=secretary, now=later)
    assert invited <= set(round_.assignments.filter(status=AssignmentStatus.INVITED).values_list("pk", flat=True))
    new = round_.assignments.get(run=run)
    assert new.project_id == gone.project_id and new.expert_id != gone.expert_id
    assert new.status == AssignmentStatus.INVITED and new.invited_at == later
    assert mailoutbox[-1].to == [new.expert.user.email]
    assert_valid(round_)
    with pytest.raises(TransitionRefused):
        rounds.undo_run(run, by=secretary, now=later)  # undo is for rounds in preparation


def test_open_is_refused_while_a_proposal_lacks_experts(english, round_, secretary):
    with pytest.raises(TransitionRefused) as refused:
        rounds.open_round(round_, by=secretary, now=NOW)
    assert "4 proposals have fewer than 3 experts." in refused.value.messages
    round_.refresh_from_db()
    assert round_.state == "draft"
    assert {p.state for p in round_.projects.all()} == {"eligible"}


def test_open_is_refused_while_a_possible_conflict_waits(english, round_, proposals, pool, secretary):
    rounds.run_assignment(round_, by=secretary, now=NOW)
    # A person named without a unit: a possible conflict, found by the check open_round runs first.
    ExpertDeclaration.objects.create(expert=pool[9], kind="other", person_name=proposals[0].pi.real_name)
    with pytest.raises(TransitionRefused) as refused:
        rounds.open_round(round_, by=secretary, now=NOW)
    assert "1 possible conflict is still to be confirmed or dismissed." in refused.value.messages


# ---- replacement ---------------------------------------------------------------------------------


def test_replacement_is_the_best_eligible_expert_and_never_a_conflicted_one(
    round_, proposals, pool, secretary, mailoutbox, django_capture_on_commit_callbacks
):
    rounds.run_assignment(round_, by=secretary, now=NOW)
    rounds.open_round(round_, by=secretary, now=NOW)
    declined = round_.assignments.filter(project=proposals[0]).order_by("-affinity").first()
    rp = rounds.build_problem(round_, without=declined)
    on_it = {a.expert_id for a in round_.assignments.filter(project=proposals[0], status__in=rounds.CURRENT)}
    units_on_it = {rounds.unit_key(rp.expert(e)) for e in on_it if e != declined.expert_id}
    load = Counter(round_.assignments.filter(status__in=rounds.CURRENT).values_list("expert_id", flat=True))
    eligible = [
        e for e in pool
        if e.pk not in on_it and (proposals[0].pk, e.pk) not in rp.conflicts
        and rounds.unit_key(e) not in units_on_it and load[e.pk] < 2
    ]
    assert eligible, "the fixture leaves somebody to replace with"
    best = max(eligible, key=lambda e: rp.figures(proposals[0].pk, e.pk)[0])

    # The best one becomes conflicted: he is passed over.
    ExpertDeclaration.objects.create(expert=best, kind="supervisor", project=proposals[0], text="导师")
    refresh_conflicts(projects=[proposals[0]])
    eligible.remove(best)
    second = max(eligible, key=lambda e: rp.figures(proposals[0].pk, e.pk)[0])

    Assignment.objects.filter(pk=declined.pk).update(status=AssignmentStatus.DECLINED, responded_at=NOW)
    declined.refresh_from_db()
    assert rounds.best_replacement(declined) == second
    with django_capture_on_commit_callbacks(execute=True):
        replacement = rounds.replace_declined(declined, by=secretary, now=NOW)
    assert replacement.expert == second and replacement.replaces == declined
    assert replacement.source == AssignmentSource.REPLACEMENT
    assert replacement.status == AssignmentStatus.INVITED and replacement.invited_at == NOW
    assert mailoutbox[-1].to == [second.user.email]
    # Asking again gives the same replacement, not a second one.
    assert rounds.replace_declined(declined, by=secretary, now=NOW) == replacement


@pytest.mark.rolled_back
def test_no_replacement_when_nobody_qualifies(round_, proposals, pool, secretary):
    rounds.run_assignment(round_, by=secretary, now=NOW)
    for expert in pool:  # everybody in conflict with the proposal
        ExpertDeclaration.objects.create(expert=expert, kind="other", project=proposals[0], text="回避")
    assignment = round_.assignments.filter(project=proposals[0]).first()
    rounds.remove_assignment(assignment, by=secretary, now=NOW)
    assert rounds.replace_declined(assignment, by=secretary, now=NOW) is None
