"""The blind dossier: the anonymous part of a proposal, with no field that could name its authors."""

import dataclasses

import pytest

from projects.blind import (
    ARGUMENT_SECTIONS,
    FREE_TOPIC,
    OUTPUT_FORM_LABELS,
    RESEARCH_TYPE_LABELS,
    BlindDossier,
    blind_dossier,
)
from projects.models import ARGUMENT_FIELDS, Attachment, Member, OutputKind, PlannedOutput, ResearchType
from tests.factories import CallClassFactory, GuideTopicFactory, InstitutionFactory, ProjectFactory, UserFactory

IDENTITY_WORDS = ("pi", "name", "unit", "institution", "member", "number", "phone", "email", "budget", "id")


@pytest.fixture
def project(db):
    pi = UserFactory(
        username="ouyang",
        real_name="欧阳明远",
        phone="13912345678",
        email="ouyang.mingyuan@ecnu.edu.cn",
        institution=InstitutionFactory(name="华东师范大学"),
    )
    call_class = CallClassFactory(code="A")
    topic = GuideTopicFactory(call=call_class.call, number=7, title="数字化学习与终身学习平台建设研究")
    project = ProjectFactory(
        pi=pi,
        call_class=call_class,
        guide_topic=topic,
        title="成人在线学习投入度影响因素与干预研究",
        keywords=["在线学习", "学习投入", "成人学习者"],
        is_free_topic=False,
        research_type=ResearchType.BASIC,
        discipline="教育技术学",
        references="［1］终身学习研究综述．2021．",
        receipt_number="SB202300042",
    )
    Member.objects.create(project=project, name="司马静", title="副教授", unit="江苏开放大学", task="问卷设计与数据分析")
    PlannedOutput.objects.create(project=project, kind=OutputKind.REPORT, title="成人在线学习投入度调查报告")
    PlannedOutput.objects.create(project=project, kind=OutputKind.PAPER, title="成人在线学习投入的影响机制")
    Attachment.objects.create(
        project=project, part="anonymous", file="attachments/x", original_name="欧阳明远-前期成果.pdf",
        content_type="application/pdf", size=1024, sha256="0" * 64,
    )
    return project


def test_no_field_can_hold_a_person_a_unit_a_number_or_the_budget():
    names = [field.name for field in dataclasses.fields(BlindDossier)]
    leaking = [name for name in names if any(word in name.lower() for word in IDENTITY_WORDS)]
    assert leaking == []


def test_the_dossier_is_frozen(project):
    dossier = blind_dossier(project)
    with pytest.raises(dataclasses.FrozenInstanceError):
        dossier.title = "改过的题目"


def test_the_dossier_holds_only_plain_values_never_a_record(project):
    def plain(value):
        if isinstance(value, tuple):
            return all(plain(item) for item in value)
        return isinstance(value, (str, int))

    dossier = blind_dossier(project)
    assert all(plain(getattr(dossier, field.name)) for field in dataclasses.fields(dossier))


def test_the_dossier_carries_the_anonymous_part(project):
    dossier = blind_dossier(project)
    assert dossier.call_title == project.call.title
    assert dossier.call_year == 2023
    assert (dossier.class_code, dossier.class_label) == ("A", "学术性课题")
    assert dossier.theme == "数字化学习与终身学习平台建设研究"
    assert dossier.title == "成人在线学习投入度影响因素与干预研究"
    assert dossier.keywords == ("在线学习", "学习投入", "成人学习者")
    assert dossier.research_type == "基础研究"
    assert dossier.discipline == "教育技术学"
    assert dossier.planned_outputs == (
        ("研究报告", "成人在线学习投入度调查报告"),
        ("论文", "成人在线学习投入的影响机制"),
    )


def test_the_argument_comes_in_the_order_of_the_form(project):
    dossier = blind_dossier(project)
    assert [heading for heading, _text in dossier.sections] == [
        "选题依据", "研究内容", "思路方法", "创新之处", "预期成果", "研究基础", "参考文献",
    ]
    assert dict(dossier.sections)["思路方法"] == project.approach
    assert dict(dossier.sections)["参考文献"] == "［1］终身学习研究综述．2021．"
    assert dossier.argument_length == project.argument_length()


def test_the_sections_are_the_argument_fields_of_the_model():
    assert {name for name, _heading in ARGUMENT_SECTIONS} == set(ARGUMENT_FIELDS)


def test_a_free_topic_says_so(project):
    project.is_free_topic, project.guide_topic = True, None
    assert blind_dossier(project).theme == FREE_TOPIC


