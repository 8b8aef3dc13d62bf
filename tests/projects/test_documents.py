"""The Word documents: the 申请书 carries every name, the 活页 none, the 申报通知 the call's rules."""

import datetime as dt
import io
import zipfile
from decimal import Decimal

import docx
import pytest
from django.utils import translation

from projects import docx_kit
from projects.application import PLEDGE_TEXT
from projects.documents import (
    ATTACHMENT_PART_LABELS,
    BUDGET_LABELS,
    DEFAULT_CRITERIA,
    SCORE_RANGE,
    anonymous_form,
    application_form,
    call_notice,
)
from projects.models import AttachmentPart, BudgetCategory, BudgetLine, Member, OutputKind, PlannedOutput
from tests.factories import (
    CallClassFactory,
    CallFactory,
    GuideTopicFactory,
    InstitutionFactory,
    ProjectFactory,
    UserFactory,
)

UTC = dt.timezone.utc

PI_NAME, PI_UNIT = "欧阳明远", "华东师范大学"
MEMBERS = [("司马静", "江苏开放大学"), ("上官婉清", "南京师范大学")]
RECEIPT = "SB202300042"
PHONE, EMAIL = "13912345678", "ouyang.mingyuan@ecnu.edu.cn"
ATTACHMENT_NAME = "欧阳明远-前期成果清单.pdf"
SECRETS = [PI_NAME, PI_UNIT, RECEIPT, PHONE, EMAIL, ATTACHMENT_NAME] + [s for member in MEMBERS for s in member]


@pytest.fixture
def project(db):
    pi = UserFactory(
        username="ouyang",
        real_name=PI_NAME,
        title="教授",
        phone=PHONE,
        email=EMAIL,
        institution=InstitutionFactory(name=PI_UNIT),
    )
    call_class = CallClassFactory(code="A", call=CallFactory(title="中国成人教育协会2023年度科研课题"))
    topic = GuideTopicFactory(call=call_class.call, number=2, title="新时代老年教育高质量发展研究")
    project = ProjectFactory(
        pi=pi,
        call_class=call_class,
        guide_topic=topic,
        title="积极老龄化视域下老年教育课程体系建设研究",
        keywords=["积极老龄化", "老年教育", "课程体系"],
        is_free_topic=False,
        discipline="成人教育学",
        planned_end_date=dt.date(2025, 6, 30),
        references="［1］老年教育课程建设研究．2020．",
        receipt_number=RECEIPT,
        pledge_accepted_at=dt.datetime(2023, 4, 20, 2, 30, tzinfo=UTC),
    )
    for order, (name, unit) in enumerate(MEMBERS):
        Member.objects.create(project=project, order=order, name=name, title="副教授", unit=unit, task="案例调研")
    BudgetLine.objects.create(project=project, category=BudgetCategory.TRAVEL, amount=Decimal("8000"), note="实地调研")
    BudgetLine.objects.create(project=project, category=BudgetCategory.PUBLISHING, amount=Decimal("4000.50"))
    PlannedOutput.objects.create(project=project, kind=OutputKind.REPORT, title="老年教育课程体系建设研究报告")
    project.attachments.create(
        part=AttachmentPart.ANONYMOUS, file="attachments/x", original_name=ATTACHMENT_NAME,
        content_type="application/pdf", size=2048, sha256="0" * 64,
    )
    return project


# ---- reading a .docx the way a curious expert would ---------------------------------------------


def open_docx(data):
    return docx.Document(io.BytesIO(data))


def blocks(document):
    """The text of each paragraph and table of the body, in the order of the page."""
    return ["".join(element.xpath(".//w:t/text()")) for element in document.element.body.iterchildren()]


def table_texts(tables):
    for table in tables:
        for row in table.rows:
            for cell in row.cells:
                yield cell.text
                yield from table_texts(cell.tables)


def visible_texts(document):
    """Body paragraphs, every table cell, every header and footer, as python-docx reads them."""
    texts = [p.text for p in document.paragraphs] + list(table_texts(document.tables))
    for section in document.sections:
        for part in (section.header, section.footer, section.first_page_header, section.first_page_footer,
                     section.even_page_header, section.even_page_footer):
            texts += [p.text for p in part.paragraphs] + list(table_texts(part.tables))
    return texts


