"""The Word documents of the completion (结题): the 结题鉴定意见表 and the 结题证书.

Built with the shared helpers of ``docx_kit``, in Chinese whatever the reader's
language. The opinion gathers the experts' comments to the applicant under their
aliases (专家1, 专家2 … as ``reviews.aggregation`` numbers them): no expert's name,
no score, no confidential comment reaches it. ``build_completion_documents`` is
the Celery task that stores both as ``ProjectDocument``\\ s (safe to run twice).
"""

from celery import shared_task
from django.conf import settings
from django.utils import timezone
from docx.enum.text import WD_ALIGN_PARAGRAPH

from . import docx_kit as kit
from .completion import GRADE_NAMES, GRADE_ORDER, appraisal_round, grade_counts, local_date, panel_reviews
from .models import CompletionReport, DocumentKind, Project
from .stored_documents import store_document
from .workflow import CompletionState, ProjectState

# The association's name as documents print it (as in ``letters``): settings.KETI_ASSOCIATION_NAME
# wins when it exists.
ASSOCIATION_NAME = "中国成人教育协会"


def association_name():
    return getattr(settings, "KETI_ASSOCIATION_NAME", ASSOCIATION_NAME)


# ---- 结题鉴定意见表 ----------------------------------------------------------------------------


def appraisal_opinion(project, report=None):
    """The appraisal opinion (结题鉴定意见表) of the latest appraised attempt, as .docx bytes."""
    report = report or _appraised_report(project)
    if report is None or not report.grade:
        raise ValueError("Only appraised completion materials have an appraisal opinion.")
    round_ = appraisal_round(report)
    reviews = _aliased_reviews(round_, project) if round_ is not None else []
    association = association_name()
    doc = kit.new_document(title="结题鉴定意见表")
    kit.title_block(doc, f"{association}科研课题", subtitle="结题鉴定意见表")
    counts = grade_counts(reviews)
    rows = [
        ("课题编号", project.number or "—"),
        ("课题名称", project.title),
        ("课题类别", _class_label(project)),
        ("课题负责人", project.pi.display_name),
        ("所在单位", _unit_name(project)),
        ("研究期限", _period(project)),
        ("鉴定次数", f"第{report.attempt}次鉴定"),
        ("鉴定方式", "通讯鉴定（匿名）" if round_ is not None else "秘书处组织鉴定"),
    ]
    if reviews:
        rows.append(("有效鉴定意见", f"{len(reviews)}份"))
        rows.append(("各等级意见", "；".join(
            f"{GRADE_NAMES[grade]} {counts.get(grade, 0)}份" for grade in reversed(GRADE_ORDER))))
    rows.append(("鉴定等级", GRADE_NAMES.get(report.grade, report.grade)))
    kit.field_table(doc, rows)
    kit.heading(doc, "一、专家鉴定意见")
    if not reviews:
        kit.paragraphs(doc, "（无书面专家意见）")
    for review in reviews:
        grade = GRADE_NAMES.get(review.recommendation, "")
        kit.heading(doc, f"专家{review.assignment.alias_number}" + (f"（{grade}）" if grade else ""), level=3)
        if not kit.paragraphs(doc, review.comments_to_applicant):
            kit.paragraphs(doc, "（未填写意见）")
    kit.heading(doc, "二、鉴定结论")
    kit.paragraphs(doc, _conclusion(project, report))
    doc.add_paragraph()
    _right(doc, association)
    _right(doc, _date(local_date(report.appraised_at or timezone.now())))
    return kit.to_bytes(doc)


def _aliased_reviews(round_, project):
    from reviews.aggregation import ensure_aliases

    ensure_aliases(round_)
    return sorted(panel_reviews(round_, project), key=lambda r: (r.assignment.alias_number or 0, r.pk))


