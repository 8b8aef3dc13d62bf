"""Change requests (变更): every rule refuses with its message and changes nothing; PI → unit → secretariat applies."""

import datetime as dt

import pytest

from projects import access
from projects.models import ChangeRequest, Member, TransitionLog
from projects.services import TransitionRefused, perform, request_change
from tests.factories import MemberFactory, ProjectFactory, UserFactory, aware

NOW = aware(2024, 6, 1, 10, 0)

pytestmark = pytest.mark.usefixtures("english")


def running(pi, **fields):
    values = dict(state="active", pi=pi, approved_at=aware(2024, 1, 10, 9, 0), start_date=dt.date(2024, 1, 10),
                  end_date=dt.date(2026, 1, 9))
    values.update(fields)
    project = ProjectFactory(**values)
    access.sync_object_permissions(project)
    return project


def with_three_members(project):
    for name in ("赵文静", "钱海燕", "孙志强"):
        MemberFactory(project=project, name=name)
    return project


@pytest.fixture
def project(applicant):
    return with_three_members(running(applicant))


def refused(call):
    with pytest.raises(TransitionRefused) as info:
        call()
    return " ".join(info.value.messages)


def ask(project, kind, by, **fields):
    return request_change(project, kind, by=by, explanation="因调研对象调整，需要变更。", now=NOW, **fields)


# ---- the rules --------------------------------------------------------------------------------


@pytest.mark.parametrize("fields, message", [
    ({"extension_months": 13}, "An extension is at most 12 months."),
    ({"extension_months": 0}, "Give the length of the extension in months."),
])
def test_extension_length(project, applicant, fields, message):
    assert message in refused(lambda: ask(project, "extension", applicant, **fields))
    assert not ChangeRequest.objects.exists()


def test_second_extension_is_refused(applicant):
    project = running(applicant, extension_count=1)
    assert "an extension is allowed only once" in refused(lambda: ask(project, "extension", applicant, extension_months=6))
    assert not ChangeRequest.objects.exists()


def test_extension_too_late(applicant):
    project = running(applicant, end_date=dt.date(2024, 7, 15))
    assert "at least 2 months before the end date (2024-07-15)" in refused(
        lambda: ask(project, "extension", applicant, extension_months=6))
    assert not ChangeRequest.objects.exists()


def test_member_change_beyond_a_third(project, applicant):
    leaving = list(project.members.values_list("pk", flat=True)[:2])
    message = refused(lambda: ask(project, "members", applicant, member_changes={"remove": leaving, "add": []}))
    assert "2 of 3 members would change" in message
    assert not ChangeRequest.objects.exists()
    assert project.members.count() == 3


def test_member_change_names_someone(project, applicant):
    assert "Say which members leave and which join." in refused(
        lambda: ask(project, "members", applicant, member_changes={}))


def test_only_the_pi_requests(project, unit_admin, secretary):
    member_user = UserFactory()
    for person in (unit_admin, secretary, member_user):
        assert "Only the PI can request a change" in refused(lambda: ask(project, "extension", person, extension_months=6))
    assert not ChangeRequest.objects.exists()


def test_explanation_is_required(project, applicant):
    assert "Explain why the change is needed." in refused(lambda: request_change(
        project, "extension", by=applicant, explanation=" ", now=NOW, extension_months=6))


@pytest.mark.parametrize("kind, fields, message", [
    ("content", {}, "Give the new title or the changed content."),
    ("content", {"new_title": "老年教育研究——以上海为例"}, "no subtitle"),
    ("output_form", {}, "Give the new form of the outputs."),
])
def test_each_kind_names_what_changes(project, applicant, kind, fields, message):
    assert message in refused(lambda: ask(project, kind, applicant, **fields))
    assert not ChangeRequest.objects.exists()


def test_new_pi_is_not_the_current_pi(project, applicant):
    assert "The new PI is the current PI." in refused(lambda: ask(project, "pi", applicant, new_pi=applicant))


def test_no_change_for_a_finished_project(applicant):
    project = running(applicant, state="completed")
    assert "only for a project under way" in refused(lambda: ask(project, "extension", applicant, extension_months=6))


