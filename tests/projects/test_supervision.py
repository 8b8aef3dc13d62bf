"""Kick-off (开题) and mid-term check (中期检查): each rule refuses bad input with its message and changes nothing."""

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from docx import Document

from accounts import roles
from projects import access
from projects.models import KickoffReport, MidtermReport, TransitionLog
from projects.services import TransitionRefused
from projects.supervision import decide_midterm, record_kickoff, submit_midterm
from projects.supervision_documents import midterm_form
from tests.factories import MemberFactory, ProjectFactory, UserFactory, aware

NOW = aware(2024, 6, 1, 10, 0)
TODAY = dt.date(2024, 6, 1)
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82")

pytestmark = pytest.mark.usefixtures("english")


def running(pi, **fields):
    """A project under way since 2024-01-10, ending 2026-01-09."""
    values = dict(
        state="active", pi=pi, approved_at=aware(2024, 1, 10, 9, 0), start_date=dt.date(2024, 1, 10),
        end_date=dt.date(2026, 1, 9), number=None,
    )
    values.update(fields)
    project = ProjectFactory(**values)
    access.sync_object_permissions(project)
    return project


@pytest.fixture
def project(applicant):
    return running(applicant, number="CAEA2024A001")


def kickoff_input(**overrides):
    values = dict(held_on=dt.date(2024, 3, 1), experts="张明 教授 华东师范大学\n李华 研究员 上海开放大学",
                  report="开题论证会认为研究思路清晰，方法可行。", now=NOW)
    values.update(overrides)
    return values


def midterm_input(**overrides):
    values = dict(progress="完成问卷调查两轮，回收有效问卷812份。", outputs_so_far="发表论文一篇。",
                  problems="个案点调整。", plan="下半年完成个案研究与总报告初稿。", now=NOW)
    values.update(overrides)
    return values


def refused(call):
    with pytest.raises(TransitionRefused) as info:
        call()
    return " ".join(info.value.messages)


# ---- kick-off ---------------------------------------------------------------------------------


def test_pi_records_the_kickoff_with_a_file(project, applicant):
    upload = SimpleUploadedFile("开题报告.png", PNG, content_type="image/png")
    kickoff = record_kickoff(project, by=applicant, upload=upload, **kickoff_input())
    assert kickoff.held_on == dt.date(2024, 3, 1)
    assert kickoff.submitted_by == applicant
    assert kickoff.file_name == "开题报告.png"
    assert kickoff.file.name.endswith(".png")


@pytest.mark.parametrize("overrides, message", [
    ({"held_on": dt.date(2024, 6, 2)}, "is in the future"),
    ({"held_on": dt.date(2024, 1, 9)}, "before the project's start (2024-01-10)"),
    ({"held_on": None}, "Give the date of the kick-off meeting."),
    ({"experts": "  "}, "List the experts present at the kick-off."),
    ({"report": ""}, "Write the kick-off report."),
])
def test_kickoff_rules_refuse_and_change_nothing(project, applicant, overrides, message):
    assert message in refused(lambda: record_kickoff(project, by=applicant, **kickoff_input(**overrides)))
    assert not KickoffReport.objects.exists()


def test_kickoff_refuses_a_bad_file(project, applicant):
    upload = SimpleUploadedFile("报告.exe", b"MZ\x90\x00 not a document", content_type="application/octet-stream")
    assert "This type of file is not accepted" in refused(
        lambda: record_kickoff(project, by=applicant, upload=upload, **kickoff_input()))
    assert not KickoffReport.objects.exists()


def test_only_the_pi_records_the_kickoff(project, secretary, unit_admin):
    for person in (secretary, unit_admin, UserFactory()):
        assert "Only the PI can record the kick-off." in refused(
            lambda: record_kickoff(project, by=person, **kickoff_input()))
    assert not KickoffReport.objects.exists()


