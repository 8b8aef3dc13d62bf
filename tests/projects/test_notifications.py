"""Side effects run after the commit, never for a step that failed."""

import pytest
from django.core import mail

from projects.services import TransitionRefused, perform
from tests.factories import MemberFactory, ProjectFactory

pytestmark = pytest.mark.django_db


def test_submission_mails_the_pi_and_the_unit_after_commit(applicant, unit_admin, django_capture_on_commit_callbacks):
    project = ProjectFactory(pi=applicant)
    MemberFactory(project=project)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        perform(project, "submit", by=applicant)
    assert len(mail.outbox) == 0 and len(callbacks) == 1  # nothing before the commit
    with django_capture_on_commit_callbacks(execute=True):  # the task's own mails leave after its commit
        callbacks[0]()
    assert sorted(m.to[0] for m in mail.outbox) == sorted([applicant.email, unit_admin.email])
    assert project.title in mail.outbox[0].subject


def test_reason_reaches_the_applicant(applicant, unit_admin, django_capture_on_commit_callbacks):
    project = ProjectFactory(pi=applicant, state="submitted", receipt_number="SB202300009")
    with django_capture_on_commit_callbacks(execute=True):
        perform(project, "return_to_applicant", by=unit_admin, reason="请补充课题组成员的分工")
    assert [m.to for m in mail.outbox] == [[applicant.email]]
    assert "请补充课题组成员的分工" in mail.outbox[0].body


def test_refused_step_schedules_nothing(applicant, unit_admin, django_capture_on_commit_callbacks):
    project = ProjectFactory(pi=applicant, state="submitted", receipt_number="SB202300009")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(TransitionRefused):
            perform(project, "return_to_applicant", by=unit_admin, reason="")
    assert callbacks == [] and mail.outbox == []
