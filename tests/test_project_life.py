"""The whole life after the review, in one story over the demo data (the decision issue's first must-show).

A demo proposal in ``reviewed`` goes through the committee meeting, the public
notice with one upheld objection (against the other reviewed proposal) and one
dismissed (against ours), confirmation with its number and approval letter,
kick-off, mid-term, an extension, a completion appraisal that fails, a second
that passes, and ends ``completed`` with its certificate. Every step runs
through the services the pages use, with the clock passed in; the log, the
numbers and the documents are checked as the story goes.
"""

import re
from datetime import date
from io import BytesIO, StringIO

import pytest
from django.core.management import call_command
from docx import Document

from accounts import roles
from accounts.models import Notification, User
from archive.models import Record
from projects import completion, publicity, supervision
from projects.demo import at
from projects.models import Call, DocumentKind, Project, TransitionLog
from projects.services import perform, request_change
from projects.supervision_documents import midterm_form
from reviews import meetings, rounds, services

pytestmark = pytest.mark.django_db

OUTPUTS = [
    {"kind": "paper", "title": "社区教育资源共享平台的运行机制研究", "authors": "课题组", "venue": "中国成人教育",
     "year": 2025, "volume_issue": "2025(3)", "pages": "12-18"},
    {"kind": "report", "title": "社区教育资源整合与共享平台建设研究报告", "authors": "课题组", "year": 2025},
]
SUMMARY = "本成果系统梳理了社区教育资源整合的现状与问题，构建了区域共享平台的运行框架，并提出了推进策略。"


def transitions(project):
    """The project's own steps, in order (change requests and completion materials log beside them)."""
    return list(TransitionLog.objects.filter(project=project, content_type__model="project")
                .order_by("at", "pk").values_list("transition", flat=True))


def docx_text(project, kind):
    document = Document(BytesIO(project.documents.get(kind=kind).file.read()))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def appraise_by_panel(project, report, recommendation, secretary, now, capture):
    """A completion round for the materials: the assigner, the invitations, three reviews, the panel's grade."""
    round_ = completion.create_completion_round(project.call_class, by=secretary, deadline=at(now.year + 1, 1, 31))
    assert list(round_.projects.all()) == [project]
    rounds.run_assignment(round_, by=secretary, now=now)
    with capture(execute=True):
        completion.open_completion_round(round_, by=secretary, now=now)
    assignments = list(round_.assignments.filter(status="invited").select_related("expert__user"))
    assert len(assignments) == round_.experts_per_proposal == 3
    for assignment in assignments:
        services.sign_declaration(assignment.expert, round_, now=now)
        services.submit_review(assignment, {
            "scores": {"value": 6, "innovation": 6, "completion": 6} if recommendation == "fail"
            else {"value": 8, "innovation": 8, "completion": 9},
            "recommendation": recommendation,
            "comments_to_applicant": "成果论证需进一步充实。" if recommendation == "fail" else "成果较好地完成了研究任务。",
        }, by=assignment.expert.user, now=now)
    with capture(execute=True):
        completion.record_appraisal(report, by=secretary, now=now)
    rounds.close_round(round_, by=secretary, now=now)
    project.refresh_from_db()
    return round_


