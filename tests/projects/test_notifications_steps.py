"""Who is told of which step after approval: one message per intended recipient, nobody else, in their language."""

import datetime as dt
from collections import Counter

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from accounts import roles
from accounts.models import Notification
from projects import access
from projects.models import ChangeRequest, CompletionReport, Project, TransitionLog
from projects.notifications import TOLD, notify_transition, recipients_for
from projects.publicity import confirm_projects
from projects.services import perform, request_change
from projects.supervision import submit_midterm
from tests.factories import CallClassFactory, MemberFactory, ProjectFactory, UserFactory, aware

# The tests call the after-commit step (notify_transition) themselves.
pytestmark = [pytest.mark.django_db, pytest.mark.rolled_back]

NOW = aware(2024, 6, 1, 10, 0)


def running(pi, **fields):
    values = dict(state="active", pi=pi, approved_at=aware(2024, 1, 10, 9, 0), start_date=dt.date(2024, 1, 10),
                  end_date=dt.date(2026, 1, 9), number="CAEA2024A001")
    values.update(fields)
    project = ProjectFactory(**values)
    access.sync_object_permissions(project)
    for name in ("赵文静", "钱海燕", "孙志强"):
        MemberFactory(project=project, name=name)
    return project


@pytest.fixture
def people(applicant, unit_admin, secretary, other_unit):
    """Everyone who could be told: the PI, the unit's admin, another unit's admin, two secretaries, bystanders."""
    applicant.language = "en"
    applicant.save()
    return {
        "pi": applicant,
        "unit_admin": unit_admin,
        "other_admin": UserFactory(username="otheradmin", institution=other_unit, role=roles.UNIT_ADMIN),
        "secretary": secretary,
        "second_secretary": UserFactory(username="secretary2", role=roles.SECRETARIAT, language="en"),
        "retired_secretary": UserFactory(username="secretary3", role=roles.SECRETARIAT, is_active=False),
        "expert": UserFactory(username="expert", role=roles.EXPERT),
    }


def told(people):
    """{who: how many messages} for everyone of ``people`` who got any."""
    counts = Counter(Notification.objects.values_list("user_id", flat=True))
    return {key: counts[person.pk] for key, person in people.items() if counts[person.pk]}


def entry(person):
    return Notification.objects.get(user=person)


@pytest.fixture
def project(applicant):
    return running(applicant)


def ask(project, by):
    return request_change(project, "extension", by=by, explanation="调研对象调整。", now=NOW, extension_months=6)


# ---- change requests -------------------------------------------------------------------------


def test_a_change_request_tells_the_admins_of_the_projects_unit_only(project, people):
    change = ask(project, people["pi"])
    notify_transition(TransitionLog.objects.get(transition="request", object_id=change.pk).pk)
    assert told(people) == {"unit_admin": 1}
    message = entry(people["unit_admin"])
    assert message.link == reverse("unit-change-queue")
    assert project.title in message.subject and "延期" in message.body  # the admin reads Chinese (the site's)
    assert "调研对象调整。" in message.body


def test_opening_a_change_request_schedules_the_telling(project, people, django_capture_on_commit_callbacks):
    """``services.request_change`` writes the log; the telling must follow it after the commit."""
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        ask(project, people["pi"])
    assert callbacks
    assert told(people) == {"unit_admin": 1}


def test_the_unit_endorsement_tells_the_secretariat_and_the_pi(project, people, django_capture_on_commit_callbacks):
    change = ask(project, people["pi"])
    with django_capture_on_commit_callbacks(execute=True):
        perform(change, "endorse", by=people["unit_admin"], reason="同意。", now=NOW)
    assert told(people) == {"pi": 1, "secretary": 1, "second_secretary": 1}
    assert entry(people["secretary"]).link == reverse("change-queue")
    pi_message = entry(people["pi"])
    assert pi_message.link == reverse("project-changes", args=[project.pk])
    assert "Extension" in pi_message.body and "endorsed" in pi_message.body  # the PI reads English
    assert "延期" in entry(people["secretary"]).body  # the secretary reads Chinese
    assert project.title in entry(people["secretary"]).subject


