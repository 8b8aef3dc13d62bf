"""Every message reaches the inbox at once and the mailbox after the commit, in the reader's language."""

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy

from accounts.inbox import language_of, notify
from accounts.models import Notification
from projects.services import perform
from reviews import pool
from reviews.notifications import tell
from tests.factories import MemberFactory, ProjectFactory, UserFactory
from tests.reviews.factories import ExpertProfileFactory

pytestmark = pytest.mark.django_db


def writer(subject="[Keti] Hello", body="Dear colleague"):
    return lambda: (subject, body)


def test_the_entry_is_stored_at_once_and_the_mail_leaves_after_the_commit(
    applicant, mailoutbox, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://keti.example.org"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notification = notify(applicant, writer(), link="/projects/7/")
    assert Notification.objects.get() == notification
    assert (notification.user, notification.subject, notification.body, notification.link) == (
        applicant, "[Keti] Hello", "Dear colleague", "/projects/7/")
    assert notification.read_at is None
    assert mailoutbox == [] and len(callbacks) == 1  # nothing before the commit

    callbacks[0]()
    [mail] = mailoutbox
    assert mail.to == [applicant.email] and mail.subject == "[Keti] Hello"
    assert mail.body.startswith("Dear colleague\n\n")
    assert "https://keti.example.org/projects/7/" in mail.body


def test_a_rolled_back_step_tells_nobody(applicant, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                notify(applicant, writer())
                raise RuntimeError("the step failed")
    assert mailoutbox == [] and not Notification.objects.exists()


@pytest.mark.parametrize("change", [{"email": ""}, {"is_active": False}])
def test_no_address_or_an_inactive_account_get_the_inbox_entry_only(
    change, mailoutbox, django_capture_on_commit_callbacks
):
    person = UserFactory(**change)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notification = notify(person, writer())
    assert callbacks == [] and mailoutbox == []
    assert list(person.notifications.all()) == [notification]


@pytest.mark.parametrize(("language", "expected"), [("en", "Reason"), ("", "理由"), ("zh-hans", "理由")])
def test_the_writer_runs_in_the_readers_language(language, expected, applicant, mailoutbox,
                                                  django_capture_on_commit_callbacks):
    applicant.language = language
    applicant.save()
    seen = []

    def write():
        seen.append(translation.get_language())
        return gettext_lazy("Reason"), gettext_lazy("Reason")

    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        notification = notify(applicant, write)
    assert seen == [language or "zh-hans"] and language_of(applicant) == (language or "zh-hans")
    assert notification.subject == expected and mailoutbox[0].subject == expected


def test_without_a_link_the_mail_has_none(applicant, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notify(applicant, writer())
    assert mailoutbox[0].body == "Dear colleague"


# ---- the transitions' messages ---------------------------------------------------------------------


def submitted(pi):
    return ProjectFactory(pi=pi, state="submitted", receipt_number="SB202300009")


@pytest.mark.parametrize(("language", "prefix", "reason_label"), [
    ("en", "[Keti] ", "Reason: "),
    ("", "【课题管理】", None),
])
def test_a_transitions_mail_reaches_the_pi_in_the_pis_language(
    language, prefix, reason_label, applicant, unit_admin, mailoutbox, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://keti.example.org"
    applicant.language = language
    applicant.save()
    project = submitted(applicant)
    with translation.override("en" if not language else "zh-hans"):  # whoever acts reads another language
        with django_capture_on_commit_callbacks(execute=True):
            perform(project, "return_to_applicant", by=unit_admin, reason="请补充课题组成员的分工")

    [mail] = mailoutbox
    assert mail.to == [applicant.email]
    assert mail.subject.startswith(prefix) and project.title in mail.subject
    assert "请补充课题组成员的分工" in mail.body
    if reason_label:
        assert reason_label in mail.body
    else:
        assert "Reason" not in mail.body
    link = reverse("project-detail", args=[project.pk])
    assert "https://keti.example.org" + link in mail.body
    entry = applicant.notifications.get()
    assert (entry.subject, entry.link) == (mail.subject, link)


def test_the_submission_tells_the_unit_admins_too_even_without_an_address(
    applicant, unit_admin, mailoutbox, django_capture_on_commit_callbacks
):
    unit_admin.email = ""
    unit_admin.save()
    project = ProjectFactory(pi=applicant)
    MemberFactory(project=project)
    with django_capture_on_commit_callbacks(execute=True):
        perform(project, "submit", by=applicant)
    assert [m.to for m in mailoutbox] == [[applicant.email]]
    assert Notification.objects.filter(user=unit_admin).count() == 1
    assert Notification.objects.filter(user=applicant).count() == 1


@pytest.mark.parametrize("step", ["approve", "decline"])
def test_approve_and_decline_send_no_transition_mail(step, applicant, secretary, mailoutbox,
                                                      django_capture_on_commit_callbacks):
    """The committee meeting's release writes the decision itself: each applicant hears once."""
    project = ProjectFactory(pi=applicant, state="reviewed", receipt_number="SB202300009")
    with django_capture_on_commit_callbacks(execute=True):
        perform(project, step, by=secretary)
    project.refresh_from_db()
    assert project.state != "reviewed"
    assert mailoutbox == [] and not Notification.objects.exists()


# ---- the review app's tell ----------------------------------------------------------------------


def test_tell_goes_through_the_inbox(applicant, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert tell(applicant, writer(), link="/review/") is True
    entry = applicant.notifications.get()
    assert (entry.subject, entry.link) == ("[Keti] Hello", "/review/")
    assert [m.to for m in mailoutbox] == [[applicant.email]]


def test_tell_is_false_without_a_mail_but_the_inbox_keeps_it(mailoutbox, django_capture_on_commit_callbacks):
    gone = UserFactory(is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert tell(gone, writer()) is False
    assert mailoutbox == [] and gone.notifications.count() == 1


def test_the_expert_invitation_of_the_pool_lands_in_the_inbox(english, mailoutbox, django_capture_on_commit_callbacks):
    expert = ExpertProfileFactory(user__language="en").user
    with django_capture_on_commit_callbacks(execute=True):
        assert pool.mail_invitation(expert.pk) is True
    [mail] = mailoutbox
    entry = expert.notifications.get()
    assert entry.subject == mail.subject and entry.body == mail.body