def test_a_demo_proposal_lives_from_the_review_to_its_certificate(mailoutbox, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    call_command("load_demo", stdout=StringIO())
    call = Call.objects.get(year=2023)
    ours, other = Project.objects.filter(call=call, state="reviewed").order_by("pk")
    assert ours.call_class.code == "B" and other.call_class.code == "B"
    secretary = User.objects.get(username="secretary")
    committee = list(User.objects.filter(username__startswith="committee").order_by("username"))
    unit_admin = User.objects.get(groups__name=roles.UNIT_ADMIN, institution=ours.institution)
    pi = ours.pi
    before = transitions(ours)
    assert before[-1] == "close_review"
    mailoutbox.clear()
    # What the demo's own steps told the two PIs (on the production stack, its mail ran for real).
    told_before = set(Notification.objects.filter(user__in=[ours.pi, other.pi]).values_list("pk", flat=True))

    # Committee meeting (会议评审): five present, all approve both; decisions staged, nobody told.
    held = at(2023, 9, 10, 9)
    meeting = meetings.create_meeting(call, held_on=held, place="协会会议室", present=committee, by=secretary)
    for member in committee:
        for project in (ours, other):
            meetings.cast_vote(meeting, project, member, "approve", now=held)
    tallies = {t.project.pk: t for t in meetings.tally(meeting) if t.project.pk in (ours.pk, other.pk)}
    assert all(t.recommended for t in tallies.values())
    for project in (ours, other):
        meetings.stage_decision(meeting, project, "approve", by=secretary, now=held)
    told_now = set(Notification.objects.filter(user__in=[ours.pi, other.pi]).values_list("pk", flat=True))
    assert mailoutbox == [] and told_now == told_before
    assert transitions(ours) == before
    with capture(execute=True):
        meetings.release(meeting, by=secretary, now=at(2023, 9, 12, 10))
    ours.refresh_from_db()
    other.refresh_from_db()
    assert (ours.state, other.state) == ("publicity", "publicity")
    assert transitions(ours) == before + ["approve"]
    assert sorted(m.to[0] for m in mailoutbox) == sorted([ours.pi.email, other.pi.email])  # each told once

    # Public notice (立项公示): an objection upheld against the other, one dismissed against ours.
    assert {entry.title for entry in publicity.notice_board(call).entries} >= {ours.title, other.title}
    upheld = publicity.submit_objection(other, name="李明", contact="13800001111", text="申请人前期成果与本题无关，数据存疑。",
                                        client_id="203.0.113.7", now=at(2023, 9, 13, 9))
    dismissed = publicity.submit_objection(ours, name="王芳", contact="wf@example.org", text="认为选题与已有课题重复。",
                                           client_id="203.0.113.8", now=at(2023, 9, 13, 10))
    publicity.decide_objection(upheld, by=secretary, uphold=True, reason="经核实，异议成立。", now=at(2023, 9, 15, 10))
    publicity.decide_objection(dismissed, by=secretary, uphold=False, reason="经核实，选题不重复。", now=at(2023, 9, 15, 11))
    other.refresh_from_db()
    assert other.state == "not_approved" and transitions(other)[-1] == "drop"

    # Confirmation (正式立项): the number, the period and the approval letter.
    with capture(execute=True):
        confirmed, refused = publicity.confirm_projects(call, by=secretary, now=at(2023, 9, 20, 10))
    ours.refresh_from_db()
    assert ours in confirmed and ours.state == "active"
    assert re.fullmatch(r"CAEA2023B\d{3}", ours.number)
    assert (ours.start_date, ours.end_date) == (date(2023, 9, 20), date(2025, 6, 30))
    assert transitions(ours)[-1] == "confirm"
    letter = docx_text(ours, DocumentKind.APPROVAL_LETTER)
    assert ours.number in letter and ours.title in letter and pi.real_name in letter

    # Kick-off (开题) and mid-term (中期检查).
    supervision.record_kickoff(ours, by=pi, held_on=date(2023, 10, 20), experts="张教授（华东师范大学）\n李研究员（中国成人教育协会研究所）",
                               report="开题论证会认为研究设计合理可行。", now=at(2023, 10, 25))
    supervision.submit_midterm(ours, by=pi, progress="完成了三个地区的实地调研。", outputs_so_far="发表论文1篇。",
                               problems="个别地区数据采集滞后。", plan="下一阶段完成平台模型构建。", now=at(2024, 6, 3))
    supervision.decide_midterm(ours, by=secretary, decision="pass", now=at(2024, 6, 20))
    ours.refresh_from_db()
    assert (ours.state, ours.midterm_result) == ("active", "pass")
    assert transitions(ours)[-2:] == ["submit_midterm", "pass_midterm"]
    form = Document(BytesIO(midterm_form(ours)))
    form_text = "\n".join([p.text for p in form.paragraphs] + [c.text for t in form.tables for r in t.rows for c in r.cells])
    assert ours.title in form_text and "合格" in form_text

    # An extension (延期) of 6 months: unit, then secretariat; the end date moves, every step logged.
    change = request_change(ours, "extension", by=pi, explanation="试点需覆盖完整学期，申请延期6个月。",
                            extension_months=6, now=at(2025, 2, 10))
    perform(change, "endorse", by=unit_admin, now=at(2025, 2, 12))
    perform(change, "approve", by=secretary, now=at(2025, 2, 20))
    ours.refresh_from_db()
    assert (ours.end_date, ours.extension_count) == (date(2025, 12, 30), 1)
    assert list(TransitionLog.objects.filter(content_type__model="changerequest", object_id=change.pk)
                .values_list("transition", flat=True)) == ["request", "endorse", "approve"]

    # Completion (结题), first attempt: unit, formal check, the panel says 不合格; back to work.
    first = completion.submit_completion(ours, by=pi, work_report="课题组按计划完成研究任务。", summary_report=SUMMARY,
                                         self_assessment="基本达到预期目标。", outputs=OUTPUTS, now=at(2025, 9, 1))
    completion.report_step(first, "endorse_completion", by=unit_admin, now=at(2025, 9, 3))
    completion.report_step(first, "accept_completion", by=secretary, now=at(2025, 9, 8))
    appraise_by_panel(ours, first, "fail", secretary, at(2025, 9, 20), capture)
    assert (ours.state, ours.appraisal_failures, ours.grade) == ("active", 1, "")
    assert "不合格" in docx_text(ours, DocumentKind.APPRAISAL_OPINION)

    # Second attempt: revised materials, a passing panel; completed with the certificate.
    second = completion.submit_completion(ours, by=pi, work_report="根据鉴定意见补充了实证数据。", summary_report=SUMMARY + "补充了三省市实证数据。",
                                          self_assessment="完成了预期目标。", outputs=OUTPUTS, now=at(2025, 11, 3))
    assert second.attempt == 2
    completion.report_step(second, "endorse_completion", by=unit_admin, now=at(2025, 11, 5))
    completion.report_step(second, "accept_completion", by=secretary, now=at(2025, 11, 10))
    appraise_by_panel(ours, second, "good", secretary, at(2025, 11, 28), capture)
    assert (ours.state, ours.grade) == ("completed", "good")
    assert re.fullmatch(r"CAEA-JT2025\d{4}", ours.certificate_number)
    certificate = docx_text(ours, DocumentKind.CERTIFICATE)
    assert ours.certificate_number in certificate and ours.title in certificate and ours.number in certificate
    assert "良好" in docx_text(ours, DocumentKind.APPRAISAL_OPINION)

    # The log tells the whole life, and the archive has the project with its grade and outputs.
    assert transitions(ours) == before + [
        "approve", "confirm", "submit_midterm", "pass_midterm",
        "submit_completion", "appraise", "submit_completion", "appraise",
    ]
    steps_of_materials = list(TransitionLog.objects.filter(project=ours, content_type__model="completionreport")
                              .values_list("transition", flat=True))
    assert steps_of_materials == ["endorse_completion", "accept_completion", "record_appraisal"] * 2
    record = Record.objects.get(number=ours.number)
    assert record.grade == "good" and "社区教育资源共享平台的运行机制研究" in record.outputs