@pytest.mark.parametrize("step", ["approve", "reject"])
def test_the_decision_tells_the_pi_and_the_unit(step, project, people, django_capture_on_commit_callbacks):
    change = ask(project, people["pi"])
    perform(change, "endorse", by=people["unit_admin"], now=NOW)
    Notification.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        perform(change, step, by=people["secretary"], reason="经研究决定。", now=NOW)
    assert told(people) == {"pi": 1, "unit_admin": 1}
    pi_message = entry(people["pi"])
    assert ("approved" if step == "approve" else "not approved") in pi_message.body
    assert "Reason: 经研究决定。" in pi_message.body
    assert entry(people["unit_admin"]).link == reverse("project-detail", args=[project.pk])


def test_a_withdrawal_tells_the_pi_only(project, people, django_capture_on_commit_callbacks):
    change = ask(project, people["pi"])
    with django_capture_on_commit_callbacks(execute=True):
        perform(change, "withdraw", by=people["pi"], now=NOW)
    assert told(people) == {"pi": 1}
    assert "withdrawn" in entry(people["pi"]).body


def test_each_person_is_told_once_even_in_two_audiences(project, people):
    """A PI who is also the unit's admin gets one message about an approved change, not two."""
    roles.grant_role(people["pi"], roles.UNIT_ADMIN)
    change = ask(project, people["pi"])
    log = TransitionLog.objects.get(transition="request", object_id=change.pk)
    log.transition = "approve"
    assert sorted(person.pk for person, _audience, _url in recipients_for(log)) == sorted(
        [people["pi"].pk, people["unit_admin"].pk])


# ---- the project's steps -----------------------------------------------------------------------


def test_the_midterm_report_tells_the_secretariat(project, people, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        submit_midterm(project, by=people["pi"], progress="完成问卷调查两轮。", outputs_so_far="", problems="",
                       plan="完成个案研究。", now=NOW)
    assert told(people) == {"secretary": 1, "second_secretary": 1}
    message = entry(people["second_secretary"])
    assert message.link == reverse("midterm-queue")
    assert "mid-term report" in message.body and "CAEA2024A001" in message.body


@pytest.mark.parametrize(("language", "expected"), [("en", "approved after the public notice"), ("", "正式立项")])
def test_confirmation_tells_the_pi_the_number_with_the_letter(language, expected, people,
                                                              django_capture_on_commit_callbacks):
    pi = people["pi"]
    pi.language = language
    pi.save()
    call_class = CallClassFactory(code="A", funding=20000)
    started = aware(2023, 6, 1, 9, 0)
    project = ProjectFactory(call_class=call_class, state="publicity", publicity_started_at=started, pi=pi)
    with django_capture_on_commit_callbacks(execute=True):
        confirmed, refused = confirm_projects(call_class.call, by=people["secretary"],
                                              now=started + dt.timedelta(days=8))
    assert len(confirmed) == 1 and refused == []
    project.refresh_from_db()
    assert told(people) == {"pi": 1}
    message = entry(pi)
    assert project.number and project.number in message.body
    assert project.title in message.subject
    assert expected in message.subject + message.body  # the step's label in Chinese, the English text in English
    assert message.link == reverse("approval-letter", args=[project.pk])
    assert "now “" not in message.body  # not the generic "is now Under way"


@pytest.mark.parametrize("step", ["submit_completion", "approve", "decline"])
def test_steps_told_elsewhere_are_not_told_here(step, project, people):
    """The completion module tells the unit of "submit_completion"; the meeting's release tells the decision."""
    log = TransitionLog.objects.create(
        content_type=ContentType.objects.get_for_model(Project), object_id=project.pk, project=project,
        transition=step, from_state="", to_state="", at=NOW)
    assert recipients_for(log) == [] and notify_transition(log.pk) == 0


@pytest.mark.parametrize("step", ["endorse_completion", "return_completion", "accept_completion",
                                  "resubmit_completion", "record_appraisal"])
def test_the_completion_materials_steps_are_left_to_the_completion_module(step, project, people):
    log = TransitionLog.objects.create(
        content_type=ContentType.objects.get_for_model(CompletionReport), object_id=1, project=project,
        transition=step, from_state="", to_state="", at=NOW)
    assert recipients_for(log) == []


def test_the_table_names_only_known_records_and_steps():
    from projects.workflow import STEP_LABELS

    assert {record for record, _step in TOLD} == {"project", "changerequest"}
    assert {step for _record, step in TOLD} <= set(STEP_LABELS)
    assert not any(record == "completionreport" for record, _step in TOLD)
    assert ChangeRequest._meta.model_name == "changerequest"
