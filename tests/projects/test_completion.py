"""The completion (结题): materials, unit, formal check, appraisal with its panel, certificate, archive.

Every rule refuses with its message and changes nothing; the whole road runs from
the submission through a failed and a passed appraisal to the certificate.
"""

import datetime as dt
import io
import re
import threading

import docx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from accounts import roles
from archive.models import Record
from projects import completion
from projects.access import sync_object_permissions
from projects.completion import (
    cite,
    correct_completion,
    create_completion_round,
    grade_of_counts,
    issue_certificate,
    open_completion_round,
    panel_grade,
    record_appraisal,
    report_step,
    submit_completion,
)
from projects.models import CompletionReport, DocumentKind, Output, Project, ProjectDocument, TransitionLog
from projects.services import TransitionRefused
from reviews.conflicts import request_avoidance
from reviews.forms_schema import default_form
from reviews.models import AssignmentStatus, AvoidRequest, Review
from tests.factories import InstitutionFactory, MemberFactory, ProjectFactory, UserFactory
from tests.reviews.factories import ExpertProfileFactory, ReviewFactory, ReviewRoundFactory

NOW = timezone.make_aware(dt.datetime(2025, 6, 2, 10, 0))
DAY = dt.timedelta(days=1)

PAPER = {
    "kind": "paper", "title": "社区老年数字学习共同体的培育路径", "authors": "周海燕, 钱文静",
    "venue": "开放教育研究", "year": 2024, "volume_issue": "30(3)", "pages": "45-53",
    "identifier": "10.13966/j.cnki.kfjyyj.2024.03.005",
}
BOOK = {"kind": "book", "title": "老年教育数字化转型研究", "authors": "周海燕", "venue": "高等教育出版社", "year": 2025}
MATERIALS = {
    "work_report": "课题组按计划完成了调研、实验与总结，经费使用规范。",
    "summary_report": "本成果构建了社区嵌入式老年数字学习模式，提出三条推进路径。",
    "self_assessment": "完成了预期研究任务，成果有一定应用价值。",
}


# ---- fixtures and helpers ---------------------------------------------------------------------


def make_pi(unit):
    return UserFactory(username="pi", real_name="周海燕", institution=unit)


def make_project(pi):
    """A project under way (在研), with its number, period and one member; its people's rights in step."""
    project = ProjectFactory(
        state="active", pi=pi, institution=pi.institution, number="CAEA2023A001", receipt_number="SB202300001",
        title="老年教育数字化转型路径研究", start_date=dt.date(2023, 9, 1), end_date=dt.date(2025, 8, 31),
        approved_at=NOW - 600 * DAY,
    )
    MemberFactory(project=project, name="钱文静", unit="华东师范大学")
    sync_object_permissions(project)
    return project


@pytest.fixture
def pi(unit):
    return make_pi(unit)


@pytest.fixture
def project(pi):
    return make_project(pi)


def submit(project, by, now=NOW, **changes):
    fields = {**MATERIALS, "outputs": [PAPER, BOOK], **changes}
    return submit_completion(project, by=by, now=now, **fields)


def accepted_report(project, pi, unit_admin, secretary, now=NOW):
    report = submit(project, pi, now=now)
    report_step(report, "endorse_completion", by=unit_admin, now=now + DAY)
    return report_step(report, "accept_completion", by=secretary, now=now + 2 * DAY)


def completion_round(project, grades, *, opened_at, state="open", comments=None):
    """A completion round holding ``project`` with one submitted review per grade (experts 专家1…)."""
    round_ = ReviewRoundFactory(call_class=project.call_class, stage="completion", form=default_form("completion"),
                                state=state, opened_at=opened_at, name=f"结题鉴定{opened_at:%Y%m%d}")
    round_.projects.add(project)
    for index, grade in enumerate(grades):
        expert = ExpertProfileFactory(user__real_name=f"鉴定专家{index}",
                                      user__institution=InstitutionFactory(name="北京师范大学"))
        ReviewFactory(
            assignment__round=round_, assignment__project=project, assignment__expert=expert,
            scores={"value": 8, "innovation": 7, "completion": 8}, recommendation=grade,
            comments_to_applicant=(comments or {}).get(index, f"第{index + 1}位专家的意见：论证规范。"),
            comments_to_committee=f"保密意见{index}", submitted_at=opened_at + DAY + index * dt.timedelta(minutes=1),
        )
    return round_


