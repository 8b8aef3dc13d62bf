"""The approval letter (立项通知书): the Word document a confirmed project receives, and its task.

Built with the shared helpers of ``docx_kit`` like every document of the office;
written in Chinese whatever the reader's interface language. The task stores it
as the project's ``ProjectDocument`` of kind ``approval_letter``; the PI's page
builds it on demand when the task has not run yet.
"""

from celery import shared_task
from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.utils import timezone
from docx.enum.text import WD_ALIGN_PARAGRAPH

from . import docx_kit as kit
from .documents import SHANGHAI, _class_label, _date, _unit_name, _yuan
from .models import DocumentKind, Project
from .rules import rule
from .stored_documents import store_document

# The sender of the letter. No setting names the association yet (only its number prefix,
# PROJECT_NUMBER_PREFIX); settings.KETI_ASSOCIATION_NAME wins when it exists.
ASSOCIATION_NAME = "中国成人教育协会"


def association_name():
    return getattr(settings, "KETI_ASSOCIATION_NAME", ASSOCIATION_NAME)


def approval_letter(project) -> bytes:
    """The 立项通知书 of a confirmed project (with its number and period), as .docx bytes."""
    if not project.number or not project.start_date or not project.end_date:
        raise ValueError("Only a confirmed project (with its number and period) has an approval letter.")
    association = association_name()
    cls = project.call_class
    year = project.call.year
    doc = kit.new_document(title="立项通知书")
    kit.title_block(doc, f"{association}科研课题", subtitle="立项通知书")
    _right(doc, f"课题编号：{project.number}")
    _line(doc, f"{_unit_name(project)} {project.pi.display_name} 同志：")
    kit.paragraphs(
        doc,
        f"经专家通讯评审、学术委员会会议评审和立项公示，您申报的课题“{project.title}”"
        f"被批准为{association}{year}年度{cls.code}类（{cls.name}）科研课题，现予正式立项。"
        "课题基本信息如下：",
    )
    kit.field_table(
        doc,
        [
            ("课题编号", project.number),
            ("课题名称", project.title),
            ("课题类别", _class_label(cls)),
            ("课题负责人", project.pi.display_name),
            ("所在单位", _unit_name(project)),
            ("资助经费", _funding(cls.funding)),
            ("研究期限", f"{_date(project.start_date)} 至 {_date(project.end_date)}"),
        ],
    )
    kit.heading(doc, "有关要求", level=2)
    for index, duty in enumerate(duties(project), start=1):
        kit.paragraphs(doc, f"{index}. {duty}")
    kit.paragraphs(doc, "特此通知。")
    doc.add_paragraph()
    _right(doc, association)
    _right(doc, _date(_letter_date(project)))
    return kit.to_bytes(doc)


def duties(project):
    """The duties of the project in the letter's words, with the numbers of its class."""
    cls = project.call_class
    association = association_name()
    kickoff_by = project.start_date + relativedelta(months=rule("KICKOFF_WITHIN_MONTHS", cls))
    return [
        f"请在立项之日起{rule('KICKOFF_WITHIN_MONTHS', cls)}个月内（{_date(kickoff_by)}前）组织开题论证，"
        "并在系统中填报开题时间、论证专家和开题报告。",
        "研究周期过半时接受中期检查，按要求提交中期报告（研究进展、阶段性成果、存在问题和下一步计划）；"
        "中期检查不合格的，须限期整改。",
        f"请于{_date(project.end_date)}前完成研究并申请结题，提交工作报告、成果报告、成果清单和自我评价；"
        f"确需延期的，应在研究期限届满{rule('EXTENSION_MIN_MONTHS_BEFORE_END', cls)}个月前提出申请，"
        f"延期以{rule('EXTENSION_MAX_COUNT', cls)}次为限，最长不超过{rule('EXTENSION_MAX_MONTHS', cls)}个月。",
        f"课题成果发表、出版或报送时，须注明“{association}{project.call.year}年度科研课题"
        f"（课题编号：{project.number}）成果”字样。",
        "课题负责人、课题名称、研究内容、成果形式、课题组成员等确需变更的，须经所在单位同意后报协会秘书处审批，"
        "未经批准不得擅自变更；课题负责人无法继续承担研究的，按撤项处理。",
        "课题经费应专款专用，按协会有关规定管理和使用。",
    ]


def _funding(amount):
    return f"{_yuan(amount)}元" if amount else "自筹经费"


def _letter_date(project):
    if project.approved_at:
        return timezone.localtime(project.approved_at, SHANGHAI).date()
    return project.start_date


def _line(doc, text):
    paragraph = doc.add_paragraph()
    kit.set_chinese_font(paragraph.add_run(text), kit.BODY_FONT, kit.XIAO_SI)
    return paragraph


def _right(doc, text):
    paragraph = _line(doc, text)
    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    return paragraph


@shared_task
def build_approval_letter(project_id):
    """Build and store the 立项通知书 of a confirmed project (replacing an older build); safe to run twice."""
    project = Project.objects.with_people().filter(pk=project_id).first()
    if project is None or not project.number:
        return None
    data = approval_letter(project)
    kind = DocumentKind.APPROVAL_LETTER
    return store_document(project, kind, data).pk
