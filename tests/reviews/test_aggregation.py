"""Aggregation (评审结果汇总) on hand-computed examples, aliases, and the ranking of a class.

The builders at the top are shared with ``test_ranking_views`` and ``test_exports``.
"""

import datetime as dt
import math

import pytest
from django.utils import timezone

from reviews.aggregation import (
    AggregationRules,
    ReviewResult,
    class_ranking,
    counted_reviews,
    ensure_aliases,
    expert_z_scores,
    percentiles,
    recommendations_split,
    round_results,
    shortlist_size,
    summarise,
    trimmed_mean,
)
from reviews.forms_schema import APPLICATION_FORM
from reviews.models import Assignment, AssignmentStatus
from tests.factories import CallClassFactory, CallFactory, ProjectFactory
from tests.reviews.factories import ExpertProfileFactory, ReviewFactory, ReviewRoundFactory

T0 = timezone.make_aware(dt.datetime(2023, 6, 1, 9, 0))
OPTIONS = APPLICATION_FORM["recommendations"]


# ---- builders -------------------------------------------------------------------------------


def make_expert(n):
    """An expert with a name and username no page may show (评审人 + letter)."""
    return ExpertProfileFactory(user__username=f"reviewer_zq{n}", user__real_name=f"评审人{chr(0x4e00 + 100 + n)}{n}")


def make_round(call_class=None, **kwargs):
    return ReviewRoundFactory(call_class=call_class or CallClassFactory(), state="open", **kwargs)


_receipts = iter(range(1, 100000))


def make_proposal(round, title=None):
    number = next(_receipts)
    project = ProjectFactory(
        call_class=round.call_class, state="in_review", receipt_number=f"SB2023{number:05d}",
        **({"title": title} if title else {}),
    )
    round.projects.add(project)
    return project


def score(total):
    """Scores whose weighted total (3/5/2) is ``total``, a multiple of 10 from 30 to 100."""
    assert total % 10 == 0
    each = total // 10
    return {"topic": each, "argument": each, "foundation": each}


def make_review(round, project, expert, total, *, recommendation="A", at=None, **kwargs):
    return ReviewFactory(
        assignment__round=round, assignment__project=project, assignment__expert=expert,
        scores=score(total), recommendation=recommendation, submitted_at=at or T0, **kwargs,
    )


def make_proposal_with(round, totals, experts, recommendations=None, title=None):
    """A proposal of ``round`` with one submitted review per total, by ``experts`` in order."""
    project = make_proposal(round, title=title)
    for i, total in enumerate(totals):
        rec = recommendations[i] if recommendations else "A"
        make_review(round, project, experts[i], total, recommendation=rec, at=T0 + dt.timedelta(minutes=i))
    return project


def result_of(round, project):
    return next(r for r in round_results(round) if r.project.pk == project.pk)


@pytest.fixture
def experts(db):
    return [make_expert(n) for n in range(1, 8)]


# ---- pure statistics ------------------------------------------------------------------------


def reviews_of(totals, recommendations=None, z=None):
    return [
        ReviewResult(alias_number=i + 1, scores={}, total=float(t),
                     recommendation=(recommendations[i] if recommendations else "A"), z=(z[i] if z else None))
        for i, t in enumerate(totals)
    ]


def test_five_reviews_drop_highest_and_lowest():
    result = summarise(reviews_of([40, 70, 80, 80, 100]), OPTIONS, AggregationRules.of())
    assert result.n == 5
    assert result.mean == pytest.approx(74)
    assert result.trimmed_mean == pytest.approx((70 + 80 + 80) / 3)
    assert result.headline == result.trimmed_mean
    assert result.spread == 60
    # sample deviation: squares 1156 + 16 + 36 + 36 + 676 = 1920, / 4 = 480
    assert result.std == pytest.approx(math.sqrt(480))
    assert result.valid


