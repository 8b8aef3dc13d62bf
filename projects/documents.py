"""The Word documents of a call and its applications: 申报通知, 申请书 and 活页.

Built with the shared helpers of ``docx_kit``. The 申请书 is the identified part
and carries everything; the 活页 that experts receive is built from the
``BlindDossier`` alone (see ``blind``), never from the project, so that no
name, unit or number can reach it.
"""

from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils import timezone, translation
from docx.shared import Cm

from accounts.models import TitleLevel

from . import docx_kit as kit
from .application import PLEDGE_TEXT
from .blind import FREE_TOPIC, OUTPUT_FORM_LABELS, blind_dossier
from .models import AttachmentPart, BudgetCategory, OutputKind
from .rules import rule

SHANGHAI = ZoneInfo("Asia/Shanghai")
DOCUMENT_LANGUAGE = "zh-hans"  # documents are in Chinese whatever the reader's interface language
CHINESE_NUMERALS = "一二三四五六七八九十"
NOT_FILLED = "（未填写）"


@dataclass(frozen=True)
class Criterion:
    """One weighted criterion of the review form (评审指标)."""

    name: str
    weight: int
    points: str  # 评价要点


# The default review form of DESIGN.md (NSSF's): the 活页's score sheet uses it when no
# review round's form is given (the PI's own download).
DEFAULT_CRITERIA = (
    Criterion("选题", 3, "选题的理论意义和实践价值，与课题指南的契合程度，问题是否明确"),
    Criterion("论证", 5, "研究内容、思路方法的科学性与可行性，创新之处，预期成果的价值"),
    Criterion("研究基础", 2, "前期相关研究积累，资料准备与研究条件"),
)
SCORE_RANGE = (3, 10)  # each criterion is scored from 3 to 10
RECOMMENDATIONS = (("A", "建议入围"), ("B", "不建议入围"))

BUDGET_LABELS = {
    BudgetCategory.MATERIALS: "资料费",
    BudgetCategory.TRAVEL: "调研差旅费",
    BudgetCategory.MEETINGS: "会议费",
    BudgetCategory.CONSULTING: "专家咨询费",
    BudgetCategory.PUBLISHING: "印刷出版费",
    BudgetCategory.OTHER: "其他",
}
ATTACHMENT_PART_LABELS = {AttachmentPart.ANONYMOUS: "活页附件", AttachmentPart.IDENTIFIED: "申请书附件"}
TITLE_LEVEL_LABELS = {
    TitleLevel.NONE: "无",
    TitleLevel.JUNIOR: "初级",
    TitleLevel.INTERMEDIATE: "中级",
    TitleLevel.ASSOCIATE_SENIOR: "副高级",
    TitleLevel.SENIOR: "正高级",
}



# ---- 申请书 -----------------------------------------------------------------------------


def application_form(project):
    """The application form (申请书), the identified part with every detail, as .docx bytes."""
    dossier = blind_dossier(project)
    doc = kit.new_document(title="课题申请书")
    _cover(doc, project)
    doc.add_page_break()
    _basic_information(doc, project, dossier)
    _principal_investigator(doc, project)
    _members(doc, project)
    kit.heading(doc, _numbered(4, "课题论证"))
    _argument(doc, dossier, level=2)
    _planned_outputs(doc, project)
    _budget(doc, project)
    _attachments(doc, project)
    _pledge(doc, project)
    return kit.to_bytes(doc)


def _cover(doc, project):
    for _ in range(3):
        doc.add_paragraph()
    kit.title_block(doc, project.call.title, subtitle="课题申请书")
    for _ in range(2):
        doc.add_paragraph()
    kit.field_table(
        doc,
        [
            ("课题类别", _class_label(project.call_class)),
            ("课题名称", project.title),
            ("课题负责人", project.pi.display_name),
            ("所在单位", _unit_name(project)),
            ("受理编号", project.receipt_number or "（提交后生成）"),
            ("填表日期", _date(_filled_on(project))),
        ],
    )


def _filled_on(project):
    """The day the form was submitted, or today for a draft (填表日期)."""
    if project.submitted_at:
        return timezone.localtime(project.submitted_at, SHANGHAI).date()
    return timezone.localdate(timezone=SHANGHAI)


