"""Public notice (立项公示): the board, objections and their rules, their decision, confirmation."""

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from pypdf import PdfWriter

from projects.models import DocumentKind, Objection, ObjectionState, Project, ProjectDocument, TransitionLog
from projects.publicity import (
    OBJECTIONS_PER_HOUR,
    ObjectionRefused,
    TooManyObjections,
    client_hash,
    confirm_projects,
    confirmation_outlook,
    decide_objection,
    notice_board,
    submit_objection,
)
from projects.services import TransitionRefused
from tests.factories import CallClassFactory, ProjectFactory, UserFactory, aware

pytestmark = pytest.mark.django_db

STARTED = aware(2023, 6, 1, 9, 0)
DURING = STARTED + dt.timedelta(days=3)
AFTER = STARTED + dt.timedelta(days=8)


def pdf_bytes():
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture
def cls(db):
    return CallClassFactory(code="A", funding=20000)


def in_notice(call_class, started=STARTED, **kwargs):
    return ProjectFactory(call_class=call_class, state="publicity", publicity_started_at=started, **kwargs)


def objection(project, now=DURING, client="10.0.0.1", **kwargs):
    fields = {"name": "王建国", "contact": "13800138000", "text": "该课题负责人有未结题的协会课题。"} | kwargs
    return submit_objection(project, client_id=client, now=now, **fields)


# ---- the notice board ----------------------------------------------------------------------


def test_board_lists_only_the_calls_projects_in_notice_with_their_period(cls):
    shown = in_notice(cls, title="社区老年教育研究")
    later = in_notice(cls, started=STARTED + dt.timedelta(days=1))
    ProjectFactory(call_class=cls, state="reviewed")
    ProjectFactory(call_class=cls, state="active")
    ProjectFactory(call_class=cls, state="not_approved", publicity_started_at=STARTED)
    in_notice(CallClassFactory(code="A"))  # another call

    board = notice_board(cls.call)

    assert [e.project_id for e in board.entries] == [shown.pk, later.pk]
    entry = board.entries[0]
    assert entry.title == "社区老年教育研究"
    assert entry.pi_name == shown.pi.display_name
    assert entry.unit_name == shown.institution.name
    assert (entry.class_code, entry.class_name) == ("A", "学术性课题")
    assert entry.starts_at == STARTED and entry.ends_at == STARTED + dt.timedelta(days=7)
    assert board.starts_at == STARTED and board.ends_at == STARTED + dt.timedelta(days=8)
    assert board.is_running(DURING) and not board.is_running(STARTED + dt.timedelta(days=9))


def test_the_period_follows_the_calls_notice_days(cls):
    cls.call.notice_days = 10
    cls.call.save()
    in_notice(cls)
    assert notice_board(cls.call).entries[0].ends_at == STARTED + dt.timedelta(days=10)


# ---- objections ---------------------------------------------------------------------------------


def test_an_objection_is_stored_with_the_hash_of_the_client(cls):
    project = in_notice(cls)
    stored = objection(project, client="10.0.0.1")
    assert stored.state == ObjectionState.PENDING and stored.submitted_at == DURING
    assert stored.client_hash == client_hash("10.0.0.1") and "10.0.0.1" not in stored.client_hash


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": "  "}, "name", "Please give your name."),
        ({"name": "王" * 51}, "name", "The name has at most 50 characters."),
        ({"contact": ""}, "contact", "Please give a phone number or an e-mail address"),
        ({"contact": "call me"}, "contact", "Enter a valid phone number"),
        ({"contact": "wang@"}, "contact", "Enter a valid phone number"),
        ({"text": ""}, "text", "Please write your objection."),
        ({"text": "异" * 2001}, "text", "The objection has 2001 characters; at most 2000 are accepted."),
    ],
)
def test_objection_input_is_checked_with_a_message(cls, english, fields, field, message):
    project = in_notice(cls)
    with pytest.raises(ObjectionRefused) as refused:
        objection(project, **fields)
    assert any(message in m for m in refused.value.field_errors[field])
    assert not Objection.objects.exists()


def test_all_input_errors_are_told_at_once(cls, english):
    with pytest.raises(ObjectionRefused) as refused:
        objection(in_notice(cls), name="", contact="", text="")
    assert set(refused.value.field_errors) == {"name", "contact", "text"}


def test_an_email_or_a_phone_number_is_a_contact(cls):
    project = in_notice(cls)
    assert objection(project, contact="wang@example.org", client="a").contact == "wang@example.org"
    assert objection(project, contact="+86 (21) 6123-4567", client="b").contact == "+86 (21) 6123-4567"
    assert objection(project, text="异" * 2000, client="c").text == "异" * 2000


