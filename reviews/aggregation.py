"""Aggregation of the experts' scores and the ranking per class (评审结果汇总与排序).

What counts
    A review counts when it is submitted (已提交) and its assignment was not
    removed (已撤销): a review submitted before the expert later declined stays
    valid, a review of an assignment the secretariat withdrew (a conflict found
    late, say) does not. Drafts never count.

Aliases (专家1, 专家2 …)
    The committee sees each review under an alias numbered per proposal in the
    order of first submission. ``ensure_aliases`` gives the numbers once and
    stores them on the assignment; they are never renumbered and never reused,
    so a later submission or a removal does not shift the others (专家2 stays
    专家2 in the minutes of every meeting). Nothing in this module loads an
    expert's name: a ``ReviewResult`` has no field for one.

The figures of a proposal (``ProposalResult``)
    - raw totals: each expert's weighted total, always kept and shown with its alias;
    - mean (平均分) of the valid totals;
    - trimmed mean (截尾均分, the headline score): with ``TRIM_FROM_REVIEWS`` (5)
      or more reviews the single highest and lowest totals are dropped before
      averaging, the rule of the national funds. One enthusiastic or hostile
      expert then cannot move a proposal alone; with fewer reviews dropping two
      would leave too little to average, so the trimmed mean equals the mean;
    - normalised score (标准化分): experts use the scale differently (one gives
      90s, another 70s to the same quality). Each of an expert's totals is
      turned into a z-score, (total − that expert's mean) / that expert's
      standard deviation, over the expert's own counted reviews in the round
      (population deviation, ddof=0: those reviews are the whole of what the
      expert scored). A mean and a deviation of two or three numbers say little
      about an expert's habits and would turn noise into large z's, so only
      experts with at least ``NORMALISE_MIN_REVIEWS`` (5) reviews contribute, and
      an expert who gave every proposal the same total (deviation 0) contributes
      none. The proposal's normalised score is the mean of the z's it has, None
      when it has none. It is shown beside the raw figures, never instead of them;
    - percentile (百分位) within the call: the share (0–100) of the call's
      proposals of the same stage, every class, whose headline score is strictly
      lower. The population is the proposals of each class's latest round that
      have at least one counted review;
    - counts of each recommendation (推荐意见), by the form's option code and label;
    - spread (极差, max − min) and standard deviation (标准差, sample deviation,
      ddof=1: the experts are a sample of those who could have reviewed; None
      below two reviews);
    - disagreement (分歧): the spread is at least ``DISAGREEMENT_SPREAD`` (20), or
      the recommendations are split so that neither side is under a third, that
      is the leading recommendation has at most two thirds of the reviews (for a
      two-option form exactly "the minority holds a third or more");
    - valid (有效): at least ``MIN_VALID_REVIEWS`` (3) counted reviews; a proposal
      with fewer is listed after the ranked ones, marked, without a rank.

The ranking of a class (``Ranking``)
    The results of the class's latest open or closed round, ordered by the
    headline score, ties broken by the mean, then the normalised score, then
    the receipt number. The quota line (限额线) falls after ``quota`` valid
    proposals; the shortlist (入围) is the first ``quota × SHORTLIST_FACTOR``
    valid ones (rounded half up: "about twice the quota").

The statistics are numpy's and scipy's; this module only chooses which numbers
go in. ``summarise`` and ``expert_z_scores`` are pure and take plain values,
so the rules can be tested on hand-computed examples.
"""

from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
from django.db import transaction
from django.db.models import Max
from scipy import stats

from projects.rules import rule

from .forms_schema import recommendation_label
from .models import Assignment, AssignmentStatus, Review, ReviewRound, Stage
from .workflow import ReviewState, RoundState

RANKED_ROUND_STATES = (RoundState.OPEN, RoundState.CLOSED)


# ---- values ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AggregationRules:
    """The rule numbers aggregation reads, from the call class (or the association's defaults)."""

    min_valid: int
    trim_from: int
    normalise_min: int
    disagreement_spread: float
    shortlist_factor: float

    @classmethod
    def of(cls, call_class=None):
        return cls(
            min_valid=rule("MIN_VALID_REVIEWS", call_class),
            trim_from=rule("TRIM_FROM_REVIEWS", call_class),
            normalise_min=rule("NORMALISE_MIN_REVIEWS", call_class),
            disagreement_spread=rule("DISAGREEMENT_SPREAD", call_class),
            shortlist_factor=rule("SHORTLIST_FACTOR", call_class),
        )


@dataclass(frozen=True)
class ReviewResult:
    """One counted review as the committee sees it: under its alias, with no expert in it."""

    alias_number: int | None
    scores: dict
    total: float
    recommendation: str
    recommendation_label: str = ""
    comments_to_applicant: str = ""
    comments_to_committee: str = ""
    z: float | None = None
    criteria_scores: tuple = ()  # (criterion name, score) in the form's order
    review_id: int | None = None  # for the secretariat's "reopen" button; names nobody

    @property
    def alias(self):
        return f"专家{self.alias_number}" if self.alias_number else "专家"


