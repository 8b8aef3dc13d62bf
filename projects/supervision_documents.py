"""The mid-term check form (中期检查表) as a Word document, built with the shared ``docx_kit``.

In Chinese whatever the reader's language: it is the association's paper record
of the report and of the secretariat's decision.
"""

from django.utils import timezone

from . import docx_kit as kit
from .models import MidtermDecision

NOT_FILLED = "（未填写）"
DECISION_LABELS = {
    MidtermDecision.PASS: "合格",
    MidtermDecision.FAIL: "不合格，限期整改",
    MidtermDecision.TERMINATE: "终止",
}


def _date(value):
    if value is None:
        return ""
    if hasattr(value, "tzinfo") and hasattr(value, "hour"):
        value = timezone.localtime(value)
    return f"{value.year}年{value.month}月{value.day}日"


def midterm_form(project, report=None):
    """The 中期检查表 of ``project`` for ``report`` (default: the latest), as .docx bytes."""
    from .supervision import kickoff_of, latest_midterm

    report = report or latest_midterm(project)
    doc = kit.new_document(title="课题中期检查表")
    kit.title_block(doc, "课题中期检查表", project.call.title if project.call_id else None)

    kit.heading(doc, "一、基本信息", level=2)
    kit.field_table(doc, [
        ("课题编号", project.number or ""),
        ("课题名称", project.title),
        ("课题类别", f"{project.call_class.code}类 {project.call_class.name}"),
        ("课题负责人", f"{project.pi.display_name} {project.pi.title}".strip()),
        ("所在单位", project.institution.name if project.institution_id else ""),
        ("研究期限", f"{_date(project.start_date)}至{_date(project.end_date)}"),
        ("课题组成员", "、".join(m.name for m in project.members.all()) or "无"),
    ])

    kickoff = kickoff_of(project)
    kit.heading(doc, "二、开题情况", level=2)
    if kickoff is None:
        kit.paragraphs(doc, "尚未开题。")
    else:
        kit.field_table(doc, [("开题日期", _date(kickoff.held_on)), ("到会专家", kickoff.experts)])

    sections = (
        ("三、研究进展", report.progress if report else ""),
        ("四、阶段性成果", report.outputs_so_far if report else ""),
        ("五、存在问题", report.problems if report else ""),
        ("六、下一步研究计划", report.plan if report else ""),
    )
    for title, text in sections:
        kit.heading(doc, title, level=2)
        kit.paragraphs(doc, text or NOT_FILLED)
    if report is not None:
        kit.field_table(doc, [("报告提交日期", _date(report.submitted_at))])

    kit.heading(doc, "七、检查结论", level=2)
    rows = [("结论", DECISION_LABELS.get(report.decision, "待定") if report and report.decision else "待定")]
    if report and report.decision:
        rows.append(("意见", report.decision_reason or "无"))
        if report.decision == MidtermDecision.FAIL and project.rectification_deadline:
            rows.append(("整改期限", _date(project.rectification_deadline)))
        rows.append(("决定日期", _date(report.decided_at)))
    kit.field_table(doc, rows)
    kit.paragraphs(doc, "秘书处（盖章）")
    return kit.to_bytes(doc)