def _conclusion(project, report):
    grade = GRADE_NAMES.get(report.grade, report.grade)
    if report.grade != "fail":
        return f"经专家鉴定，课题“{project.title}”鉴定等级为“{grade}”，准予结题。"
    if project.state == ProjectState.REVOKED:
        return f"经专家鉴定，课题“{project.title}”鉴定等级为“{grade}”。该课题两次鉴定不合格，予以撤项。"
    return (f"经专家鉴定，课题“{project.title}”鉴定等级为“{grade}”，暂不予结题。"
            "请课题组根据专家意见认真修改完善后，重新提交结题材料申请鉴定。")


# ---- 结题证书 ------------------------------------------------------------------------------------


def certificate(project):
    """The completion certificate (结题证书) with its number, as .docx bytes."""
    if not project.certificate_number or project.state != ProjectState.COMPLETED:
        raise ValueError("Only a completed project with its certificate number has a certificate.")
    association = association_name()
    cls = project.call_class
    closed_on = local_date(project.closed_at or timezone.now())
    doc = kit.new_document(title="结题证书")
    for _ in range(2):
        doc.add_paragraph()
    kit.title_block(doc, f"{association}科研课题", subtitle="结题证书")
    _right(doc, f"证书编号：{project.certificate_number}")
    doc.add_paragraph()
    kit.paragraphs(
        doc,
        f"{_unit_name(project)}{project.pi.display_name}同志主持的{association}{project.call.year}年度"
        f"{cls.code}类（{cls.name}）科研课题“{project.title}”（课题编号：{project.number or '—'}），"
        f"经专家鉴定，鉴定等级为“{GRADE_NAMES.get(project.grade, project.grade)}”，准予结题。",
    )
    kit.paragraphs(doc, "特发此证。")
    doc.add_paragraph()
    members = "、".join(member.name for member in project.members.all()) or "（无）"
    kit.field_table(
        doc,
        [
            ("证书编号", project.certificate_number),
            ("课题编号", project.number or "—"),
            ("课题名称", project.title),
            ("课题类别", _class_label(project)),
            ("课题负责人", project.pi.display_name),
            ("课题组成员", members),
            ("所在单位", _unit_name(project)),
            ("鉴定等级", GRADE_NAMES.get(project.grade, project.grade)),
            ("结题日期", _date(closed_on)),
        ],
    )
    doc.add_paragraph()
    _right(doc, association)
    _right(doc, _date(closed_on))
    return kit.to_bytes(doc)


# ---- the task ----------------------------------------------------------------------------------


@shared_task
def build_completion_documents(project_id):
    """Build and store the 结题鉴定意见表 (after any appraisal) and the 结题证书 (once completed)."""
    project = (
        Project.objects.with_people().prefetch_related("members").filter(pk=project_id).first()
    )
    if project is None:
        return []
    built = []
    report = _appraised_report(project)
    if report is not None and report.grade:
        _store(project, DocumentKind.APPRAISAL_OPINION, appraisal_opinion(project, report))
        built.append(DocumentKind.APPRAISAL_OPINION)
    if project.certificate_number and project.state == ProjectState.COMPLETED:
        _store(project, DocumentKind.CERTIFICATE, certificate(project))
        built.append(DocumentKind.CERTIFICATE)
    return built


def _appraised_report(project):
    return (CompletionReport.objects.filter(project=project, state=CompletionState.APPRAISED)
            .order_by("-attempt").first())


def _store(project, kind, data):
    store_document(project, kind, data)


# ---- formatting ----------------------------------------------------------------------------------


def _right(doc, text):
    paragraph = doc.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    kit.set_chinese_font(paragraph.add_run(text), kit.BODY_FONT, kit.XIAO_SI)
    return paragraph


def _class_label(project):
    return f"{project.call_class.code}类 {project.call_class.name}"


def _unit_name(project):
    unit = project.institution or project.pi.institution
    return unit.name if unit else ""


def _period(project):
    if project.start_date and project.end_date:
        return f"{_date(project.start_date)} 至 {_date(project.end_date)}"
    return "—"


def _date(value):
    return f"{value.year}年{value.month}月{value.day}日"