def test_four_reviews_are_not_trimmed():
    result = summarise(reviews_of([60, 80, 80, 90]), OPTIONS, AggregationRules.of())
    assert result.mean == pytest.approx(77.5)
    assert result.trimmed_mean == pytest.approx(77.5)
    assert trimmed_mean([60, 80, 80, 90], 5) == pytest.approx(77.5)


def test_fewer_than_three_reviews_are_invalid():
    assert not summarise(reviews_of([80, 90]), OPTIONS, AggregationRules.of()).valid
    assert summarise(reviews_of([80, 90, 70]), OPTIONS, AggregationRules.of()).valid
    empty = summarise([], OPTIONS, AggregationRules.of())
    assert (empty.n, empty.mean, empty.headline, empty.valid) == (0, None, None, False)


def test_disagreement_by_spread():
    rules = AggregationRules.of()
    assert summarise(reviews_of([70, 90, 80]), OPTIONS, rules).disagreement  # spread 20
    assert not summarise(reviews_of([71, 90, 80]), OPTIONS, rules).disagreement  # spread 19


def test_disagreement_by_split_recommendations():
    rules = AggregationRules.of()
    split = summarise(reviews_of([80] * 5, list("AAABB")), OPTIONS, rules)
    assert split.disagreement and split.split_recommendations
    clear = summarise(reviews_of([80] * 5, list("AAAAB")), OPTIONS, rules)
    assert not clear.disagreement
    assert recommendations_split([2, 1])  # a third is not under a third
    assert not recommendations_split([3, 1])
    assert not recommendations_split([3, 0])


def test_recommendation_counts_follow_the_form():
    result = summarise(reviews_of([80] * 5, list("ABABA")), OPTIONS, AggregationRules.of())
    assert [(c.code, c.label, c.count) for c in result.recommendations] == [("A", "建议入围", 3), ("B", "不建议入围", 2)]


def test_z_scores_only_for_experts_with_enough_reviews():
    entries = [(f"e5-{t}", "e5", t) for t in (60, 70, 80, 90, 100)] + [(f"e3-{t}", "e3", t) for t in (60, 80, 100)]
    z = expert_z_scores(entries, 5)
    # mean 80, population deviation √200
    assert z["e5-100"] == pytest.approx(20 / math.sqrt(200))
    assert z["e5-60"] == pytest.approx(-20 / math.sqrt(200))
    assert z["e5-80"] == pytest.approx(0)
    assert not any(key.startswith("e3") for key in z)
    assert expert_z_scores([(k, "flat", 80) for k in range(6)], 5) == {}  # no deviation, no z


def test_percentile_is_the_share_strictly_below():
    assert percentiles([80, 90, 60, None], [90, 80, 70, 85, 60]) == [40.0, 80.0, 0.0, None]


def test_shortlist_is_about_twice_the_quota():
    assert shortlist_size(3, 2) == 6
    assert shortlist_size(3, 1.5) == 5  # 4.5 rounds half up
    assert shortlist_size(0, 2) == 0


# ---- from the database ----------------------------------------------------------------------


def test_round_results_from_submitted_reviews(experts):
    round = make_round()
    project = make_proposal_with(round, [40, 70, 80, 80, 100], experts, list("AABAA"))
    # A draft and a removed assignment's review do not count.
    ReviewFactory(assignment__round=round, assignment__project=project, assignment__expert=experts[5],
                  state="draft", submitted_at=None)
    make_review(round, project, experts[6], 30, recommendation="B",
                assignment__status=AssignmentStatus.REMOVED)
    result = result_of(round, project)
    assert result.n == 5
    assert result.mean == pytest.approx(74)
    assert result.trimmed_mean == pytest.approx(230 / 3)
    assert [(c.code, c.count) for c in result.recommendations] == [("A", 4), ("B", 1)]
    assert [r.alias for r in result.reviews] == ["专家1", "专家2", "专家3", "专家4", "专家5"]
    assert [r.total for r in result.reviews] == [40, 70, 80, 80, 100]
    assert result.reviews[0].criteria_scores == (("选题", 4), ("论证", 4), ("研究基础", 4))