def test_kickoff_only_for_a_project_under_way(applicant):
    draft = ProjectFactory(pi=applicant, state="completion_review", start_date=dt.date(2024, 1, 10))
    assert "only for a project under way" in refused(lambda: record_kickoff(draft, by=applicant, **kickoff_input()))


def test_kickoff_is_kept_once_and_editable_until_the_midterm_report(project, applicant):
    record_kickoff(project, by=applicant, **kickoff_input())
    record_kickoff(project, by=applicant, **kickoff_input(held_on=dt.date(2024, 3, 2)))
    assert KickoffReport.objects.get().held_on == dt.date(2024, 3, 2)
    submit_midterm(project, by=applicant, **midterm_input())
    message = refused(lambda: record_kickoff(project, by=applicant, **kickoff_input(held_on=dt.date(2024, 3, 5))))
    assert "can no longer be changed" in message
    assert KickoffReport.objects.get().held_on == dt.date(2024, 3, 2)


# ---- mid-term ---------------------------------------------------------------------------------


def test_pi_submits_the_midterm_report(project, applicant):
    report = submit_midterm(project, by=applicant, **midterm_input())
    project.refresh_from_db()
    assert project.state == "midterm_review"
    assert report.progress.startswith("完成问卷调查")
    entry = TransitionLog.objects.get(project=project, transition="submit_midterm")
    assert (entry.from_state, entry.to_state, entry.actor) == ("active", "midterm_review", applicant)


def test_midterm_by_a_non_pi_leaves_nothing(project, secretary, unit_admin):
    for person in (secretary, unit_admin):
        assert "You are not allowed" in refused(lambda: submit_midterm(project, by=person, **midterm_input()))
    assert not MidtermReport.objects.exists()
    project.refresh_from_db()
    assert project.state == "active"
    assert not TransitionLog.objects.filter(project=project).exists()


@pytest.mark.parametrize("state", ["midterm_review", "completion_review", "terminated", "publicity"])
def test_midterm_in_the_wrong_state_leaves_nothing(applicant, state):
    project = running(applicant, state=state)
    assert "is not possible while the record is" in refused(
        lambda: submit_midterm(project, by=applicant, **midterm_input()))
    assert not MidtermReport.objects.exists()


@pytest.mark.parametrize("overrides, message", [
    ({"progress": " "}, "Describe the progress of the research."),
    ({"plan": ""}, "Give the plan for the rest of the project."),
])
def test_midterm_needs_progress_and_plan(project, applicant, overrides, message):
    assert message in refused(lambda: submit_midterm(project, by=applicant, **midterm_input(**overrides)))
    project.refresh_from_db()
    assert project.state == "active" and not MidtermReport.objects.exists()


def test_no_second_midterm_after_a_pass(project, applicant, secretary):
    submit_midterm(project, by=applicant, **midterm_input())
    decide_midterm(project, by=secretary, decision="pass", now=NOW)
    assert "has passed its mid-term check" in refused(lambda: submit_midterm(project, by=applicant, **midterm_input()))
    assert MidtermReport.objects.count() == 1


@pytest.fixture
def in_review(project, applicant):
    submit_midterm(project, by=applicant, **midterm_input())
    project.refresh_from_db()
    return project


def test_pass_moves_the_project_back_and_logs(in_review, secretary):
    report = decide_midterm(in_review, by=secretary, decision="pass", reason="进展良好。", now=NOW)
    in_review.refresh_from_db()
    assert (in_review.state, in_review.midterm_result) == ("active", "pass")
    assert (report.decision, report.decision_reason, report.decided_by) == ("pass", "进展良好。", secretary)
    assert TransitionLog.objects.filter(project=in_review, transition="pass_midterm", actor=secretary).exists()


def test_fail_sets_the_default_rectification_deadline(in_review, secretary):
    report = decide_midterm(in_review, by=secretary, decision="fail", reason="进度滞后。", now=NOW)
    in_review.refresh_from_db()
    assert (in_review.state, in_review.midterm_result) == ("active", "fail")
    assert in_review.rectification_deadline == dt.date(2024, 9, 1)  # RECTIFICATION_MONTHS = 3
    assert report.decision == "fail"
    assert TransitionLog.objects.get(project=in_review, transition="fail_midterm").reason == "进度滞后。"