def test_rejection_needs_a_reason(project, applicant, unit_admin):
    change = ask(project, "extension", applicant, extension_months=6)
    assert "Please give a reason" in refused(lambda: perform(change, "reject", by=unit_admin, reason="", now=NOW))
    change.refresh_from_db()
    assert change.state == "pending"


def test_unit_of_another_project_may_not_endorse(project, applicant, other_unit):
    from accounts import roles

    stranger_admin = UserFactory(institution=other_unit, role=roles.UNIT_ADMIN)
    change = ask(project, "extension", applicant, extension_months=6)
    assert "You are not allowed" in refused(lambda: perform(change, "endorse", by=stranger_admin, now=NOW))


def test_secretariat_cannot_skip_the_unit(project, applicant, secretary):
    change = ask(project, "extension", applicant, extension_months=6)
    assert "is not possible while the record is" in refused(lambda: perform(change, "approve", by=secretary, now=NOW))


# ---- the flow ---------------------------------------------------------------------------------


def test_extension_flow_moves_the_end_date(project, applicant, unit_admin, secretary):
    change = ask(project, "extension", applicant, extension_months=6)
    perform(change, "endorse", by=unit_admin, reason="同意。", now=NOW)
    perform(change, "approve", by=secretary, reason="准予延期。", now=NOW)
    project.refresh_from_db()
    change.refresh_from_db()
    assert change.state == "approved" and change.decided_at == NOW
    assert project.end_date == dt.date(2026, 7, 9)
    assert project.extension_count == 1
    steps = list(TransitionLog.objects.filter(project=project).values_list("transition", "from_state", "to_state", "actor"))
    assert steps == [
        ("request", "", "pending", applicant.pk),
        ("endorse", "pending", "endorsed", unit_admin.pk),
        ("approve", "endorsed", "approved", secretary.pk),
    ]
    assert "allowed only once" in refused(lambda: ask(project, "extension", applicant, extension_months=3))


def test_member_change_applied(project, applicant, unit_admin, secretary):
    leaving = project.members.get(name="孙志强")
    change = ask(project, "members", applicant, member_changes={
        "remove": [leaving.pk], "remove_names": ["孙志强"],
        "add": [{"name": "周明辉", "title": "讲师", "unit": "上海开放大学", "task": "问卷调查"}]})
    perform(change, "endorse", by=unit_admin, now=NOW)
    perform(change, "approve", by=secretary, now=NOW)
    names = set(Member.objects.filter(project=project).values_list("name", flat=True))
    assert names == {"赵文静", "钱海燕", "周明辉"}


def test_pi_change_applied(project, applicant, unit_admin, secretary):
    successor = UserFactory(username="successor", institution=applicant.institution)
    change = ask(project, "pi", applicant, new_pi=successor)
    perform(change, "endorse", by=unit_admin, now=NOW)
    perform(change, "approve", by=secretary, now=NOW)
    project.refresh_from_db()
    assert project.pi == successor
    assert successor.has_perm("projects.view_project", project)


def test_content_and_output_form_applied(project, applicant, unit_admin, secretary):
    for kind, fields in (("content", {"new_title": "社区老年教育数字化路径研究"}), ("output_form", {"new_output_form": "研究报告"})):
        change = ask(project, kind, applicant, **fields)
        perform(change, "endorse", by=unit_admin, now=NOW)
        perform(change, "approve", by=secretary, now=NOW)
    project.refresh_from_db()
    assert (project.title, project.output_form) == ("社区老年教育数字化路径研究", "研究报告")


def test_voluntary_termination_applied(project, applicant, unit_admin, secretary):
    change = ask(project, "termination", applicant)
    perform(change, "endorse", by=unit_admin, now=NOW)
    perform(change, "approve", by=secretary, now=NOW)
    project.refresh_from_db()
    assert project.state == "terminated"
    assert TransitionLog.objects.filter(project=project, transition="terminate", actor=secretary).exists()