def _basic_information(doc, project, dossier):
    kit.heading(doc, _numbered(1, "基本信息"))
    rows = [
        ("课题名称", dossier.title),
        ("课题类别", _class_label(project.call_class)),
        ("选题指南", dossier.theme),
        ("关键词", "；".join(dossier.keywords)),
        ("研究类型", dossier.research_type),
        ("学科分类", dossier.discipline),
        ("计划完成时间", _date(project.planned_end_date) if project.planned_end_date else NOT_FILLED),
    ]
    if project.number:
        rows.append(("课题编号", project.number))
    if project.abstract:
        rows.append(("课题摘要", project.abstract))
    kit.field_table(doc, rows)


def _principal_investigator(doc, project):
    pi = project.pi
    kit.heading(doc, _numbered(2, "课题负责人"))
    kit.field_table(
        doc,
        [
            ("姓名", pi.display_name),
            ("职称", pi.title),
            ("所在单位", _unit_name(project)),
            ("联系电话", pi.phone),
            ("电子邮箱", pi.email),
        ],
    )


def _members(doc, project):
    kit.heading(doc, _numbered(3, "课题组成员"))
    rows = [[member.name, member.title, member.unit, member.task] for member in project.members.all()]
    kit.grid_table(doc, ["姓名", "职称", "单位", "分工"], rows or [["（无）", "", "", ""]],
                   widths=[Cm(2.4), Cm(2.4), Cm(5.0), Cm(4.86)])


def _planned_outputs(doc, project):
    kit.heading(doc, _numbered(5, "预期成果"))
    rows = [
        [OUTPUT_FORM_LABELS.get(output.kind, OUTPUT_FORM_LABELS[OutputKind.OTHER]), output.title,
         _date(output.planned_date) if output.planned_date else ""]
        for output in project.planned_outputs.all()
    ]
    kit.grid_table(doc, ["成果形式", "成果名称", "计划完成时间"], rows or [["（无）", "", ""]],
                   widths=[Cm(2.6), Cm(8.4), Cm(3.66)])


def _budget(doc, project):
    kit.heading(doc, _numbered(6, "经费预算"))
    lines = list(project.budget_lines.all())
    rows = [[BUDGET_LABELS.get(line.category, line.category), _yuan(line.amount), line.note] for line in lines]
    rows.append(["合计", _yuan(sum((line.amount for line in lines), Decimal(0))), ""])
    kit.grid_table(doc, ["支出科目", "金额（元）", "说明"], rows, widths=[Cm(3.4), Cm(3.4), Cm(7.86)])


def _attachments(doc, project):
    kit.heading(doc, _numbered(7, "附件"))
    attachments = list(project.attachments.all())
    if not attachments:
        kit.paragraphs(doc, "无")
        return
    kit.grid_table(
        doc,
        ["序号", "文件名", "类别"],
        [[str(index), item.original_name, ATTACHMENT_PART_LABELS.get(item.part, item.part)]
         for index, item in enumerate(attachments, start=1)],
        widths=[Cm(1.6), Cm(9.4), Cm(3.66)],
    )


def _pledge(doc, project):
    kit.heading(doc, _numbered(8, "承诺"))
    with translation.override(DOCUMENT_LANGUAGE):
        # The very text the applicant accepted in the form, in the language of the documents.
        kit.paragraphs(doc, str(PLEDGE_TEXT))
    accepted = _moment(project.pledge_accepted_at) if project.pledge_accepted_at else "（尚未确认）"
    kit.field_table(doc, [("承诺人", project.pi.display_name), ("确认时间", accepted)])


# ---- 活页 -------------------------------------------------------------------------------


def anonymous_form(project, form=None, stage="application"):
    """The anonymous part (活页) an expert reviews: the score sheet, then the argument.

    Everything on it comes from ``blind_dossier(project)``; the project itself
    is not passed on, so this function cannot print what the dossier does not hold.
    ``form`` is a review round's form (the JSON document of ``reviews.forms_schema``:
    criteria with weights, a scale, recommendations) so that the expert's sheet
    shows the round's own criteria; without it (the PI's own download, before any
    round exists) the sheet shows DESIGN.md's default criteria.
    """
    return _anonymous_document(blind_dossier(project, stage), form)