@dataclass(frozen=True)
class RecommendationCount:
    code: str
    label: str
    count: int


@dataclass(frozen=True)
class ProposalResult:
    """The aggregated review of one proposal in one round (see the module docstring)."""

    project: object  # projects.Project, with pi and institution loaded; None in pure computations
    round_id: int | None
    reviews: tuple = ()  # ReviewResult, by alias
    n: int = 0
    mean: float | None = None
    trimmed_mean: float | None = None
    normalised: float | None = None
    percentile: float | None = None
    recommendations: tuple = ()  # RecommendationCount, in the form's order
    spread: float | None = None
    std: float | None = None
    disagreement: bool = False
    split_recommendations: bool = False
    valid: bool = False
    # Set by ``class_ranking``.
    rank: int | None = None
    within_quota: bool = False
    shortlisted: bool = False
    alias_cells: tuple = ()  # ReviewResult or None per alias column of the ranking

    @property
    def headline(self):
        """The score the ranking orders by: the trimmed mean."""
        return self.trimmed_mean

    @property
    def totals(self):
        return tuple(review.total for review in self.reviews)


@dataclass(frozen=True)
class Ranking:
    """The ranked results of a class for one stage (see ``class_ranking``)."""

    call_class: object
    stage: str
    round: ReviewRound | None
    rows: tuple = ()
    quota: int = 0
    shortlist_size: int = 0
    alias_numbers: tuple = ()  # the alias columns, 1..N
    criteria: tuple = ()  # the round form's criteria
    options: tuple = ()  # the round form's recommendation options
    rules: AggregationRules | None = None

    @property
    def valid_count(self):
        return sum(1 for row in self.rows if row.valid)

    @property
    def quota_line_drawn(self):
        """The line is drawn when some valid proposal falls below it."""
        return 0 < self.quota < self.valid_count


# ---- aliases --------------------------------------------------------------------------------


def ensure_aliases(round):
    """Number the round's newly submitted reviews 专家1, 专家2 … per proposal; returns how many.

    Only assignments with a submitted review and no number yet get one, in the
    order of submission (then pk), continuing after the highest number the
    proposal ever had in the round, removed assignments included: numbers are
    never changed and never reused. Rows are locked so that two requests cannot
    give the same number.
    """
    with transaction.atomic():
        pending = list(
            Assignment.objects.select_for_update(of=("self",))
            .filter(round=round, alias_number__isnull=True, review__state=ReviewState.SUBMITTED)
            .exclude(status=AssignmentStatus.REMOVED)
            .order_by("project_id", "review__submitted_at", "pk")
        )
        if not pending:
            return 0
        highest = dict(
            Assignment.objects.filter(round=round, project_id__in={a.project_id for a in pending})
            .values("project_id")
            .annotate(top=Max("alias_number"))
            .values_list("project_id", "top")
        )
        for assignment in pending:
            number = (highest.get(assignment.project_id) or 0) + 1
            highest[assignment.project_id] = assignment.alias_number = number
        Assignment.objects.bulk_update(pending, ["alias_number"])
        return len(pending)


# ---- pure statistics ------------------------------------------------------------------------


def expert_z_scores(entries, min_reviews):
    """z-scores of each expert's totals across their own reviews: {key: z}.

    ``entries`` are (key, expert, total). Experts with fewer than ``min_reviews``
    entries, or whose totals are all equal, give no z (their keys are absent).
    """
    by_expert = {}
    for key, expert, total in entries:
        by_expert.setdefault(expert, []).append((key, float(total)))
    z = {}
    for items in by_expert.values():
        if len(items) < min_reviews:
            continue
        totals = np.array([total for _key, total in items])
        if np.ptp(totals) == 0:
            continue
        for (key, _total), value in zip(items, stats.zscore(totals)):
            z[key] = float(value)
    return z


def trimmed_mean(totals, trim_from):
    """The mean without the single highest and lowest total once there are ``trim_from`` or more."""
    values = np.sort(np.asarray(totals, dtype=float))
    if len(values) == 0:
        return None
    if len(values) >= max(trim_from, 3):
        values = values[1:-1]
    return float(np.mean(values))


def recommendations_split(counts):
    """True when the recommendations split with neither side under a third of the reviews."""
    n = sum(counts)
    return n >= 2 and 3 * max(counts) <= 2 * n