def test_no_name_unit_number_or_file_name_reaches_the_dossier(project):
    text = repr(blind_dossier(project))
    for secret in ("欧阳明远", "司马静", "华东师范大学", "江苏开放大学", "SB202300042", "13912345678",
                   "ouyang.mingyuan@ecnu.edu.cn", "前期成果.pdf"):
        assert secret not in text


def test_every_choice_has_a_chinese_label():
    assert set(RESEARCH_TYPE_LABELS) == set(ResearchType.values)
    assert set(OUTPUT_FORM_LABELS) == set(OutputKind.values)


def test_the_completion_dossier_adds_only_the_checked_anonymous_summary(project):
    """At the completion stage the checked anonymous copy joins the dossier; the work report never does."""
    from django.utils import timezone

    from projects.models import CompletionReport

    assert blind_dossier(project, "completion").completion_summary == ""
    CompletionReport.objects.create(
        project=project, state="submitted", work_report="课题组成员张三完成了调研。",
        summary_report="本成果构建了社区老年数字学习模式。", self_assessment="达到预期。", submitted_at=timezone.now(),
    )
    assert blind_dossier(project, "completion").completion_summary == ""  # not yet through the formal check
    CompletionReport.objects.filter(project=project).update(state="accepted")
    dossier = blind_dossier(project, "completion")
    assert dossier.completion_summary == "本成果构建了社区老年数字学习模式。"
    assert "张三" not in repr(dossier)
    assert blind_dossier(project).completion_summary == ""  # the application stage shows the 活页 alone


# ---- the mid-term review round ----------------------------------------------------------------------


def midterm_report(project, **fields):
    from django.utils import timezone

    from projects.models import MidtermReport

    values = dict(
        progress="欧阳明远带领课题组在华东师范大学完成两轮问卷调查。",
        outputs_so_far="司马静（江苏开放大学）发表论文一篇。",
        problems="",
        plan="下半年由欧阳明远负责个案研究（项目编号SB202300042，电话13912345678）。",
        submitted_at=timezone.now(),
    ) | fields
    return MidtermReport.objects.create(project=project, **values)


def test_the_midterm_dossier_holds_the_latest_report_with_the_team_masked(project):
    import datetime as dt

    from django.utils import timezone

    midterm_report(project, progress="旧的报告。", submitted_at=timezone.now() - dt.timedelta(days=30))
    midterm_report(project)
    summary = blind_dossier(project, "midterm").interim_summary
    assert summary == (
        "【研究进展】\n***带领课题组在***完成两轮问卷调查。\n\n"
        "【阶段性成果】\n***（***）发表论文一篇。\n\n"
        "【存在问题】\n无\n\n"
        "【下一步计划】\n下半年由***负责个案研究（项目编号***，电话***）。"
    )


def test_the_midterm_dossier_masks_the_pis_real_name_and_the_members(project):
    midterm_report(project)
    dossier = blind_dossier(project, "midterm")
    for secret in ("欧阳明远", "司马静", "华东师范大学", "江苏开放大学", "SB202300042"):
        assert secret not in repr(dossier)
    assert "完成两轮问卷调查" in dossier.interim_summary and "***" in dossier.interim_summary


@pytest.mark.parametrize("stage", ["application", "completion"])
def test_the_midterm_report_appears_at_the_midterm_stage_only(project, stage):
    midterm_report(project)
    assert blind_dossier(project, stage).interim_summary == ""
    assert blind_dossier(project).interim_summary == ""


def test_without_a_midterm_report_the_summary_is_empty(project):
    assert blind_dossier(project, "midterm").interim_summary == ""


def test_anonymised_masks_longer_terms_first_whatever_the_case():
    from projects.blind import anonymised

    assert anonymised("华东师范大学与华东地区；Ouyang、OUYANG", ["华东", "华东师范大学", "ouyang", ""]) == "***与***地区；***、***"
    assert anonymised("", ["华东"]) == "" and anonymised("无可替换", []) == "无可替换"


def test_the_midterm_huoye_carries_the_masked_report(project):
    import io

    import docx

    from projects.documents import anonymous_form

    midterm_report(project)
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(anonymous_form(project, stage="midterm"))).paragraphs)
    assert "中期报告（匿名）" in text and "完成两轮问卷调查" in text
    assert "欧阳明远" not in text and "江苏开放大学" not in text
    application = "\n".join(p.text for p in docx.Document(io.BytesIO(anonymous_form(project))).paragraphs)
    assert "中期报告（匿名）" not in application