def test_rejected_and_withdrawn_change_nothing(project, applicant, unit_admin, secretary):
    rejected = ask(project, "extension", applicant, extension_months=6)
    perform(rejected, "reject", by=unit_admin, reason="理由不充分。", now=NOW)
    withdrawn = ask(project, "output_form", applicant, new_output_form="专著")
    perform(withdrawn, "withdraw", by=applicant, now=NOW)
    project.refresh_from_db()
    assert project.end_date == dt.date(2026, 1, 9) and project.output_form == ""
    rejected.refresh_from_db()
    withdrawn.refresh_from_db()
    assert (rejected.state, withdrawn.state) == ("rejected", "withdrawn")
    assert TransitionLog.objects.get(object_id=rejected.pk, transition="reject").reason == "理由不充分。"


# ---- a PI who cannot continue means 撤项 ----------------------------------------------------------


def test_a_pi_who_cannot_continue_revokes_the_project(project, applicant, unit_admin, secretary):
    change = ask(project, "pi", applicant)  # no successor
    assert change.new_pi is None and change.state == "pending"
    perform(change, "endorse", by=unit_admin, now=NOW)
    project.refresh_from_db()
    assert project.state == "active"  # nothing happens before the secretariat approves
    perform(change, "approve", by=secretary, now=NOW + dt.timedelta(days=1))
    project.refresh_from_db()
    change.refresh_from_db()
    assert (change.state, project.state, project.revoked_at) == ("approved", "revoked", NOW + dt.timedelta(days=1))
    assert project.pi == applicant
    log = TransitionLog.objects.get(project=project, transition="revoke_project")
    assert (log.from_state, log.to_state, log.actor, log.reason) == ("active", "revoked", secretary,
                                                                      "因调研对象调整，需要变更。")


def test_no_revocation_during_the_mid_term_check(applicant):
    project = running(applicant, state="midterm_review")
    assert "possible only while it is under way" in refused(lambda: ask(project, "pi", applicant))
    assert not ChangeRequest.objects.exists()


def test_a_refused_revocation_leaves_the_approval_undone(project, applicant, unit_admin, secretary):
    change = ask(project, "pi", applicant)
    perform(change, "endorse", by=unit_admin, now=NOW)
    project.__class__.objects.filter(pk=project.pk).update(state="midterm_review")
    assert "possible only while it is under way" in refused(
        lambda: perform(change, "approve", by=secretary, now=NOW))
    change.refresh_from_db()
    project.refresh_from_db()
    assert (change.state, project.state) == ("endorsed", "midterm_review")
    assert not TransitionLog.objects.filter(project=project, transition__in=("approve", "revoke_project")).exists()


# ---- concurrency ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_extension_approvals_cannot_both_pass(applicant, unit_admin, secretary):
    """The project row is locked before the change rules read ``extension_count``: the second approval,
    waiting for the first to commit, then sees the extension and is refused. (On SQLite every transaction
    is serialised anyway; on PostgreSQL this needs the lock in ``perform``.)"""
    import threading

    from django.db import connection, transaction
    from django.utils import translation

    project = running(applicant)
    first, second = (ask(project, "extension", applicant, extension_months=6) for _ in range(2))
    for change in (first, second):
        perform(change, "endorse", by=unit_admin, now=NOW)
    outcome = []

    def approve_second():
        try:
            with translation.override("en"):
                perform(second, "approve", by=secretary, now=NOW)
            outcome.append("approved")
        except TransitionRefused as refusal:
            outcome.append(" ".join(refusal.messages))
        finally:
            connection.close()

    thread = threading.Thread(target=approve_second)
    with transaction.atomic():
        perform(first, "approve", by=secretary, now=NOW)
        thread.start()
        thread.join(timeout=1)  # the second approval now waits for this transaction
    thread.join()
    project.refresh_from_db()
    assert (project.extension_count, project.end_date) == (1, dt.date(2026, 7, 9))
    assert outcome == ["The project has already been extended; an extension is allowed only once."]
    assert ChangeRequest.objects.get(pk=second.pk).state == "endorsed"