def test_a_supporting_file_is_checked_and_kept_with_its_name(cls, settings):
    project = in_notice(cls)
    stored = objection(project, upload=SimpleUploadedFile("举报材料.pdf", pdf_bytes()))
    assert stored.file_name == "举报材料.pdf"
    assert stored.file.name.endswith(".pdf") and "举报材料" not in stored.file.name
    assert stored.file.read() == pdf_bytes()


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("材料.pdf", b"MZ\x90\x00" + b"\x00" * 500, "This type of file is not accepted."),
        ("材料.docx", None, "Rename it to end in “.pdf”."),
        ("材料.pdf", None, "files may be at most"),
    ],
)
def test_a_bad_file_is_refused_and_nothing_is_stored(cls, settings, english, name, data, message):
    if message == "files may be at most":
        settings.UPLOAD_MAX_BYTES = 100
    project = in_notice(cls)
    with pytest.raises(ObjectionRefused) as refused:
        objection(project, upload=SimpleUploadedFile(name, data or pdf_bytes()))
    assert any(message in m for m in refused.value.field_errors["file"])
    assert not Objection.objects.exists()


def test_the_fourth_objection_of_a_client_within_an_hour_is_refused(cls, english):
    assert OBJECTIONS_PER_HOUR == 3
    project, other = in_notice(cls), in_notice(cls)
    for minute in range(3):
        objection(project if minute % 2 else other, now=DURING + dt.timedelta(minutes=minute))
    with pytest.raises(TooManyObjections) as refused:
        objection(project, now=DURING + dt.timedelta(minutes=30))
    assert "3 objections within an hour" in refused.value.messages[0]
    assert Objection.objects.count() == 3
    # Another client is not held back, and the first one may object again an hour later.
    objection(project, now=DURING + dt.timedelta(minutes=30), client="10.0.0.2")
    objection(project, now=DURING + dt.timedelta(minutes=61))
    assert Objection.objects.count() == 5


def test_objections_only_while_the_notice_runs(cls, english):
    project = in_notice(cls)
    with pytest.raises(ObjectionRefused) as after:
        objection(project, now=AFTER)
    assert "ended at 2023-06-08 09:00" in after.value.messages[0]
    with pytest.raises(ObjectionRefused) as before:
        objection(project, now=STARTED - dt.timedelta(minutes=1))
    assert "starts at" in before.value.messages[0]
    assert not Objection.objects.exists()


@pytest.mark.parametrize("state", ["reviewed", "active", "not_approved"])
def test_objections_only_to_projects_in_notice(cls, english, state):
    project = ProjectFactory(call_class=cls, state=state, publicity_started_at=STARTED)
    with pytest.raises(ObjectionRefused) as refused:
        objection(project)
    assert "is not in public notice" in refused.value.messages[0]
    assert not Objection.objects.exists()


# ---- the decision ------------------------------------------------------------------------------


def test_upholding_drops_the_project_with_the_reason_in_the_log(cls, secretary):
    project = in_notice(cls)
    pending = objection(project)
    decided = decide_objection(pending, by=secretary, uphold=True, reason="经核实，负责人有未结题课题。", now=AFTER)
    project.refresh_from_db()
    assert project.state == "not_approved"
    assert decided.state == ObjectionState.UPHELD and decided.decided_by == secretary and decided.decided_at == AFTER
    log = TransitionLog.objects.get(project=project, transition="drop")
    assert (log.from_state, log.to_state, log.reason, log.actor) == (
        "publicity", "not_approved", "经核实，负责人有未结题课题。", secretary)


def test_dismissing_leaves_the_project_in_notice(cls, secretary):
    project = in_notice(cls)
    decided = decide_objection(objection(project), by=secretary, uphold=False, reason="反映情况不属实。", now=AFTER)
    project.refresh_from_db()
    assert project.state == "publicity" and decided.state == ObjectionState.DISMISSED
    assert decided.decision_reason == "反映情况不属实。"
    assert not TransitionLog.objects.filter(project=project, transition="drop").exists()


def test_an_objection_is_decided_once(cls, secretary, english):
    pending = objection(in_notice(cls))
    decide_objection(pending, by=secretary, uphold=False, reason="不属实。", now=AFTER)
    with pytest.raises(TransitionRefused) as refused:
        decide_objection(pending, by=secretary, uphold=True, reason="再议。", now=AFTER)
    assert "already decided" in refused.value.messages[0]
    pending.refresh_from_db()
    assert pending.state == ObjectionState.DISMISSED and pending.decision_reason == "不属实。"
    assert Project.objects.get().state == "publicity"


