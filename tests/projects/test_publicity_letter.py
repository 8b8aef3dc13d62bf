"""The approval letter (立项通知书): its content, read back with python-docx, and its task."""

import datetime as dt
import io

import docx
import pytest

from projects.letters import approval_letter, build_approval_letter
from projects.models import DocumentKind, ProjectDocument
from projects.publicity import confirm_projects
from tests.factories import CallClassFactory, ProjectFactory, UserFactory, aware

pytestmark = pytest.mark.django_db

STARTED = aware(2023, 6, 1, 9, 0)
CONFIRMED_AT = aware(2023, 6, 9, 10, 0)


def text_of(data):
    document = docx.Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


@pytest.fixture
def project(secretary, unit):
    cls = CallClassFactory(code="A", name="学术性课题", funding=20000)
    pi = UserFactory(username="ouyang", real_name="欧阳明远", institution=unit)
    made = ProjectFactory(call_class=cls, state="publicity", publicity_started_at=STARTED, pi=pi,
                          title="社区教育治理现代化研究", planned_end_date=dt.date(2025, 6, 30))
    confirm_projects(cls.call, by=secretary, now=CONFIRMED_AT)
    made.refresh_from_db()
    return made


def test_the_letter_names_the_project_and_its_duties(project):
    text = text_of(approval_letter(project))
    for expected in (
        "立项通知书",
        "课题编号：CAEA2023A001",
        "社区教育治理现代化研究",
        "A类 学术性课题",
        "欧阳明远",
        "华东师范大学",
        "20,000元",
        "2023年6月9日 至 2025年6月30日",
        "3个月内（2023年9月9日前）组织开题",
        "中期检查",
        "请于2025年6月30日前完成研究并申请结题",
        "中国成人教育协会2023年度科研课题（课题编号：CAEA2023A001）成果",
        "须经所在单位同意后报协会秘书处审批",
    ):
        assert expected in text, expected
    # The association signs and dates it: the last two paragraphs.
    paragraphs = [p.text for p in docx.Document(io.BytesIO(approval_letter(project))).paragraphs if p.text]
    assert paragraphs[-2:] == ["中国成人教育协会", "2023年6月9日"]


def test_the_letter_follows_the_class_rules(project):
    project.call_class.rules = {"KICKOFF_WITHIN_MONTHS": 2}
    project.call_class.funding = 0
    assert "2个月内（2023年8月9日前）" in text_of(approval_letter(project))
    assert "自筹经费" in text_of(approval_letter(project))


def test_only_a_confirmed_project_has_a_letter():
    waiting = ProjectFactory(state="publicity", publicity_started_at=STARTED)
    with pytest.raises(ValueError):
        approval_letter(waiting)
    assert build_approval_letter(waiting.pk) is None
    assert not ProjectDocument.objects.filter(project=waiting).exists()


def test_the_task_stores_the_letter_and_is_safe_to_run_twice(project):
    first = build_approval_letter(project.pk)
    second = build_approval_letter(project.pk)
    assert first == second
    document = ProjectDocument.objects.get(project=project, kind=DocumentKind.APPROVAL_LETTER)
    assert "CAEA2023A001" in text_of(document.file.read())


def test_the_letter_carries_no_author(project):
    properties = docx.Document(io.BytesIO(approval_letter(project))).core_properties
    assert properties.author == "" and properties.last_modified_by == "" and properties.title == "立项通知书"
