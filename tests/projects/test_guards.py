"""The rules of DESIGN.md, one by one, as the applicant and the secretariat meet them."""

import datetime as dt

import pytest
from django.utils import timezone, translation

from accounts.models import TitleLevel
from projects.models import ChangeRequest, Project
from projects.services import TransitionRefused, perform, refusals, request_change
from tests.factories import CallClassFactory, CallFactory, MemberFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db
NOW = timezone.now()


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def submit_messages(project):
    return refusals(project, "submit", by=project.pi, now=NOW)


def test_complete_application_may_be_submitted(applicant):
    project = ProjectFactory(pi=applicant)
    MemberFactory(project=project)
    assert submit_messages(project) == []


def test_deadline_is_enforced_on_the_server_clock(applicant):
    project = ProjectFactory(pi=applicant)
    late = project.call.deadline + dt.timedelta(seconds=1)
    messages = refusals(project, "submit", by=applicant, now=late)
    assert len(messages) == 1 and "deadline" in messages[0] and "has passed" in messages[0]
    early = project.call.opens_at - dt.timedelta(seconds=1)
    assert "opens at" in refusals(project, "submit", by=applicant, now=early)[0]
    exactly = project.call.deadline
    assert refusals(project, "submit", by=applicant, now=exactly) == []


def test_call_must_be_published(applicant):
    project = ProjectFactory(pi=applicant, call_class=CallClassFactory(call=CallFactory(state="closed")))
    assert "not accepting applications" in submit_messages(project)[0]


def test_one_application_per_pi_per_call(applicant):
    first = ProjectFactory(pi=applicant)
    perform(first, "submit", by=applicant, now=NOW)
    second = ProjectFactory(pi=applicant, call_class=first.call_class)
    assert submit_messages(second) == ["You have already submitted an application to this call as PI."]
    perform(first, "withdraw", by=applicant, now=NOW)
    assert submit_messages(second) == []


def test_unfinished_project_bars_the_pi(applicant):
    ProjectFactory(pi=applicant, state="active", call_class=CallClassFactory(call=CallFactory(year=2021)), title="旧课题")
    project = ProjectFactory(pi=applicant)
    assert submit_messages(project) == ["The PI still has an unfinished project (“旧课题”)."]


def test_revocation_in_the_last_three_years_bars_the_pi(applicant):
    old_call = CallFactory(year=2020)
    ProjectFactory(pi=applicant, state="revoked", revoked_at=NOW - dt.timedelta(days=365 * 2),
                   call_class=CallClassFactory(call=old_call))
    project = ProjectFactory(pi=applicant)
    assert submit_messages(project) == ["A project of the PI was revoked within the last 3 years."]


def test_revocation_longer_ago_does_not_bar(applicant):
    ProjectFactory(pi=applicant, state="revoked", revoked_at=NOW - dt.timedelta(days=365 * 3 + 5),
                   call_class=CallClassFactory(call=CallFactory(year=2019)))
    assert submit_messages(ProjectFactory(pi=applicant)) == []


@pytest.mark.parametrize(
    "code,level,allowed",
    [
        ("A", TitleLevel.ASSOCIATE_SENIOR, True),
        ("A", TitleLevel.INTERMEDIATE, False),
        ("B", TitleLevel.INTERMEDIATE, True),
        ("B", TitleLevel.JUNIOR, False),
    ],
)
def test_pi_title_level_per_class(code, level, allowed, unit):
    pi = UserFactory(institution=unit, title_level=level)
    project = ProjectFactory(pi=pi, call_class=CallClassFactory(code=code))
    messages = submit_messages(project)
    assert (messages == []) is allowed
    if not allowed:
        assert f"class {code}" in messages[0]


def test_title_rules(applicant):
    project = ProjectFactory(pi=applicant, title="终身学习" * 10 + "研")
    assert submit_messages(project) == ["The title has 41 characters; at most 40 are allowed."]
    project = ProjectFactory(pi=applicant, title="社区教育研究——以上海为例")
    assert submit_messages(project) == ["The title may not have a subtitle (no dash or colon)."]


def test_rule_numbers_come_from_the_class(applicant):
    cls = CallClassFactory(code="B", rules={"TITLE_MAX_LENGTH": 10})
    project = ProjectFactory(pi=applicant, call_class=cls, title="老年教育数字化转型研究")
    assert submit_messages(project) == ["The title has 11 characters; at most 10 are allowed."]


def test_keywords(applicant):
    project = ProjectFactory(pi=applicant, keywords=["一", "二", "三", "四"])
    assert submit_messages(project) == ["At most 3 keywords are allowed; you gave 4."]
    project = ProjectFactory(pi=applicant, keywords=[])
    assert submit_messages(project) == ["Give at least one keyword."]


def test_argument_length(applicant):
    project = ProjectFactory(pi=applicant, basis="研" * 6000, content="究" * 901, approach="述" * 25,
                             innovation="新" * 25, expected_outcomes="果" * 25, foundation="基" * 25)
    assert submit_messages(project) == ["The anonymous argument has 7001 characters; at most 7000 are allowed."]


def test_members_need_title_unit_and_task(applicant):
    project = ProjectFactory(pi=applicant)
    MemberFactory(project=project, name="李明", task="")
    assert submit_messages(project) == ["Give the title, unit and task of every member (missing for: 李明)."]