def property_texts(document):
    properties = document.core_properties
    names = ["author", "last_modified_by", "comments", "keywords", "title", "subject", "category",
             "content_status", "identifier", "language", "version"]
    return [getattr(properties, name) or "" for name in names]


def zip_members(data):
    """Every member of the package (XML, relationships, the rest) as text."""
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return {name: package.read(name).decode("utf-8", errors="replace") for name in package.namelist()}


# ---- the 活页 -----------------------------------------------------------------------------------


def test_the_anonymous_form_names_nobody(project):
    data = anonymous_form(project)
    document = open_docx(data)
    texts = visible_texts(document) + property_texts(document)
    members = zip_members(data)
    for secret in SECRETS:
        assert not [text for text in texts if secret in text], secret
        assert not [name for name, xml in members.items() if secret in xml], secret


def test_the_application_form_names_everyone(project):
    """The other side of the check above: the same search finds them where they belong."""
    data = application_form(project)
    text = "\n".join(visible_texts(open_docx(data)))
    xml = "\n".join(zip_members(data).values())
    for secret in SECRETS:
        assert secret in text, secret
        assert secret in xml, secret


def test_the_anonymous_form_carries_no_author(project):
    data = anonymous_form(project)
    properties = open_docx(data).core_properties
    blank = (properties.author, properties.last_modified_by, properties.comments, properties.keywords)
    assert blank == ("", "", "", "")
    assert properties.title == "活页（匿名）"
    assert not [name for name, xml in zip_members(data).items() if "python-docx" in xml]


def test_the_score_sheet_comes_before_the_argument(project):
    order = blocks(open_docx(anonymous_form(project)))

    def first(text):
        return next(index for index, block in enumerate(order) if text in block)

    headings = ["一、选题依据", "二、研究内容", "三、思路方法", "四、创新之处", "五、预期成果", "六、研究基础", "七、参考文献"]
    positions = [order.index(heading) for heading in headings]
    assert first("评审意见表") < first("加权总分") < order.index("活页（匿名）") < positions[0]
    assert order[order.index("活页（匿名）") + 1] == "课题名称：积极老龄化视域下老年教育课程体系建设研究"
    assert positions == sorted(positions)


def test_the_score_sheet_weighs_the_default_criteria(project):
    text = "\n".join(visible_texts(open_docx(anonymous_form(project))))
    assert [(c.name, c.weight) for c in DEFAULT_CRITERIA] == [("选题", 3), ("论证", 5), ("研究基础", 2)]
    assert SCORE_RANGE == (3, 10)
    for criterion in DEFAULT_CRITERIA:
        assert criterion.name in text and f"×{criterion.weight}" in text
    assert "得分（3–10）" in text and "加权总分（30–100）" in text
    assert "A 建议入围" in text and "B 不建议入围" in text
    assert "评审意见" in text


def test_the_anonymous_form_carries_the_argument(project):
    text = "\n".join(visible_texts(open_docx(anonymous_form(project))))
    for value in (project.basis, project.innovation, project.foundation, "老年教育课程建设研究", "老年教育课程体系建设研究报告",
                  "新时代老年教育高质量发展研究", "积极老龄化；老年教育；课程体系"):
        assert value in text


# ---- the 申请书 -------------------------------------------------------------------------------------


def test_the_application_form_has_every_part(project):
    document = open_docx(application_form(project))
    order = blocks(document)
    headings = ["一、基本信息", "二、课题负责人", "三、课题组成员", "四、课题论证", "五、预期成果", "六、经费预算", "七、附件", "八、承诺"]
    positions = [order.index(heading) for heading in headings]
    assert positions == sorted(positions)
    text = "\n".join(visible_texts(document))
    assert "12,000.50" in text  # the budget's total
    assert "调研差旅费" in text and "2025年6月30日" in text
    with translation.override("zh-hans"):
        assert str(PLEDGE_TEXT) in text  # the text the applicant accepted
    assert "2023年4月20日 10:30" in text  # when, in Beijing time
    assert "（一）选题依据" in text and "（七）参考文献" in text


def test_the_application_form_lists_members_with_unit_and_task(project):
    document = open_docx(application_form(project))
    members_table = next(t for t in document.tables if [c.text for c in t.rows[0].cells][:2] == ["姓名", "职称"])
    assert [[c.text for c in row.cells] for row in members_table.rows] == [
        ["姓名", "职称", "单位", "分工"],
        ["司马静", "副教授", "江苏开放大学", "案例调研"],
        ["上官婉清", "副教授", "南京师范大学", "案例调研"],
    ]