def _anonymous_document(dossier, form=None):
    doc = kit.new_document(title="活页（匿名）")
    _score_sheet(doc, dossier, form)
    doc.add_page_break()
    kit.title_block(doc, "活页（匿名）", subtitle=f"课题名称：{dossier.title}")
    kit.field_table(
        doc,
        [
            ("关键词", "；".join(dossier.keywords)),
            ("研究类型", dossier.research_type),
            ("学科分类", dossier.discipline),
        ],
    )
    _argument(doc, dossier, level=1)
    if dossier.completion_summary:
        kit.heading(doc, "结题成果摘要（匿名）", level=1)
        kit.paragraphs(doc, dossier.completion_summary)
    if dossier.interim_summary:
        kit.heading(doc, "中期报告（匿名）", level=1)
        kit.paragraphs(doc, dossier.interim_summary)
    if dossier.planned_outputs:
        kit.heading(doc, "预期成果形式", level=2)
        kit.grid_table(doc, ["成果形式", "成果名称"], [list(pair) for pair in dossier.planned_outputs],
                       widths=[Cm(3.0), Cm(11.66)])
    return kit.to_bytes(doc)


def sheet_of(form=None):
    """(criteria, (low, high), recommendations) of a review form, or of the default sheet.

    The form is read as plain data (``projects`` does not import the review app):
    ``{"criteria": [{"name", "weight", "points"}], "scale": {"min", "max"},
    "recommendations": [{"code", "label"}]}``.
    """
    if not form:
        return DEFAULT_CRITERIA, SCORE_RANGE, RECOMMENDATIONS
    criteria = tuple(
        Criterion(str(c.get("name", "")), int(c.get("weight", 1)), str(c.get("points", "")))
        for c in form.get("criteria", ())
    )
    scale = form.get("scale") or {}
    score_range = (scale.get("min", SCORE_RANGE[0]), scale.get("max", SCORE_RANGE[1]))
    recommendations = tuple(
        (str(o.get("code", "")), str(o.get("label", ""))) for o in form.get("recommendations", ())
    ) or RECOMMENDATIONS
    return criteria or DEFAULT_CRITERIA, score_range, recommendations


def _score_sheet(doc, dossier, form=None):
    """评审意见表: the weighted criteria, the total, the recommendation and room for remarks."""
    criteria, (low, high), recommendations = sheet_of(form)
    total_low = sum(c.weight for c in criteria) * low
    total_high = sum(c.weight for c in criteria) * high
    kit.title_block(doc, "评审意见表", subtitle=dossier.call_title)
    kit.field_table(
        doc,
        [
            ("课题名称", dossier.title),
            ("课题类别", f"{dossier.class_code}类 {dossier.class_label}"),
            ("选题指南", dossier.theme),
        ],
    )
    table = kit.grid_table(
        doc,
        ["评价指标", "权重", "评价要点", f"得分（{low}–{high}）", "加权得分"],
        [[c.name, f"×{c.weight}", c.points, "", ""] for c in criteria]
        + [[f"加权总分（{total_low}–{total_high}）", "", "", "", ""]],
        widths=[Cm(2.2), Cm(1.4), Cm(6.66), Cm(2.2), Cm(2.2)],
    )
    total_row = table.rows[-1]
    total_row.cells[0].merge(total_row.cells[3])
    kit.paragraphs(
        doc,
        f"说明：各项指标按 {low}–{high} 分评分，加权得分 = 得分 × 权重，加权总分为各项加权得分之和"
        f"（{total_low}–{total_high} 分）。",
    )
    choices = "　　".join(f"□ {code} {label}" for code, label in recommendations)
    kit.field_table(
        doc,
        [
            ("推荐意见", choices),
            ("评审意见\n（反馈申请人）", "\n\n\n\n"),
            ("保密意见\n（供学术委员会）", "\n\n\n"),
            ("评审专家", "签名：　　　　　　　　日期：　　　　年　　月　　日"),
        ],
    )


def _argument(doc, dossier, level):
    for index, (title, text) in enumerate(dossier.sections, start=1):
        kit.heading(doc, f"（{_numeral(index)}）{title}" if level > 1 else _numbered(index, title), level=level)
        if not kit.paragraphs(doc, text):
            kit.paragraphs(doc, NOT_FILLED)