def test_review_submitted_before_declining_still_counts(experts):
    round = make_round()
    project = make_proposal_with(round, [80, 80, 80], experts)
    Assignment.objects.filter(project=project, expert=experts[0]).update(status=AssignmentStatus.DECLINED)
    assert result_of(round, project).n == 3


def test_normalised_score_uses_experts_with_five_reviews(experts):
    round = make_round()
    steady, few = experts[0], experts[1]
    projects = [make_proposal(round) for _ in range(5)]
    for project, total in zip(projects, (60, 70, 80, 90, 100)):
        make_review(round, project, steady, total)
    for project, total in zip(projects[2:], (70, 90, 50)):
        make_review(round, project, few, total)
    lone = make_proposal(round)
    make_review(round, lone, few, 80)
    results = {r.project.pk: r for r in round_results(round)}
    assert results[projects[4].pk].normalised == pytest.approx(20 / math.sqrt(200))
    assert results[projects[0].pk].normalised == pytest.approx(-20 / math.sqrt(200))
    assert results[projects[2].pk].normalised == pytest.approx(0)
    assert results[lone.pk].normalised is None  # only an expert with 4 reviews


def test_percentile_within_the_call_across_classes(experts):
    call = CallFactory()
    round_a = make_round(CallClassFactory(call=call, code="A"))
    round_b = make_round(CallClassFactory(call=call, code="B"))
    a90, a80, a70 = (make_proposal_with(round_a, [t] * 3, experts) for t in (90, 80, 70))
    b100, b60 = (make_proposal_with(round_b, [t] * 3, experts) for t in (100, 60))
    # Another call's proposals are not in the population.
    make_proposal_with(make_round(), [100] * 3, experts)
    ranking_a = {r.project.pk: r.percentile for r in class_ranking(round_a.call_class).rows}
    # The population: 90, 80, 70 (A) and 100, 60 (B).
    assert ranking_a == {a90.pk: 60.0, a80.pk: 40.0, a70.pk: 20.0}
    ranking_b = {r.project.pk: r.percentile for r in class_ranking(round_b.call_class).rows}
    assert ranking_b == {b100.pk: 80.0, b60.pk: 0.0}


# ---- aliases --------------------------------------------------------------------------------


def aliases(project):
    return dict(Assignment.objects.filter(project=project).values_list("expert_id", "alias_number"))


def test_aliases_follow_first_submission_and_stay(experts):
    round = make_round()
    project = make_proposal(round)
    # Created in one order, submitted in another.
    make_review(round, project, experts[0], 80, at=T0 + dt.timedelta(hours=3))
    make_review(round, project, experts[1], 80, at=T0 + dt.timedelta(hours=1))
    make_review(round, project, experts[2], 80, at=T0 + dt.timedelta(hours=2))
    ReviewFactory(assignment__round=round, assignment__project=project, assignment__expert=experts[3],
                  state="draft", submitted_at=None)
    assert ensure_aliases(round) == 3
    first = aliases(project)
    assert first == {experts[0].pk: 3, experts[1].pk: 1, experts[2].pk: 2, experts[3].pk: None}
    assert ensure_aliases(round) == 0

    make_review(round, project, experts[4], 90, at=T0 + dt.timedelta(hours=5))
    ensure_aliases(round)
    assert aliases(project) == {**first, experts[4].pk: 4}


def test_aliases_are_not_reused_after_a_removal(experts):
    round = make_round()
    project = make_proposal_with(round, [70, 80, 90], experts)
    ensure_aliases(round)
    removed = Assignment.objects.get(project=project, alias_number=2)
    Assignment.objects.filter(pk=removed.pk).update(status=AssignmentStatus.REMOVED)
    make_review(round, project, experts[5], 60, at=T0 + dt.timedelta(days=1))
    result = result_of(round, project)
    assert [(r.alias, r.total) for r in result.reviews] == [("专家1", 70), ("专家3", 90), ("专家4", 60)]