def count_recommendations(codes, options):
    """RecommendationCount per form option (in the form's order), then any code the form lacks."""
    counted = {}
    for code in codes:
        counted[code] = counted.get(code, 0) + 1
    result = [RecommendationCount(o["code"], o.get("label", o["code"]), counted.pop(o["code"], 0)) for o in options]
    result += [RecommendationCount(code, code, count) for code, count in counted.items()]
    return tuple(result)


def summarise(reviews, options, rules, *, project=None, round_id=None):
    """A ``ProposalResult`` from the proposal's counted reviews (``ReviewResult``s with their z)."""
    reviews = tuple(sorted(reviews, key=lambda r: (r.alias_number is None, r.alias_number or 0)))
    totals = np.array([r.total for r in reviews], dtype=float)
    n = len(reviews)
    recommendations = count_recommendations([r.recommendation for r in reviews if r.recommendation], options)
    split = recommendations_split([c.count for c in recommendations])
    if n == 0:
        return ProposalResult(project=project, round_id=round_id, recommendations=recommendations)
    spread = float(np.ptp(totals))
    z = [r.z for r in reviews if r.z is not None]
    return ProposalResult(
        project=project,
        round_id=round_id,
        reviews=reviews,
        n=n,
        mean=float(np.mean(totals)),
        trimmed_mean=trimmed_mean(totals, rules.trim_from),
        normalised=float(np.mean(z)) if z else None,
        recommendations=recommendations,
        spread=spread,
        std=float(np.std(totals, ddof=1)) if n >= 2 else None,
        disagreement=spread >= rules.disagreement_spread or split,
        split_recommendations=split,
        valid=n >= rules.min_valid,
    )


def percentiles(scores, population):
    """Percentile (0–100) of each score: the share of ``population`` strictly below it."""
    population = np.round(np.asarray(list(population), dtype=float), 6)
    if len(population) == 0:
        return [None for _ in scores]
    return [
        None if s is None else float(stats.percentileofscore(population, round(s, 6), kind="strict"))
        for s in scores
    ]


def ranking_key(result):
    """Headline score, then mean, then normalised score (all descending), then receipt number."""
    def descending(value):
        return -value if value is not None else float("inf")

    receipt = getattr(result.project, "receipt_number", None) or ""
    return (descending(result.headline), descending(result.mean), descending(result.normalised), receipt)


def shortlist_size(quota, factor):
    """About ``factor`` times the quota, rounded half up (1.5 × 3 → 5)."""
    return int((Decimal(quota) * Decimal(str(factor))).quantize(Decimal(1), rounding=ROUND_HALF_UP))


# ---- from the database ----------------------------------------------------------------------


def counted_reviews(rounds):
    """The reviews that count in ``rounds``: submitted, with a total, of an assignment not removed.

    A submitted review without a total (a damaged row) is left out rather than counted as 0.
    """
    return (
        Review.objects.filter(assignment__round__in=rounds, state=ReviewState.SUBMITTED, total__isnull=False)
        .exclude(assignment__status=AssignmentStatus.REMOVED)
        .select_related("assignment")
        .only(
            "scores", "total", "recommendation", "comments_to_applicant", "comments_to_committee", "submitted_at",
            "assignment__round_id", "assignment__project_id", "assignment__expert_id", "assignment__alias_number",
        )
        .order_by("assignment__round_id", "assignment__project_id", "assignment__alias_number", "pk")
    )


@dataclass(frozen=True, slots=True)
class _ReviewAssignment:
    round_id: int
    project_id: int
    expert_id: int
    alias_number: int | None


@dataclass(frozen=True, slots=True)
class CountedReview:
    """A counted review as a plain row, with the fields of ``counted_reviews`` under the same names."""

    pk: int
    scores: dict
    total: Decimal
    recommendation: str
    comments_to_applicant: str
    comments_to_committee: str
    assignment: _ReviewAssignment


def counted_review_rows(rounds):
    """``counted_reviews`` as plain rows: a national call's ranking reads tens of thousands of
    reviews, and building a model instance (and its assignment) for each took most of its time."""
    fields = ("pk", "scores", "total", "recommendation", "comments_to_applicant", "comments_to_committee",
              "assignment__round_id", "assignment__project_id", "assignment__expert_id", "assignment__alias_number")
    return [CountedReview(*row[:6], _ReviewAssignment(*row[6:]))
            for row in counted_reviews(rounds).values_list(*fields)]


def latest_rounds(call, stage):
    """The latest open or closed round of each class of ``call`` for ``stage``: {call_class_id: round}."""
    latest = {}
    rounds = (
        ReviewRound.objects.filter(call_class__call=call, stage=stage, state__in=RANKED_ROUND_STATES)
        .select_related("call_class")
        .order_by("-created_at", "-pk")
    )
    for round in rounds:
        latest.setdefault(round.call_class_id, round)
    return latest