def docx_bytes(text):
    document = docx.Document()
    document.add_paragraph(text)
    document.core_properties.author = "周海燕"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def document_text(project, kind):
    stored = ProjectDocument.objects.get(project=project, kind=kind)
    with stored.file.open("rb") as handle:
        document = docx.Document(handle)
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


def nothing_stored(project, state="active"):
    project.refresh_from_db()
    assert project.state == state
    assert not CompletionReport.objects.filter(project=project).exists()
    assert not Output.objects.filter(project=project).exists()
    assert not AvoidRequest.objects.filter(project=project).exists()


# ---- submission -------------------------------------------------------------------------------


def test_the_pi_submits_the_materials_in_one_step(project, pi, unit_admin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        report = submit(project, pi, avoid=[{"name": "李明", "unit": "江苏开放大学", "reason": "学术观点对立"}])
    project.refresh_from_db()
    assert (project.state, project.completion_submitted_at) == ("completion_review", NOW)
    assert (report.attempt, report.state, report.summary_report) == (1, "submitted", MATERIALS["summary_report"])
    assert [o.title for o in project.outputs.all()] == [PAPER["title"], BOOK["title"]]
    assert project.outputs.first().year == 2024
    request = AvoidRequest.objects.get(project=project)
    assert (request.stage, request.name, request.unit) == ("completion", "李明", "江苏开放大学")
    assert TransitionLog.objects.filter(project=project, transition="submit_completion").count() == 1


def test_only_the_pi_may_submit(project, unit_admin, english):
    with pytest.raises(TransitionRefused) as refusal:
        submit(project, unit_admin)
    assert refusal.value.messages == ["You are not allowed to do “Apply for completion” here."]
    nothing_stored(project)


def test_only_a_project_under_way_may_submit(pi, english):
    project = ProjectFactory(state="midterm_review", pi=pi, number="CAEA2023A002")
    with pytest.raises(TransitionRefused) as refusal:
        submit(project, pi)
    assert refusal.value.messages == ["“Apply for completion” is not possible while the record is “Mid-term check”."]
    nothing_stored(project, state="midterm_review")


def test_at_least_one_output_is_needed(project, pi, english):
    with pytest.raises(TransitionRefused) as refusal:
        submit(project, pi, outputs=[{"kind": "paper"}, {}])
    assert refusal.value.messages == ["List at least one output with its citation data."]
    nothing_stored(project)


def test_every_output_has_a_title_authors_and_a_plausible_year(project, pi, english):
    outputs = [{"kind": "paper", "title": "论文一", "year": "2024"}, {"authors": "周海燕", "year": "1999"},
               {"kind": "poem", "title": "诗", "authors": "周海燕", "year": "二〇二四"}]
    with pytest.raises(TransitionRefused) as refusal:
        submit(project, pi, outputs=outputs)
    assert refusal.value.messages == [
        "Output 1: the authors are missing.",
        "Output 2: the title is missing.",
        "Output 2: the year 1999 is not plausible; give a year from 2022 to 2026.",
        "Output 3: choose its type.",
        "Output 3: the year must be a number such as 2024.",
    ]
    nothing_stored(project)


def test_the_three_texts_are_required_and_all_problems_come_at_once(project, pi, english):
    with pytest.raises(TransitionRefused) as refusal:
        submit(project, pi, work_report=" ", summary_report="", outputs=[])
    assert refusal.value.messages == [
        "Fill in: work report、summary report.",
        "List at least one output with its citation data.",
    ]
    nothing_stored(project)


def test_at_most_two_experts_to_avoid(project, pi, english):
    avoid = [{"name": name, "unit": "", "reason": "观点分歧"} for name in ("甲", "乙", "丙")]
    with pytest.raises(TransitionRefused) as refusal:
        submit(project, pi, avoid=avoid)
    assert refusal.value.messages == ["You may name at most 2 experts to exclude."]
    nothing_stored(project)


def test_an_expert_to_avoid_needs_a_name_and_a_reason(project, pi, english):
    with pytest.raises(TransitionRefused) as refusal:
        submit(project, pi, avoid=[{"name": "甲", "unit": "", "reason": ""}, {"name": "", "unit": "某大学", "reason": "x"}])
    assert refusal.value.messages == ["Please give the reason for excluding the expert.", "Please give the expert's name."]
    nothing_stored(project)


def test_completion_avoid_requests_have_their_own_limit_and_window(project, pi, english):
    """The application's three requests do not count against the completion's two; the completion's
    requests are open while the project is under way or in its appraisal, not after."""
    for name in ("甲", "乙", "丙"):
        AvoidRequest.objects.create(project=project, stage="application", name=name, reason="x")
    request_avoidance(project, by=pi, name="丁", unit="", reason="观点分歧", stage="completion")
    assert completion.avoid_slots(project) == 1
    done = ProjectFactory(state="completed", pi=pi, number="CAEA2023A003")
    with pytest.raises(TransitionRefused) as refusal:
        request_avoidance(done, by=pi, name="丁", unit="", reason="观点分歧", stage="completion")
    assert refusal.value.messages == [
        "Experts can be named for exclusion from the completion appraisal only while the project is under way "
        "or its materials are being appraised."
    ]


def test_the_completion_avoid_limit_is_a_rule_of_the_class(project, pi, english):
    project.call_class.rules = {"COMPLETION_AVOID_MAX": 1}
    project.call_class.save()
    with pytest.raises(TransitionRefused) as refusal:
        submit(project, pi, avoid=[{"name": "甲", "reason": "x"}, {"name": "乙", "reason": "y"}])
    assert refusal.value.messages == ["You may name at most 1 expert to exclude."]


def test_the_anonymous_copy_is_checked_and_cleaned(project, pi, english):
    exe = SimpleUploadedFile("成果.pdf", b"MZ\x90\x00" + b"\x00" * 500)
    with pytest.raises(TransitionRefused) as refusal:
        submit(project, pi, upload=exe)
    assert refusal.value.messages[0].startswith("This type of file is not accepted.")
    nothing_stored(project)
    report = submit(project, pi, upload=SimpleUploadedFile("成果.docx", docx_bytes("研究发现见正文。")))
    assert report.anonymous_file_name == "成果.docx"
    with report.anonymous_file.open("rb") as handle:
        assert docx.Document(handle).core_properties.author != "周海燕"


# ---- the unit and the formal check ---------------------------------------------------------------


def test_unit_returns_and_the_pi_corrects_the_same_attempt(project, pi, unit_admin, english):
    report = submit(project, pi)
    with pytest.raises(TransitionRefused) as refusal:
        report_step(report, "return_completion", by=unit_admin, now=NOW + DAY)
    assert refusal.value.messages == ["Please give a reason for this step."]
    report.refresh_from_db()
    assert report.state == "submitted"
    report_step(report, "return_completion", by=unit_admin, reason="请补充经费使用说明。", now=NOW + DAY)
    report.refresh_from_db()
    assert report.state == "returned"
    corrected = correct_completion(report, by=pi, now=NOW + 3 * DAY, **{**MATERIALS, "work_report": "补充了经费说明。"},
                                   outputs=[BOOK])
    assert (corrected.pk, corrected.attempt, corrected.state) == (report.pk, 1, "submitted")
    assert corrected.work_report == "补充了经费说明。" and corrected.submitted_at == NOW + 3 * DAY
    assert [o.title for o in project.outputs.all()] == [BOOK["title"]]


def test_only_the_pi_corrects_returned_materials(project, pi, unit_admin, english):
    report = submit(project, pi)
    with pytest.raises(TransitionRefused) as refusal:
        correct_completion(report, by=pi, **MATERIALS, outputs=[PAPER])
    assert refusal.value.messages == ["“Submit again” is not possible while the record is “Waiting for the unit”."]
    report_step(report, "return_completion", by=unit_admin, reason="补充材料。")
    with pytest.raises(TransitionRefused) as refusal:
        correct_completion(report, by=unit_admin, **MATERIALS, outputs=[PAPER])
    assert refusal.value.messages == ["You are not allowed to do “Submit again” here."]
    report.refresh_from_db()
    assert report.state == "returned"


def test_another_units_admin_may_not_endorse(project, pi, other_unit, english):
    stranger = UserFactory(username="other-admin", institution=other_unit, role=roles.UNIT_ADMIN)
    report = submit(project, pi)
    with pytest.raises(TransitionRefused) as refusal:
        report_step(report, "endorse_completion", by=stranger)
    assert refusal.value.messages == ["You are not allowed to do “Endorse the completion” here."]
    report.refresh_from_db()
    assert report.state == "submitted" and report.endorsed_at is None


def test_accept_before_the_unit_endorsed_is_refused(project, pi, secretary, english):
    report = submit(project, pi)
    with pytest.raises(TransitionRefused) as refusal:
        report_step(report, "accept_completion", by=secretary)
    assert refusal.value.messages == [
        "“Pass the formal check” is not possible while the record is “Waiting for the unit”."
    ]
    report.refresh_from_db()
    assert report.state == "submitted" and report.checked_at is None


def test_the_formal_check_finds_a_name_in_the_anonymous_copy(project, pi, unit_admin, secretary, english):
    report = submit(project, pi, summary_report="本成果由钱文静等在华东师范大学完成。",
                    upload=SimpleUploadedFile("成果.docx", docx_bytes("周海燕 著")))
    report_step(report, "endorse_completion", by=unit_admin)
    with pytest.raises(TransitionRefused) as refusal:
        report_step(report, "accept_completion", by=secretary)
    [message] = refusal.value.messages
    assert message.startswith("The anonymous part reveals the team:")
    for term in ("华东师范大学", "钱文静", "周海燕", "成果.docx"):
        assert term in message
    report.refresh_from_db()
    assert report.state == "endorsed" and report.checked_at is None
    report_step(report, "return_completion", by=secretary, reason="匿名稿出现姓名与单位。")
    report.refresh_from_db()
    assert report.state == "returned"


def test_unknown_report_steps_are_refused(project, pi, english):
    report = submit(project, pi)
    with pytest.raises(TransitionRefused) as refusal:
        report_step(report, "record_appraisal", by=pi)
    assert refusal.value.messages == ["“record_appraisal” is not a step of this record."]


# ---- the panel's grade ---------------------------------------------------------------------------


@pytest.mark.parametrize("counts, grade", [
    ({"good": 2, "pass": 1}, "good"),
    ({"excellent": 1, "good": 1, "pass": 1}, "pass"),  # three-way tie: the lowest
    ({"excellent": 2, "fail": 2}, "fail"),  # tie: the lower grade
    ({"excellent": 2, "good": 2, "pass": 1}, "good"),
    ({"excellent": 3}, "excellent"),
    ({"good": 2}, None),  # too few graded reviews
    ({}, None),
])
def test_grade_of_counts(counts, grade):
    assert grade_of_counts(counts, 3) == grade


def test_panel_grade_reads_only_counted_reviews(project):
    round_ = completion_round(project, ["excellent", "excellent", "good", "good"], opened_at=NOW)
    assert panel_grade(round_, project) == "good"  # a tie goes to the lower grade
    removed = round_.assignments.order_by("pk").first()
    removed.status = AssignmentStatus.REMOVED
    removed.save()
    assert panel_grade(round_, project) == "good"  # excellent 1, good 2
    draft = round_.assignments.exclude(pk=removed.pk).order_by("pk").first().review
    Review.objects.filter(pk=draft.pk).update(state="draft")
    assert panel_grade(round_, project) is None  # two valid reviews left, three needed


def test_panel_grade_needs_the_rule_s_number_of_reviews(project):
    round_ = completion_round(project, ["pass", "pass"], opened_at=NOW)
    assert panel_grade(round_, project) is None
    project.call_class.rules = {"MIN_VALID_REVIEWS": 2}
    project.call_class.save()
    round_.refresh_from_db()
    assert panel_grade(round_, project) == "pass"


# ---- the appraisal ------------------------------------------------------------------------------


def test_appraisal_without_grade_needs_a_round(project, pi, unit_admin, secretary, english):
    report = accepted_report(project, pi, unit_admin, secretary)
    with pytest.raises(TransitionRefused) as refusal:
        record_appraisal(report, by=secretary, now=NOW + 30 * DAY)
    assert refusal.value.messages == [
        "No appraisal round has reviewed these materials yet. Run the appraisal round first: create a "
        "completion round and wait for its reviews; the panel's grade decides."
    ]
    report.refresh_from_db()
    project.refresh_from_db()
    assert (report.state, project.state, project.grade) == ("accepted", "completion_review", "")


def test_appraisal_without_grade_needs_enough_reviews(project, pi, unit_admin, secretary, english):
    report = accepted_report(project, pi, unit_admin, secretary)
    completion_round(project, ["good", "good"], opened_at=NOW + 3 * DAY)
    with pytest.raises(TransitionRefused) as refusal:
        record_appraisal(report, by=secretary, now=NOW + 30 * DAY)
    assert refusal.value.messages == [
        "The round “结题鉴定20250605” has 2 valid reviews of this project; the panel's grade needs 3. "
        "Wait for the reviews."
    ]
    report.refresh_from_db()
    assert report.state == "accepted"


def test_appraisal_refusals(project, pi, unit_admin, secretary, english):
    report = submit(project, pi)
    with pytest.raises(TransitionRefused) as refusal:
        record_appraisal(report, by=secretary)  # the state is asked before the panel
    assert refusal.value.messages == ["“Record the appraisal” is not possible while the record is “Waiting for the unit”."]
    report_step(report, "endorse_completion", by=unit_admin)
    report_step(report, "accept_completion", by=secretary)
    completion_round(project, ["excellent"] * 3, opened_at=NOW + 3 * DAY)
    with pytest.raises(TransitionRefused) as refusal:
        record_appraisal(report, by=pi)
    assert refusal.value.messages == ["You are not allowed to do “Record the appraisal” here."]
    report.refresh_from_db()
    project.refresh_from_db()
    assert (report.state, report.grade, project.state, project.certificate_number) == (
        "accepted", "", "completion_review", None)


def test_the_whole_road_fail_then_pass(project, pi, unit_admin, secretary, django_capture_on_commit_callbacks):
    """submit → endorse → accept → appraise 不合格 → active → attempt 2 → appraise 良好 → completed, certificate."""
    with django_capture_on_commit_callbacks(execute=True):
        first = accepted_report(project, pi, unit_admin, secretary)
    assert (first.state, first.checked_at) == ("accepted", NOW + 2 * DAY)
    completion_round(project, ["fail", "fail", "pass"], opened_at=NOW + 3 * DAY,
                     comments={0: "研究方法交代不清，结论缺乏数据支撑。"})
    with django_capture_on_commit_callbacks(execute=True):
        record_appraisal(first, by=secretary, now=NOW + 30 * DAY)
    first.refresh_from_db()
    project.refresh_from_db()
    assert (first.state, first.grade, first.appraised_at) == ("appraised", "fail", NOW + 30 * DAY)
    assert (project.state, project.appraisal_failures, project.grade, project.certificate_number) == (
        "active", 1, "", None)
    opinion = document_text(project, DocumentKind.APPRAISAL_OPINION)
    assert "第1次鉴定" in opinion and "不合格" in opinion and "重新提交结题材料" in opinion
    assert "专家1" in opinion and "研究方法交代不清" in opinion
    assert "鉴定专家" not in opinion and "保密意见" not in opinion  # no expert's name, no confidential comment
    assert not ProjectDocument.objects.filter(project=project, kind=DocumentKind.CERTIFICATE).exists()

    with django_capture_on_commit_callbacks(execute=True):
        second = submit(project, pi, now=NOW + 60 * DAY, outputs=[PAPER, BOOK])
        report_step(second, "endorse_completion", by=unit_admin, now=NOW + 61 * DAY)
        report_step(second, "accept_completion", by=secretary, now=NOW + 62 * DAY)
    assert (second.attempt, second.state) == (2, "accepted")
    with pytest.raises(TransitionRefused):  # the first round appraised the first attempt, not this one
        record_appraisal(second, by=secretary, now=NOW + 63 * DAY)
    completion_round(project, ["good", "good", "pass"], opened_at=NOW + 63 * DAY,
                     comments={1: "成果规范，应用价值明显。"})
    with django_capture_on_commit_callbacks(execute=True):
        record_appraisal(second, by=secretary, now=NOW + 90 * DAY)
    project.refresh_from_db()
    second.refresh_from_db()
    assert (second.state, second.grade) == ("appraised", "good")
    assert (project.state, project.grade, project.closed_at) == ("completed", "good", NOW + 90 * DAY)
    assert re.fullmatch(r"CAEA-JT2025\d{4}", project.certificate_number)
    assert project.certificate_number == "CAEA-JT20250001"
    assert list(TransitionLog.objects.filter(project=project, content_type__model="project")
                .values_list("transition", "to_state")) == [
        ("submit_completion", "completion_review"), ("appraise", "active"),
        ("submit_completion", "completion_review"), ("appraise", "completed"),
    ]
    certificate = document_text(project, DocumentKind.CERTIFICATE)
    for expected in ("结题证书", "CAEA-JT20250001", "老年教育数字化转型路径研究", "CAEA2023A001", "周海燕",
                     "钱文静", "华东师范大学", "良好", "准予结题", "2025年8月31日"):
        assert expected in certificate, expected
    opinion = document_text(project, DocumentKind.APPRAISAL_OPINION)
    assert "第2次鉴定" in opinion and "成果规范，应用价值明显。" in opinion and "良好 2份" in opinion
    assert "研究方法交代不清" not in opinion  # the first round's opinions belong to the first attempt
    record = Record.objects.get(project=project)
    assert (record.state, record.grade) == ("completed", "good")
    assert record.output_list == [cite(Output(**PAPER)), cite(Output(**BOOK))]


def test_a_second_fail_revokes(pi, secretary, django_capture_on_commit_callbacks):
    project = ProjectFactory(state="completion_review", pi=pi, number="CAEA2023A004", appraisal_failures=1)
    report = CompletionReport.objects.create(project=project, attempt=2, state="accepted", submitted_at=NOW,
                                             checked_at=NOW, **MATERIALS)
    completion_round(project, ["fail", "fail", "pass"], opened_at=NOW)
    with django_capture_on_commit_callbacks(execute=True):
        record_appraisal(report, by=secretary, now=NOW + DAY)
    project.refresh_from_db()
    assert (project.state, project.grade, project.revoked_at, project.certificate_number) == (
        "revoked", "fail", NOW + DAY, None)
    assert "予以撤项" in document_text(project, DocumentKind.APPRAISAL_OPINION)
    assert not ProjectDocument.objects.filter(project=project, kind=DocumentKind.CERTIFICATE).exists()


def test_the_panel_decides_no_grade_is_typed(project, pi, unit_admin, secretary):
    """The panel's result decides: the secretariat cannot choose a grade, even against the panel."""
    report = accepted_report(project, pi, unit_admin, secretary)
    with pytest.raises(TypeError):
        record_appraisal(report, by=secretary, grade="excellent", now=NOW + 20 * DAY)  # noqa: the free choice is gone
    completion_round(project, ["fail", "fail", "fail"], opened_at=NOW + 3 * DAY)
    record_appraisal(report, by=secretary, now=NOW + 20 * DAY, reason="专家组一致认为不合格。")
    project.refresh_from_db()
    report.refresh_from_db()
    assert (report.grade, project.state, project.grade, project.appraisal_failures) == ("fail", "active", "", 1)


def test_no_appraisal_without_a_round(project, pi, unit_admin, secretary, english):
    report = accepted_report(project, pi, unit_admin, secretary)
    with pytest.raises(TransitionRefused) as refusal:
        record_appraisal(report, by=secretary, now=NOW + 5 * DAY)
    assert refusal.value.messages[0].startswith("No appraisal round has reviewed these materials yet. "
                                                "Run the appraisal round first")
    project.refresh_from_db()
    assert (project.state, project.certificate_number) == ("completion_review", None)


def test_a_certificate_is_issued_once(pi, secretary):
    project = ProjectFactory(state="completed", pi=pi, number="CAEA2023A006", grade="pass", closed_at=NOW)
    assert issue_certificate(project, now=NOW) == "CAEA-JT20250001"
    assert issue_certificate(project, now=NOW) == "CAEA-JT20250001"
    running = ProjectFactory(state="active", pi=UserFactory(), number="CAEA2023A007")
    with pytest.raises(TransitionRefused):
        issue_certificate(running, now=NOW)
    running.refresh_from_db()
    assert running.certificate_number is None


@pytest.mark.django_db(transaction=True)
def test_certificate_numbers_are_unique_under_concurrency(unit):
    projects = [ProjectFactory(state="completed", pi=UserFactory(institution=unit), number=f"CAEA2023A1{i:02d}",
                               grade="good", closed_at=NOW) for i in range(10)]
    barrier = threading.Barrier(len(projects))
    errors = []

    def issue(project):
        try:
            barrier.wait()
            issue_certificate(project, now=NOW)
        except Exception as error:  # noqa: BLE001 - asserted below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=issue, args=(p,)) for p in projects]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    numbers = sorted(Project.objects.values_list("certificate_number", flat=True))
    assert numbers == [f"CAEA-JT2025{i:04d}" for i in range(1, 11)]


# ---- the completion round ------------------------------------------------------------------------


def test_a_completion_round_takes_only_accepted_materials(project, pi, unit_admin, secretary, english):
    accepted_report(project, pi, unit_admin, secretary)
    waiting = ProjectFactory(state="active", call_class=project.call_class, pi=UserFactory(institution=pi.institution),
                             number="CAEA2023A008")
    submit(waiting, waiting.pi)
    round_ = create_completion_round(project.call_class, by=secretary, deadline=NOW + 20 * DAY)
    assert (round_.stage, list(round_.projects.all())) == ("completion", [project])
    assert round_.form["recommendations"][0]["code"] == "excellent"
    round_.projects.add(waiting)
    with pytest.raises(TransitionRefused) as refusal:
        open_completion_round(round_, by=secretary, now=NOW)
    assert refusal.value.messages == [
        f"These projects' materials have not passed the formal check: {waiting.title}."
    ]
    round_.refresh_from_db()
    assert round_.state == "draft"


def test_a_completion_round_needs_accepted_materials(project, secretary, pi, english):
    with pytest.raises(TransitionRefused) as refusal:
        create_completion_round(project.call_class, by=secretary, deadline=NOW)
    assert refusal.value.messages == ["No completion materials of this class have passed the formal check."]
    with pytest.raises(TransitionRefused) as refusal:
        create_completion_round(project.call_class, by=pi, deadline=NOW)
    assert refusal.value.messages == ["Only the secretariat may change review rounds."]


def test_the_expert_dossier_shows_the_accepted_summary(project, pi, unit_admin, secretary):
    from projects.blind import blind_dossier

    accepted_report(project, pi, unit_admin, secretary)
    dossier = blind_dossier(project, "completion")
    assert dossier.completion_summary == MATERIALS["summary_report"]
    assert "经费使用规范" not in repr(dossier)  # the work report stays out


# ---- citations and the archive ---------------------------------------------------------------------


def test_citations_follow_gb_t_7714():
    assert cite(Output(**PAPER)) == (
        "周海燕, 钱文静. 社区老年数字学习共同体的培育路径[J]. 开放教育研究, 2024, 30(3): 45-53. "
        "DOI:10.13966/j.cnki.kfjyyj.2024.03.005."
    )
    assert cite(Output(**BOOK)) == "周海燕. 老年教育数字化转型研究[M]. 高等教育出版社, 2025."
    report = Output(kind="report", title="上海市老年教育发展报告", authors="周海燕", venue="上海市教委", year=2024)
    assert cite(report) == "周海燕. 上海市老年教育发展报告[R]. 上海市教委, 2024."
    award = Output(kind="award", title="社区老年学习模式研究", authors="周海燕", award_level="上海市教学成果奖二等奖",
                   year=2025)
    assert cite(award) == "周海燕. 社区老年学习模式研究. 获奖: 上海市教学成果奖二等奖, 2025."
    other = Output(kind="other", title="老年数字学习课程", authors="周海燕", identifier="ISBN 978-7-04-000000-0")
    assert cite(other) == "周海燕. 老年数字学习课程[Z]. ISBN 978-7-04-000000-0."


def test_the_archive_record_lists_the_outputs(project, pi, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        submit(project, pi)
    record = Record.objects.get(project=project)
    assert record.state == "ongoing"
    assert record.output_list == [
        "周海燕, 钱文静. 社区老年数字学习共同体的培育路径[J]. 开放教育研究, 2024, 30(3): 45-53. "
        "DOI:10.13966/j.cnki.kfjyyj.2024.03.005.",
        "周海燕. 老年教育数字化转型研究[M]. 高等教育出版社, 2025.",
    ]


# ---- telling people ----------------------------------------------------------------------------------


def test_the_unit_and_the_pi_are_told(project, pi, unit_admin, secretary, mailoutbox, english,
                                      django_capture_on_commit_callbacks):
    from accounts.models import Notification

    for person in (pi, unit_admin):
        person.language = "en"
        person.save()
    with django_capture_on_commit_callbacks(execute=True):
        report = submit(project, pi)
    [to_unit] = Notification.objects.filter(user=unit_admin)
    assert to_unit.subject == f"[Keti] Completion materials to endorse: {project.title}"
    assert to_unit.link == f"/projects/{project.pk}/completion/"
    with django_capture_on_commit_callbacks(execute=True):
        report_step(report, "return_completion", by=unit_admin, reason="请补充经费使用说明。")
    returned = Notification.objects.filter(user=pi).latest("pk")
    assert "returned for correction" in returned.body and "请补充经费使用说明。" in returned.body
    assert any("请补充经费使用说明。" in mail.body and mail.to == [pi.email] for mail in mailoutbox)
    with django_capture_on_commit_callbacks(execute=True):
        correct_completion(report, by=pi, **MATERIALS, outputs=[PAPER])
        report_step(report, "endorse_completion", by=unit_admin)
        report_step(report, "accept_completion", by=secretary)
        completion_round(project, ["excellent"] * 3, opened_at=timezone.now())  # accepted on the clock above
        record_appraisal(report, by=secretary)
    project.refresh_from_db()
    certificate = Notification.objects.filter(user=pi, subject__startswith="[Keti] Completion certificate").get()
    assert project.certificate_number in certificate.body and "Excellent" in certificate.body


# ---- completion within the period (结题在研究期限内申请) ---------------------------------------------


def test_completion_after_the_end_date_is_refused(project, pi, english):
    late = timezone.make_aware(dt.datetime(2025, 9, 1, 9, 0))  # the period ended on 2025-08-31
    with pytest.raises(TransitionRefused) as refusal:
        submit(project, pi, now=late)
    assert refusal.value.messages == [
        "The project ended on 2025-08-31: completion is applied for within the period. Ask the secretariat; "
        "an extension must be requested before the end date."]
    project.refresh_from_db()
    assert (project.state, project.completion_reports.count(), project.outputs.count()) == ("active", 0, 0)
    on_the_last_day = timezone.make_aware(dt.datetime(2025, 8, 31, 20, 0))
    assert submit(project, pi, now=on_the_last_day).pk


def test_an_approved_extension_moves_the_limit(project, pi, unit_admin, secretary):
    from projects.services import perform, request_change

    change = request_change(project, "extension", by=pi, explanation="调研推迟，需延期。", extension_months=6, now=NOW)
    perform(change, "endorse", by=unit_admin, now=NOW + DAY)
    perform(change, "approve", by=secretary, now=NOW + 2 * DAY)
    project.refresh_from_db()
    assert project.end_date == dt.date(2026, 2, 28)
    report = submit(project, pi, now=timezone.make_aware(dt.datetime(2026, 1, 10, 9, 0)))
    project.refresh_from_db()
    assert (report.attempt, project.state) == (1, "completion_review")


def test_after_a_failed_appraisal_the_revision_is_due_within_the_rectification_months(project, pi, unit_admin,
                                                                                         secretary, english):
    first = accepted_report(project, pi, unit_admin, secretary, now=timezone.make_aware(dt.datetime(2025, 8, 1, 9)))
    completion_round(project, ["fail"] * 3, opened_at=timezone.make_aware(dt.datetime(2025, 8, 5, 9)))
    record_appraisal(first, by=secretary, now=timezone.make_aware(dt.datetime(2025, 9, 20, 9)))
    project.refresh_from_db()
    assert (project.state, project.appraisal_failures) == ("active", 1)
    # After the end date (2025-08-31) but within 3 months of the failed appraisal (2025-12-20): accepted.
    too_late = timezone.make_aware(dt.datetime(2025, 12, 21, 9))
    with pytest.raises(TransitionRefused) as refusal:
        submit(project, pi, now=too_late)
    assert refusal.value.messages == [
        "The revised completion materials were due by 2025-12-20 (3 months after the failed appraisal); the "
        "secretariat decides what happens to the project."]
    second = submit(project, pi, now=timezone.make_aware(dt.datetime(2025, 12, 20, 18)))
    assert second.attempt == 2


def test_a_project_without_an_end_date_is_not_held_back(pi):
    from projects.guards import TransitionContext, completion_within_period

    project = ProjectFactory(state="active", pi=pi, end_date=None)
    assert completion_within_period.message(project, TransitionContext(now=NOW + 3650 * DAY)) is None
