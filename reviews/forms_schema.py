"""The review form of a round as data: weighted criteria on a scale, recommendations, texts.

A form is a small JSON document stored on the round, so that a call may define
its own criteria (创新性, 预期成果 …) without code. The defaults are DESIGN.md's:
NSSF's 选题 ×3, 论证 ×5, 研究基础 ×2, each scored 3–10 (weighted total 30–100),
A 建议入围 / B 不建议入围.
"""

from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _

APPLICATION_FORM = {
    "criteria": [
        {"key": "topic", "name": "选题", "weight": 3,
         "points": "选题的理论意义和实践价值，与课题指南的契合程度，问题是否明确"},
        {"key": "argument", "name": "论证", "weight": 5,
         "points": "研究内容、思路方法的科学性与可行性，创新之处，预期成果的价值"},
        {"key": "foundation", "name": "研究基础", "weight": 2,
         "points": "前期相关研究积累，资料准备与研究条件"},
    ],
    "scale": {"min": 3, "max": 10},
    "recommendations": [{"code": "A", "label": "建议入围"}, {"code": "B", "label": "不建议入围"}],
}

MIDTERM_FORM = {
    "criteria": [
        {"key": "progress", "name": "研究进展", "weight": 5, "points": "按计划完成的研究任务，阶段性成果"},
        {"key": "quality", "name": "成果质量", "weight": 3, "points": "阶段性成果的学术价值与应用价值"},
        {"key": "plan", "name": "后续计划", "weight": 2, "points": "存在问题的分析与后续研究计划的可行性"},
    ],
    "scale": {"min": 3, "max": 10},
    "recommendations": [{"code": "pass", "label": "合格"}, {"code": "fail", "label": "不合格"}],
}

COMPLETION_FORM = {
    "criteria": [
        {"key": "value", "name": "学术价值与应用价值", "weight": 4, "points": "成果的理论贡献与实践意义"},
        {"key": "innovation", "name": "创新程度", "weight": 3, "points": "观点、方法或资料上的创新"},
        {"key": "completion", "name": "完成情况", "weight": 3, "points": "研究任务与预期成果的完成程度，成果规范"},
    ],
    "scale": {"min": 3, "max": 10},
    "recommendations": [
        {"code": "excellent", "label": "优秀"},
        {"code": "good", "label": "良好"},
        {"code": "pass", "label": "合格"},
        {"code": "fail", "label": "不合格"},
    ],
}

DEFAULT_FORMS = {"application": APPLICATION_FORM, "midterm": MIDTERM_FORM, "completion": COMPLETION_FORM}


def default_form(stage="application"):
    """A fresh copy of the default form of ``stage`` (a model default: never shared)."""
    import copy

    return copy.deepcopy(DEFAULT_FORMS[stage])


def form_problems(form):
    """What is wrong with a form document, as messages; [] when it can be used."""
    problems = []
    if not isinstance(form, dict):
        return [_("The review form must be a JSON object.")]
    criteria = form.get("criteria")
    if not isinstance(criteria, list) or not criteria:
        problems.append(_("The review form needs at least one criterion."))
        criteria = []
    keys = set()
    for number, criterion in enumerate(criteria, start=1):
        if not isinstance(criterion, dict) or not str(criterion.get("name", "")).strip():
            problems.append(_("Criterion %(n)s has no name.") % {"n": number})
            continue
        key = str(criterion.get("key", "")).strip()
        if not key or key in keys:
            problems.append(_("Criterion %(n)s needs a key of its own.") % {"n": number})
        keys.add(key)
        weight = criterion.get("weight")
        if not isinstance(weight, int) or isinstance(weight, bool) or weight <= 0:
            problems.append(_("The weight of criterion %(n)s must be a whole number above 0.") % {"n": number})
    scale = form.get("scale") or {}
    low, high = scale.get("min"), scale.get("max")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high)) or low >= high:
        problems.append(_("The scale needs whole numbers with the lowest below the highest."))
    options = form.get("recommendations")
    if not isinstance(options, list) or len(options) < 2:
        problems.append(_("The review form needs at least two recommendation options."))
    else:
        codes = [str(o.get("code", "")).strip() if isinstance(o, dict) else "" for o in options]
        if any(not c for c in codes) or len(set(codes)) != len(codes):
            problems.append(_("Every recommendation option needs a code of its own."))
    return problems


def total_range(form):
    """(lowest, highest) weighted total the form allows."""
    weight = sum(c["weight"] for c in form["criteria"])
    return weight * form["scale"]["min"], weight * form["scale"]["max"]


def score_problems(form, scores, *, complete=True):
    """Messages for scores outside the scale (and, when ``complete``, missing ones)."""
    problems = []
    low, high = form["scale"]["min"], form["scale"]["max"]
    for criterion in form["criteria"]:
        value = (scores or {}).get(criterion["key"])
        if value in (None, ""):
            if complete:
                problems.append(_("Please score “%(name)s”.") % {"name": criterion["name"]})
            continue
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            problems.append(
                _("The score of “%(name)s” must be a whole number from %(low)s to %(high)s.")
                % {"name": criterion["name"], "low": low, "high": high}
            )
    return problems


def weighted_total(form, scores):
    """Σ weight × score over the scored criteria, or None while any criterion is unscored."""
    values = [(scores or {}).get(c["key"]) for c in form["criteria"]]
    if any(not isinstance(v, int) or isinstance(v, bool) for v in values):
        return None
    total = sum(Decimal(c["weight"]) * v for c, v in zip(form["criteria"], values))
    return total.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def recommendation_label(form, code):
    for option in form.get("recommendations", ()):
        if option.get("code") == code:
            return option.get("label", code)
    return code