# ---- fonts and page ---------------------------------------------------------------------------------


def test_chinese_fonts_are_set_for_east_asian_text(project):
    for data in (application_form(project), anonymous_form(project)):
        members = zip_members(data)
        assert 'w:eastAsia="宋体"' in members["word/styles.xml"]
        assert 'w:eastAsia="黑体"' in members["word/document.xml"]
        assert 'w:ascii="宋体"' in members["word/styles.xml"]
        # A theme font would win over the named one in the body style.
        normal = open_docx(data).styles["Normal"].element.rPr.rFonts
        assert not [name for name in normal.attrib if name.endswith("Theme") or name.endswith("theme")]


def test_pages_are_a4_with_the_chinese_default_margins():
    section = docx_kit.new_document().sections[0]
    assert (round(section.page_width.cm, 2), round(section.page_height.cm, 2)) == (21.0, 29.7)
    assert round(section.top_margin.cm, 2) == round(section.bottom_margin.cm, 2) == 2.54
    assert round(section.left_margin.cm, 2) == round(section.right_margin.cm, 2) == 3.17


def test_paragraphs_split_lines_and_indent_two_characters():
    document = docx_kit.new_document()
    added = docx_kit.paragraphs(document, "第一段。\n\n  第二段。\n")
    assert [p.text for p in added] == ["第一段。", "第二段。"]
    assert all('w:firstLineChars="200"' in p._p.xml for p in added)


def test_grid_table_shades_and_bolds_its_header():
    document = docx_kit.new_document()
    table = docx_kit.grid_table(document, ["类别", "名称"], [["A", "学术性课题"]])
    header = table.rows[0]
    assert all(run.bold for cell in header.cells for run in cell.paragraphs[0].runs)
    assert 'w:fill="D9D9D9"' in header._tr.xml and "w:tblHeader" in header._tr.xml
    assert table.style.name == "Table Grid"


def test_labels_cover_every_choice():
    assert set(BUDGET_LABELS) == set(BudgetCategory.values)
    assert set(ATTACHMENT_PART_LABELS) == set(AttachmentPart.values)


# ---- the 申报通知 -------------------------------------------------------------------------------------


@pytest.fixture
def call(db):
    call = CallFactory(
        title="中国成人教育协会2023年度科研课题",
        description="为深入贯彻党的二十大精神，开展2023年度科研课题申报工作。\n请各单位认真组织申报。",
        opens_at=dt.datetime(2023, 3, 1, 1, 0, tzinfo=UTC),
        deadline=dt.datetime(2023, 5, 31, 9, 0, tzinfo=UTC),
    )
    CallClassFactory(call=call, code="A", quota=20, funding=20000, duration_months=24)
    CallClassFactory(call=call, code="B", quota=30, funding=10000, duration_months=12,
                     rules={"TITLE_MAX_LENGTH": 30})
    for number, title in enumerate(["学分银行建设与学习成果认证研究", "社区教育治理与内涵发展研究"], start=1):
        GuideTopicFactory(call=call, number=number, title=title)
    return call


def test_the_call_notice_lists_every_class_and_topic(call):
    text = "\n".join(visible_texts(open_docx(call_notice(call))))
    for call_class in call.classes.all():
        assert call_class.name in text
    for topic in call.topics.all():
        assert topic.title in text
    assert "20,000元" in text and "30项" in text and "12个月" in text
    assert "请各单位认真组织申报。" in text


def test_the_call_notice_window_is_in_beijing_time(call):
    text = "\n".join(visible_texts(open_docx(call_notice(call))))
    assert "2023年3月1日 09:00 至 2023年5月31日 17:00（北京时间）" in text


def test_the_call_notice_states_the_rules_of_each_class(call):
    text = "\n".join(visible_texts(open_docx(call_notice(call))))
    assert "A类课题负责人须具有副高级及以上专业技术职称" in text
    assert "B类课题负责人须具有中级及以上专业技术职称" in text
    assert "作为课题负责人限报1项" in text
    assert "A类课题名称不超过40个字" in text and "B类课题名称不超过30个字" in text
    assert "关键词不超过3个" in text
    assert "活页不超过7000个字" in text