def test_fail_with_a_given_deadline_then_a_new_report(in_review, applicant, secretary):
    decide_midterm(in_review, by=secretary, decision="fail", reason="进度滞后。",
                   rectification_deadline=dt.date(2024, 8, 1), now=NOW)
    in_review.refresh_from_db()
    assert in_review.rectification_deadline == dt.date(2024, 8, 1)
    submit_midterm(in_review, by=applicant, **midterm_input(now=aware(2024, 7, 20, 9, 0)))
    report = decide_midterm(in_review, by=secretary, decision="pass", now=aware(2024, 7, 25, 9, 0))
    assert MidtermReport.objects.count() == 2 and report.decision == "pass"
    assert MidtermReport.objects.order_by("submitted_at").first().decision == "fail"


def test_terminate_ends_the_project(in_review, secretary):
    decide_midterm(in_review, by=secretary, decision="terminate", reason="无法继续开展研究。", now=NOW)
    in_review.refresh_from_db()
    assert in_review.state == "terminated" and in_review.closed_at == NOW
    assert TransitionLog.objects.filter(project=in_review, transition="terminate").exists()


@pytest.mark.parametrize("decision", ["fail", "terminate"])
def test_fail_and_terminate_need_a_reason(in_review, secretary, decision):
    assert "Please give a reason for this step." in refused(
        lambda: decide_midterm(in_review, by=secretary, decision=decision, reason=" ", now=NOW))
    in_review.refresh_from_db()
    assert in_review.state == "midterm_review"
    assert MidtermReport.objects.get().decision == ""


def test_decision_rules(in_review, secretary, applicant, unit_admin):
    assert "Choose a decision" in refused(lambda: decide_midterm(in_review, by=secretary, decision="maybe", now=NOW))
    assert "a day after today" in refused(lambda: decide_midterm(
        in_review, by=secretary, decision="fail", reason="滞后", rectification_deadline=TODAY, now=NOW))
    for person in (applicant, unit_admin):
        assert "You are not allowed" in refused(lambda: decide_midterm(in_review, by=person, decision="pass", now=NOW))
    in_review.refresh_from_db()
    assert in_review.state == "midterm_review" and MidtermReport.objects.get().decision == ""


def test_decision_waits_for_an_open_review_round(in_review, secretary):
    from tests.reviews.factories import ReviewRoundFactory

    round_ = ReviewRoundFactory(call_class=in_review.call_class, stage="midterm", state="open")
    round_.projects.add(in_review)
    assert "still running" in refused(lambda: decide_midterm(in_review, by=secretary, decision="pass", now=NOW))
    in_review.refresh_from_db()
    assert in_review.state == "midterm_review"


def test_decision_on_a_project_not_in_midterm_review(project, secretary):
    assert "is not possible while the record is" in refused(
        lambda: decide_midterm(project, by=secretary, decision="pass", now=NOW))


# ---- the 中期检查表 ------------------------------------------------------------------------------


def test_midterm_form_document(in_review, secretary):
    MemberFactory(project=in_review, name="赵文静")
    decide_midterm(in_review, by=secretary, decision="fail", reason="进度滞后，需加快个案研究。", now=NOW)
    in_review.refresh_from_db()
    doc = Document(io.BytesIO(midterm_form(in_review)))
    text = "\n".join(p.text for p in doc.paragraphs)
    cells = "\n".join(cell.text for table in doc.tables for row in table.rows for cell in row.cells)
    assert "课题中期检查表" in text
    assert "完成问卷调查两轮" in text and "下半年完成个案研究" in text
    assert "CAEA2024A001" in cells and "赵文静" in cells
    assert "不合格，限期整改" in cells and "进度滞后，需加快个案研究。" in cells and "2024年9月1日" in cells
    assert doc.core_properties.author == ""