def test_aliases_are_numbered_per_proposal(experts):
    round = make_round()
    one = make_proposal_with(round, [70, 80, 90], experts)
    two = make_proposal_with(round, [70, 80, 90], experts[3:])
    ensure_aliases(round)
    assert sorted(aliases(one).values()) == sorted(aliases(two).values()) == [1, 2, 3]


# ---- the ranking ----------------------------------------------------------------------------


def test_ranking_order_quota_line_and_shortlist(experts):
    call_class = CallClassFactory(quota=2)
    round = make_round(call_class)
    # Ties on the trimmed mean (80) are broken by the mean: 82 before 78.
    tie_high = make_proposal_with(round, [70, 80, 80, 80, 100], experts)
    tie_low = make_proposal_with(round, [60, 80, 80, 80, 90], experts)
    top = make_proposal_with(round, [90, 90, 90], experts)
    third = make_proposal_with(round, [70, 70, 70], experts)
    # Equal in everything: the receipt number decides.
    same_a = make_proposal_with(round, [60, 60, 60], experts)
    same_b = make_proposal_with(round, [60, 60, 60], experts)
    too_few = make_proposal_with(round, [100, 100], experts)
    nothing = make_proposal(round)

    ranking = class_ranking(call_class)
    order = [row.project.pk for row in ranking.rows]
    assert order == [top.pk, tie_high.pk, tie_low.pk, third.pk, same_a.pk, same_b.pk, too_few.pk, nothing.pk]
    assert [row.rank for row in ranking.rows] == [1, 2, 3, 4, 5, 6, None, None]
    assert [row.within_quota for row in ranking.rows] == [True, True] + [False] * 6
    assert ranking.shortlist_size == 4
    assert [row.shortlisted for row in ranking.rows] == [True] * 4 + [False] * 4
    assert ranking.quota_line_drawn
    assert not ranking.rows[-2].valid and ranking.rows[-2].n == 2
    assert ranking.alias_numbers == (1, 2, 3, 4, 5)
    assert [cell is None for cell in ranking.rows[0].alias_cells] == [False, False, False, True, True]


def test_shortlist_never_exceeds_the_valid_proposals(experts):
    call_class = CallClassFactory(quota=3, rules={"SHORTLIST_FACTOR": 1.5})
    round = make_round(call_class)
    for total in (90, 80, 70, 60):
        make_proposal_with(round, [total] * 3, experts)
    ranking = class_ranking(call_class)
    assert ranking.shortlist_size == 4  # 5 by the rule, but only 4 are valid
    assert all(row.shortlisted for row in ranking.rows)


def test_ranking_uses_the_latest_open_or_closed_round(experts):
    call_class = CallClassFactory()
    old = make_round(call_class)
    make_proposal_with(old, [90] * 3, experts)
    newer = make_round(call_class)
    newest_project = make_proposal_with(newer, [70] * 3, experts)
    ReviewRoundFactory(call_class=call_class)  # a draft round is not ranked
    ranking = class_ranking(call_class)
    assert ranking.round == newer
    assert [row.project.pk for row in ranking.rows] == [newest_project.pk]
    assert class_ranking(call_class, "midterm").round is None


def test_a_submitted_review_without_a_total_is_not_counted_as_zero(db):
    round = make_round()
    experts = [make_expert(n) for n in range(1, 4)]
    project = make_proposal_with(round, [80, 80], experts)
    broken = make_review(round, project, experts[2], 80, at=T0 + dt.timedelta(minutes=5))
    type(broken).objects.filter(pk=broken.pk).update(total=None)

    result = result_of(round, project)

    assert result.n == 2 and result.mean == pytest.approx(80)
    assert broken.pk not in {r.pk for r in counted_reviews([round])}