def test_a_decision_needs_a_reason_and_the_secretariat(cls, secretary, applicant, english):
    project = in_notice(cls)
    pending = objection(project)
    with pytest.raises(TransitionRefused, match="Please give a reason"):
        decide_objection(pending, by=secretary, uphold=True, reason="  ")
    with pytest.raises(TransitionRefused, match="Only the secretariat"):
        decide_objection(pending, by=applicant, uphold=True, reason="理由")
    pending.refresh_from_db()
    project.refresh_from_db()
    assert pending.state == ObjectionState.PENDING and project.state == "publicity"


def test_a_second_upheld_objection_is_recorded_on_a_dropped_project(cls, secretary):
    project = in_notice(cls)
    first, second = objection(project, client="a"), objection(project, client="b")
    decide_objection(first, by=secretary, uphold=True, reason="成立。", now=AFTER)
    decide_objection(second, by=secretary, uphold=True, reason="同上。", now=AFTER)
    assert TransitionLog.objects.filter(project=project, transition="drop").count() == 1
    assert set(Objection.objects.values_list("state", flat=True)) == {ObjectionState.UPHELD}


# ---- confirmation --------------------------------------------------------------------------------


def test_confirmation_refuses_pending_objections_and_running_notices(cls, secretary, english,
                                                                    django_capture_on_commit_callbacks, mailoutbox):
    ready = in_notice(cls, title="甲课题")
    objected = in_notice(cls, title="乙课题")
    still_running = in_notice(cls, title="丙课题", started=AFTER - dt.timedelta(days=2))
    dismissed = in_notice(cls, title="丁课题")
    objection(objected, client="a")
    decide_objection(objection(dismissed, client="b"), by=secretary, uphold=False, reason="不属实。", now=DURING)
    other_call = in_notice(CallClassFactory(code="A"))

    outlook = dict((p.pk, blocker) for p, blocker in confirmation_outlook(cls.call, now=AFTER))
    assert outlook[ready.pk] == "" and outlook[dismissed.pk] == ""
    assert "waiting for a decision" in outlook[objected.pk] and "runs until" in outlook[still_running.pk]

    with django_capture_on_commit_callbacks(execute=True):
        confirmed, refused = confirm_projects(cls.call, by=secretary, now=AFTER)

    assert sorted(p.title for p in confirmed) == ["丁课题", "甲课题"]
    assert {p.number for p in confirmed} == {"CAEA2023A001", "CAEA2023A002"}
    reasons = {p.pk: reason for p, reason in refused}
    assert reasons[objected.pk] == "An objection is waiting for a decision."
    assert "The public notice runs until" in reasons[still_running.pk]
    for project in (ready, dismissed):
        project.refresh_from_db()
        assert project.state == "active" and project.approved_at == AFTER
        assert project.start_date == dt.date(2023, 6, 9) and project.end_date == project.planned_end_date
        assert TransitionLog.objects.get(project=project, transition="confirm").actor == secretary
        assert ProjectDocument.objects.filter(project=project, kind=DocumentKind.APPROVAL_LETTER).exists()
    for project in (objected, still_running, other_call):
        project.refresh_from_db()
        assert project.state == "publicity" and project.number is None
    assert not ProjectDocument.objects.filter(project=objected).exists()
    # The PI hears of it by the transition's own mail (projects.notifications), nobody else.
    assert sorted(m.to[0] for m in mailoutbox) == sorted([ready.pi.email, dismissed.pi.email])


def test_confirmation_is_for_the_secretariat(cls, applicant, english):
    project = in_notice(cls)
    confirmed, refused = confirm_projects(cls.call, by=applicant, now=AFTER)
    assert confirmed == [] and "not allowed" in refused[0].reason
    project.refresh_from_db()
    assert project.state == "publicity"


def test_confirming_twice_confirms_nothing_more(cls, secretary):
    in_notice(cls)
    assert len(confirm_projects(cls.call, by=secretary, now=AFTER)[0]) == 1
    assert confirm_projects(cls.call, by=secretary, now=AFTER) == ([], [])


def test_the_pi_of_a_dropped_project_gets_no_number(cls, secretary):
    project = in_notice(cls, pi=UserFactory())
    decide_objection(objection(project), by=secretary, uphold=True, reason="成立。", now=DURING)
    assert confirm_projects(cls.call, by=secretary, now=AFTER) == ([], [])
    project.refresh_from_db()
    assert project.number is None


def test_a_failed_objection_leaves_no_file(cls, settings):
    from django.db import IntegrityError

    from tests.projects.test_supervision import refused_insert, stored_files

    project = in_notice(cls)
    with refused_insert("projects_objection"), pytest.raises(IntegrityError):
        objection(project, upload=SimpleUploadedFile("举报材料.pdf", pdf_bytes()))
    assert stored_files(settings) == []
    assert not Objection.objects.exists()