def test_only_secretariat_role_decides(in_review):
    committee = UserFactory(role=roles.COMMITTEE)
    assert "You are not allowed" in refused(lambda: decide_midterm(in_review, by=committee, decision="pass", now=NOW))


def test_no_decision_on_an_active_project_even_to_terminate(project, secretary, english):
    """An active project without a report: refused with a message, not an AttributeError."""
    message = refused(lambda: decide_midterm(project, by=secretary, decision="terminate", reason="其他原因", now=NOW))
    assert message == "“Terminate” is not possible while the record is “Under way”."
    project.refresh_from_db()
    assert project.state == "active"


def test_a_decided_report_is_never_rewritten(in_review, applicant, secretary, english):
    report = decide_midterm(in_review, by=secretary, decision="pass", reason="良好", now=NOW + dt.timedelta(days=1))
    in_review.refresh_from_db()
    assert in_review.state == "active"
    message = refused(lambda: decide_midterm(in_review, by=secretary, decision="terminate", reason="其他原因",
                                             now=NOW + dt.timedelta(days=90)))
    assert message == "“Terminate” is not possible while the record is “Under way”."
    report.refresh_from_db()
    in_review.refresh_from_db()
    assert (report.decision, report.decision_reason, in_review.state) == ("pass", "良好", "active")


# ---- no orphan files --------------------------------------------------------------------------------


def stored_files(settings):
    from pathlib import Path

    root = Path(settings.MEDIA_ROOT)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


class refused_insert:
    """A real database refusal of every new row of ``table`` (a SQLite trigger), to fail a transaction late."""

    def __init__(self, table):
        self.table = table

    def __enter__(self):
        from django.db import connection

        if connection.vendor != "sqlite":
            pytest.skip("the trigger is written for SQLite")
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TRIGGER refuse_{self.table} BEFORE INSERT ON {self.table} "
                           f"BEGIN SELECT RAISE(ABORT, 'refused by the test'); END")

    def __exit__(self, *exc):
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(f"DROP TRIGGER refuse_{self.table}")
        return False


def test_a_failed_midterm_submission_leaves_no_file(project, applicant, settings):
    from django.db import IntegrityError

    upload = SimpleUploadedFile("中期报告.png", PNG, content_type="image/png")
    with refused_insert("projects_midtermreport"), pytest.raises(IntegrityError):
        submit_midterm(project, by=applicant, upload=upload, **midterm_input())
    assert stored_files(settings) == []
    assert not MidtermReport.objects.exists()


def test_a_failed_kickoff_leaves_no_file(project, applicant, settings):
    from django.db import IntegrityError

    upload = SimpleUploadedFile("开题报告.png", PNG, content_type="image/png")
    with refused_insert("projects_kickoffreport"), pytest.raises(IntegrityError):
        record_kickoff(project, by=applicant, upload=upload, **kickoff_input())
    assert stored_files(settings) == []


def test_a_corrected_kickoff_file_replaces_the_old_one(project, applicant, settings,
                                                        django_capture_on_commit_callbacks):
    first = record_kickoff(project, by=applicant, upload=SimpleUploadedFile("开题报告.png", PNG), **kickoff_input())
    old = first.file.name
    assert stored_files(settings) == [old]
    with django_capture_on_commit_callbacks(execute=True):
        second = record_kickoff(project, by=applicant, upload=SimpleUploadedFile("开题报告（修订）.png", PNG),
                                **kickoff_input())
    assert second.file.name != old and stored_files(settings) == [second.file.name]
    assert second.file_name == "开题报告（修订）.png"
    with django_capture_on_commit_callbacks(execute=True):
        record_kickoff(project, by=applicant, **kickoff_input(report="修订后的开题报告。"))  # no new file: kept
    assert stored_files(settings) == [second.file.name]