# ---- 申报通知 -------------------------------------------------------------------------------


def call_notice(call):
    """The call for applications (申报通知): text, window, classes, guide topics and rules."""
    classes = list(call.classes.all())
    doc = kit.new_document(title=call.title)
    kit.title_block(doc, call.title, subtitle="申报通知")
    kit.paragraphs(doc, call.description)
    kit.heading(doc, "申报时间")
    kit.paragraphs(doc, f"{_moment(call.opens_at)} 至 {_moment(call.deadline)}（北京时间），逾期不予受理。")
    kit.heading(doc, "课题类别与资助")
    kit.grid_table(
        doc,
        ["类别", "名称", "立项数量", "每项评审专家", "研究周期", "资助经费"],
        [
            [cls.code, cls.name, f"{cls.quota}项", f"{cls.experts_per_proposal}人", f"{cls.duration_months}个月",
             f"{_yuan(cls.funding)}元"]
            for cls in classes
        ],
    )
    kit.heading(doc, "选题指南")
    topics = list(call.topics.select_related("call_class"))
    kit.grid_table(
        doc,
        ["序号", "选题方向", "类别"],
        [[str(topic.number), topic.title, f"{topic.call_class.code}类" if topic.call_class else "不限"]
         for topic in topics] or [["", "（本年度不设选题指南）", ""]],
        widths=[Cm(1.6), Cm(10.66), Cm(2.4)],
    )
    kit.paragraphs(doc, f"申请人也可根据研究基础自拟题目申报（{FREE_TOPIC}）。")
    kit.heading(doc, "申报条件与要求")
    for index, sentence in enumerate(eligibility_rules(classes), start=1):
        kit.paragraphs(doc, f"{index}. {sentence}")
    return kit.to_bytes(doc)


def eligibility_rules(classes):
    """The rules of the call in words, with the numbers of each class (one sentence when they agree)."""
    return [
        _by_class(classes, "MIN_PI_TITLE_LEVEL", _title_rule),
        "每位申请人在本年度作为课题负责人限报1项。",
        _by_class(classes, "REVOCATION_BAR_YEARS", lambda n: f"有未结题的协会课题，或近{n}年内被撤项者，不得申报。"),
        _by_class(classes, "TITLE_MAX_LENGTH", lambda n: f"课题名称不超过{n}个字，不加副标题。"),
        _by_class(classes, "MAX_KEYWORDS", lambda n: f"关键词不超过{n}个。"),
        _by_class(
            classes,
            "ARGUMENT_MAX_CHARS",
            lambda n: f"活页不超过{n}个字，不得出现申请人及课题组成员的姓名、单位等信息（以***代替）。",
        ),
    ]


def _title_rule(level):
    if level <= TitleLevel.NONE:
        return "课题负责人不限专业技术职称。"
    if level >= TitleLevel.SENIOR:
        return f"课题负责人须具有{TITLE_LEVEL_LABELS[TitleLevel.SENIOR]}专业技术职称。"
    return f"课题负责人须具有{TITLE_LEVEL_LABELS[TitleLevel(level)]}及以上专业技术职称。"


def _by_class(classes, name, sentence):
    values = [(cls.code, rule(name, cls)) for cls in classes] or [("", rule(name))]
    if len({value for _code, value in values}) == 1:
        return sentence(values[0][1])
    return "".join(f"{code}类{sentence(value)}" for code, value in values)


# ---- formatting -------------------------------------------------------------------------------


def _numeral(n):
    return CHINESE_NUMERALS[n - 1] if n <= len(CHINESE_NUMERALS) else str(n)


def _numbered(n, title):
    return f"{_numeral(n)}、{title}"


def _class_label(call_class):
    return f"{call_class.code}类 {call_class.name}"


def _unit_name(project):
    unit = project.institution or project.pi.institution
    return unit.name if unit else ""


def _date(value):
    return f"{value.year}年{value.month}月{value.day}日"


def _moment(value):
    local = timezone.localtime(value, SHANGHAI)
    return f"{_date(local)} {local:%H:%M}"


def _yuan(amount):
    amount = Decimal(amount)
    return f"{amount:,.0f}" if amount == amount.to_integral_value() else f"{amount:,.2f}"