def _review_result(review, form, z):
    criteria = tuple((c["name"], (review.scores or {}).get(c["key"])) for c in form.get("criteria", ()))
    return ReviewResult(
        alias_number=review.assignment.alias_number,
        scores=dict(review.scores or {}),
        total=float(review.total if review.total is not None else 0),
        recommendation=review.recommendation,
        recommendation_label=recommendation_label(form, review.recommendation),
        comments_to_applicant=review.comments_to_applicant,
        comments_to_committee=review.comments_to_committee,
        z=z,
        criteria_scores=criteria,
        review_id=review.pk,
    )


def _results_of(round, reviews, projects, rules):
    """Results of every proposal of ``round`` from its counted reviews (a list of Review)."""
    z = expert_z_scores(
        [(r.pk, r.assignment.expert_id, r.total) for r in reviews if r.total is not None], rules.normalise_min
    )
    by_project = {}
    for review in reviews:
        by_project.setdefault(review.assignment.project_id, []).append(_review_result(review, round.form, z.get(review.pk)))
    options = round.form.get("recommendations", ())
    return [summarise(by_project.get(p.pk, ()), options, rules, project=p, round_id=round.pk) for p in projects]


def _call_results(round):
    """Results of ``round``'s proposals, with percentiles over the call's latest rounds of its stage.

    Aliases are given first (``ensure_aliases``). A few queries whatever the size: the
    rounds of the call, the round's counted reviews, its proposals, and the totals of
    each other class's round.
    """
    ensure_aliases(round)
    peers = latest_rounds(round.call_class.call_id, round.stage)
    peers[round.call_class_id] = round
    own = counted_review_rows([round])
    projects = list(round.projects.select_related("pi", "institution").order_by("receipt_number", "pk"))
    rules = AggregationRules.of(round.call_class)
    results = _results_of(round, own, projects, rules)
    population = [result.headline for result in results if result.headline is not None]
    for peer in peers.values():
        if peer.pk != round.pk:  # of the other classes only their totals count
            totals = counted_reviews([peer]).values_list("assignment__project_id", "total")
            population += _peer_headlines(peer, totals)
    return [replace(result, percentile=value)
            for result, value in zip(results, percentiles([r.headline for r in results], population))], rules


def _peer_headlines(round, totals):
    """Headline scores of another class's proposals (for the call's percentiles)."""
    trim_from = rule("TRIM_FROM_REVIEWS", round.call_class)
    by_project = {}
    for project_id, total in totals:
        if total is not None:
            by_project.setdefault(project_id, []).append(float(total))
    return [trimmed_mean(totals, trim_from) for totals in by_project.values()]


def round_results(round):
    """The ``ProposalResult`` of every proposal of ``round``, in receipt-number order."""
    return _call_results(round)[0]


def latest_round(call_class, stage=Stage.APPLICATION):
    """The class's latest open or closed round of ``stage``, or None."""
    return (
        ReviewRound.objects.filter(call_class=call_class, stage=stage, state__in=RANKED_ROUND_STATES)
        .select_related("call_class")
        .order_by("-created_at", "-pk")
        .first()
    )


def class_ranking(call_class, stage=Stage.APPLICATION):
    """The ranking of ``call_class`` for ``stage`` from its latest open or closed round (see the docstring)."""
    round = latest_round(call_class, stage)
    if round is None:
        return Ranking(call_class=call_class, stage=stage, round=None, quota=call_class.quota,
                       rules=AggregationRules.of(call_class))
    results, rules = _call_results(round)
    return rank(results, round=round, call_class=call_class, stage=stage, rules=rules)


def rank(results, *, round, call_class, stage, rules):
    """Order ``results``, number the valid ones, mark the quota and the shortlist (pure)."""
    valid = sorted((r for r in results if r.valid), key=ranking_key)
    short = sorted((r for r in results if not r.valid), key=ranking_key)
    quota = call_class.quota
    shortlisted = min(shortlist_size(quota, rules.shortlist_factor), len(valid))
    aliases = tuple(range(1, max((rv.alias_number or 0 for r in results for rv in r.reviews), default=0) + 1))
    rows = []
    for position, result in enumerate(valid + short, start=1):
        ranked = result.valid
        rows.append(replace(
            result,
            rank=position if ranked else None,
            within_quota=ranked and position <= quota,
            shortlisted=ranked and position <= shortlisted,
            alias_cells=_alias_cells(result, aliases),
        ))
    form = round.form if round is not None else {}
    return Ranking(
        call_class=call_class, stage=stage, round=round, rows=tuple(rows), quota=quota,
        shortlist_size=shortlisted, alias_numbers=aliases, criteria=tuple(form.get("criteria", ())),
        options=tuple(form.get("recommendations", ())), rules=rules,
    )


def _alias_cells(result, aliases):
    by_alias = {review.alias_number: review for review in result.reviews}
    return tuple(by_alias.get(number) for number in aliases)