def test_all_failing_rules_are_reported_at_once(applicant):
    project = ProjectFactory(pi=applicant, title="研究：副标题", keywords=["一", "二", "三", "四"])
    late = project.call.deadline + dt.timedelta(days=1)
    with pytest.raises(TransitionRefused) as refusal:
        perform(project, "submit", by=applicant, now=late)
    assert len(refusal.value.messages) == 3
    assert Project.objects.get(pk=project.pk).state == "draft"


@pytest.mark.parametrize("name", ["return_to_applicant", "reject_formal", "terminate", "revoke_project", "drop"])
def test_reason_is_required(name, applicant, unit_admin, secretary):
    source = {"return_to_applicant": "submitted", "reject_formal": "endorsed", "drop": "publicity"}.get(name, "active")
    project = ProjectFactory(pi=applicant, state=source, receipt_number="SB202300001")
    actor = unit_admin if name == "return_to_applicant" else secretary
    assert refusals(project, name, by=actor, reason="  ", now=NOW) == ["Please give a reason for this step."]
    assert refusals(project, name, by=actor, reason="理由", now=NOW) == []


def test_return_for_revision_only_before_the_deadline(applicant, secretary):
    project = ProjectFactory(pi=applicant, state="endorsed", receipt_number="SB202300001")
    assert refusals(project, "return_for_revision", by=secretary, reason="补充材料", now=NOW) == []
    late = project.call.deadline + dt.timedelta(minutes=1)
    assert "can no longer be revised" in refusals(project, "return_for_revision", by=secretary, reason="补充", now=late)[0]


def test_confirmation_only_after_the_notice(applicant, secretary):
    project = ProjectFactory(pi=applicant, state="publicity", publicity_started_at=NOW)
    assert "public notice runs until" in refusals(project, "confirm", by=secretary, now=NOW + dt.timedelta(days=6))[0]
    assert refusals(project, "confirm", by=secretary, now=NOW + dt.timedelta(days=7)) == []


# ---- change requests -----------------------------------------------------------------


@pytest.fixture
def running(applicant):
    project = ProjectFactory(pi=applicant, state="active", number="CAEA2023A001", receipt_number="SB202300001",
                             start_date=dt.date(2023, 10, 1), end_date=dt.date(2025, 9, 30))
    for _ in range(6):
        MemberFactory(project=project)
    return project


def test_extension_rules(running, applicant):
    on_time = timezone.make_aware(dt.datetime(2025, 7, 1, 9))
    with pytest.raises(TransitionRefused) as too_long:
        request_change(running, "extension", by=applicant, explanation="调研延误", extension_months=13, now=on_time)
    assert too_long.value.messages == ["An extension is at most 12 months."]
    too_late = timezone.make_aware(dt.datetime(2025, 8, 1, 9))
    with pytest.raises(TransitionRefused) as late:
        request_change(running, "extension", by=applicant, explanation="调研延误", extension_months=6, now=too_late)
    assert late.value.messages == ["An extension must be requested at least 2 months before the end date (2025-09-30)."]
    change = request_change(running, "extension", by=applicant, explanation="调研延误", extension_months=6, now=on_time)
    assert change.state == "pending" and ChangeRequest.objects.count() == 1


def test_extension_only_once(running, applicant, unit_admin, secretary):
    on_time = timezone.make_aware(dt.datetime(2025, 6, 1, 9))
    change = request_change(running, "extension", by=applicant, explanation="调研延误", extension_months=6, now=on_time)
    perform(change, "endorse", by=unit_admin, now=on_time)
    perform(change, "approve", by=secretary, now=on_time)
    running.refresh_from_db()
    assert (running.end_date, running.extension_count) == (dt.date(2026, 3, 30), 1)
    with pytest.raises(TransitionRefused) as again:
        request_change(running, "extension", by=applicant, explanation="再次延期", extension_months=3, now=on_time)
    assert again.value.messages == ["The project has already been extended; an extension is allowed only once."]


def test_member_change_at_most_a_third(running, applicant, unit_admin, secretary):
    members = list(running.members.values_list("pk", flat=True))
    new = [{"name": f"新成员{i}", "title": "讲师", "unit": "江苏开放大学", "task": "调研"} for i in range(3)]
    with pytest.raises(TransitionRefused) as too_many:
        request_change(running, "members", by=applicant, explanation="人员调整",
                       member_changes={"remove": members[:3], "add": new})
    assert too_many.value.messages == ["3 of 6 members would change; at most 1/3 of the members may change."]
    change = request_change(running, "members", by=applicant, explanation="人员调整",
                            member_changes={"remove": members[:2], "add": new[:2]})
    perform(change, "endorse", by=unit_admin)
    perform(change, "approve", by=secretary)
    names = set(running.members.values_list("name", flat=True))
    assert {"新成员0", "新成员1"} <= names and running.members.count() == 6


def test_voluntary_termination_ends_the_project(running, applicant, unit_admin, secretary):
    change = request_change(running, "termination", by=applicant, explanation="负责人调离，无法继续研究")
    perform(change, "endorse", by=unit_admin)
    perform(change, "approve", by=secretary)
    running.refresh_from_db()
    assert running.state == "terminated"
    assert list(running.log.values_list("transition", flat=True)) == ["request", "endorse", "approve", "terminate"]


def test_only_the_pi_requests_changes(running, unit_admin):
    with pytest.raises(TransitionRefused):
        request_change(running, "output_form", by=unit_admin, explanation="改为专著", new_output_form="专著")
    assert ChangeRequest.objects.count() == 0
