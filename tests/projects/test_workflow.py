"""The project machine, pair by pair: exactly the diagram's transitions succeed, for exactly their roles.

The expected table below is written from DESIGN.md's diagram, independently of
the code; the first test proves the code declares no more and no less.
"""

import datetime as dt

import pytest
from django.utils import timezone, translation

from accounts import roles
from projects.models import Project, TransitionLog
from projects.services import TransitionRefused, perform, transitions_of
from projects.workflow import ProjectState
from tests.factories import InstitutionFactory, MemberFactory, ProjectFactory, UserFactory

PI, MEMBER, UNIT_ADMIN, OTHER_UNIT_ADMIN, SECRETARY, COMMITTEE, EXPERT, STRANGER = (
    "pi", "member", "unit_admin", "other_unit_admin", "secretary", "committee", "expert", "stranger",
)
ROLES = (PI, MEMBER, UNIT_ADMIN, OTHER_UNIT_ADMIN, SECRETARY, COMMITTEE, EXPERT, STRANGER)

# transition: (source states, target state, roles allowed)
DIAGRAM = {
    "submit": ({"draft"}, "submitted", {PI}),
    "withdraw": ({"draft", "submitted", "endorsed"}, "withdrawn", {PI}),
    "return_to_applicant": ({"submitted"}, "draft", {UNIT_ADMIN}),
    "endorse": ({"submitted"}, "endorsed", {UNIT_ADMIN}),
    "return_for_revision": ({"endorsed"}, "draft", {SECRETARY}),
    "pass_formal_check": ({"endorsed"}, "eligible", {SECRETARY}),
    "reject_formal": ({"endorsed"}, "ineligible", {SECRETARY}),
    "start_review": ({"eligible"}, "in_review", {SECRETARY}),
    "close_review": ({"in_review"}, "reviewed", {SECRETARY}),
    "approve": ({"reviewed"}, "publicity", {SECRETARY}),
    "decline": ({"reviewed"}, "not_approved", {SECRETARY}),
    "drop": ({"publicity"}, "not_approved", {SECRETARY}),
    "confirm": ({"publicity"}, "active", {SECRETARY}),
    "submit_midterm": ({"active"}, "midterm_review", {PI}),
    "pass_midterm": ({"midterm_review"}, "active", {SECRETARY}),
    "fail_midterm": ({"midterm_review"}, "active", {SECRETARY}),
    "submit_completion": ({"active"}, "completion_review", {PI}),
    "appraise": ({"completion_review"}, "completed", {SECRETARY}),  # with a pass grade
    "terminate": ({"active", "midterm_review"}, "terminated", {SECRETARY}),
    "revoke_project": ({"active"}, "revoked", {SECRETARY}),
}
STATES = [value for value, _label in ProjectState.choices]
NOW = timezone.now()


def test_code_declares_exactly_the_diagram():
    declared = {name: set(by_source) for name, by_source in transitions_of(Project).items()}
    assert declared == {name: sources for name, (sources, _t, _r) in DIAGRAM.items()}
    every_state_touched = set().union(*declared.values()) | {t for _s, t, _r in DIAGRAM.values()}
    assert every_state_touched | {"completed", "revoked"} == set(STATES)


@pytest.fixture
def people(db):
    unit = InstitutionFactory(name="江苏开放大学")
    other = InstitutionFactory(name="北京老年大学")
    return {
        PI: UserFactory(username="pi", institution=unit),
        MEMBER: UserFactory(username="member", institution=unit),
        UNIT_ADMIN: UserFactory(username="unitadmin", institution=unit, role=roles.UNIT_ADMIN),
        OTHER_UNIT_ADMIN: UserFactory(username="otheradmin", institution=other, role=roles.UNIT_ADMIN),
        SECRETARY: UserFactory(username="secretary", institution=other, role=roles.SECRETARIAT),
        COMMITTEE: UserFactory(username="committee", institution=other, role=roles.COMMITTEE),
        EXPERT: UserFactory(username="expert", institution=other, role=roles.EXPERT),
        STRANGER: UserFactory(username="stranger", institution=other),
    }


def project_in(state, people):
    """A complete application in ``state``, with what the guards of its next steps need."""
    # The period runs beyond the clock (NOW is the real time): completion is applied for within it.
    extra = {"planned_end_date": timezone.localdate(NOW) + dt.timedelta(days=365)}
    if state not in ("draft",):
        extra["receipt_number"] = f"SB2023{Project.objects.count() + 1:05d}"
    if state == "publicity":
        extra["publicity_started_at"] = NOW - dt.timedelta(days=10)
    if state in ("active", "midterm_review", "completion_review"):
        extra.update(number=f"CAEA2023A{Project.objects.count() + 900}", start_date=dt.date(2023, 10, 1),
                     end_date=timezone.localdate(NOW) + dt.timedelta(days=365))
    project = ProjectFactory(state=state, pi=people[PI], **extra)
    MemberFactory(project=project, user=people[MEMBER], name=people[MEMBER].real_name)
    return project


def attempt(project, name, user):
    return perform(project, name, by=user, reason="理由：材料不全，请补充。", now=NOW, grade="good")


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("name", sorted(DIAGRAM))
def test_state_transition_pair(state, name, people):
    sources, target, allowed = DIAGRAM[name]
    project = project_in(state, people)
    refused_roles = [r for r in ROLES if not (state in sources and r in allowed)]
    for role in refused_roles:
        logs_before = TransitionLog.objects.count()
        with pytest.raises(TransitionRefused) as refusal:
            attempt(project, name, people[role])
        assert refusal.value.messages and all(m.strip() for m in refusal.value.messages), role
        project.refresh_from_db()
        assert project.state == state
        assert TransitionLog.objects.count() == logs_before
    if state in sources:
        for role in allowed:
            fresh = project if role == sorted(allowed)[0] else project_in(state, people)
            logs_before = TransitionLog.objects.filter(project=fresh).count()
            attempt(fresh, name, people[role])
            fresh.refresh_from_db()
            assert fresh.state == target
            entries = TransitionLog.objects.filter(project=fresh)
            assert entries.count() == logs_before + 1
            entry = entries.last()
            assert (entry.transition, entry.from_state, entry.to_state, entry.actor) == (
                name, state, target, people[role],
            )


def test_setting_state_directly_is_refused(people):
    project = project_in("draft", people)
    with pytest.raises(AttributeError):
        project.state = "active"
    fetched = Project.objects.get(pk=project.pk)
    with pytest.raises(AttributeError):
        fetched.state = "completed"
    assert Project.objects.get(pk=project.pk).state == "draft"


def test_refused_step_says_why(people):
    project = project_in("draft", people)
    with translation.override("en"):
        with pytest.raises(TransitionRefused) as wrong_state:
            attempt(project, "confirm", people[SECRETARY])
        with pytest.raises(TransitionRefused) as wrong_role:
            attempt(project, "submit", people[SECRETARY])
    assert wrong_state.value.messages == ["“Confirm and number” is not possible while the record is “Draft”."]
    assert wrong_role.value.messages == ["You are not allowed to do “Submit” here."]


def test_appraisal_fail_once_returns_and_twice_revokes(people):
    project = project_in("completion_review", people)
    secretary = people[SECRETARY]
    perform(project, "appraise", by=secretary, grade="fail", now=NOW)
    assert project.state == "active" and project.appraisal_failures == 1
    perform(project, "submit_completion", by=people[PI], now=NOW)
    perform(project, "appraise", by=secretary, grade="fail", now=NOW)
    assert project.state == "revoked" and project.revoked_at is not None
    assert list(project.log.values_list("to_state", flat=True)) == ["active", "completion_review", "revoked"]


def test_whole_life_to_completion(people):
    """From draft to completed through every main step, with numbers given on the way."""
    project = project_in("draft", people)
    steps = [
        ("submit", PI), ("endorse", UNIT_ADMIN), ("pass_formal_check", SECRETARY), ("start_review", SECRETARY),
        ("close_review", SECRETARY), ("approve", SECRETARY),
    ]
    for name, role in steps:
        perform(project, name, by=people[role], now=NOW)
    assert project.receipt_number.startswith(f"SB{timezone.localtime(NOW).year}")
    assert project.number is None
    perform(project, "confirm", by=people[SECRETARY], now=NOW + dt.timedelta(days=7, minutes=1))
    assert project.number == "CAEA2023A001"
    assert project.end_date is not None
    for name, role in [("submit_midterm", PI), ("pass_midterm", SECRETARY), ("submit_completion", PI)]:
        perform(project, name, by=people[role], now=NOW + dt.timedelta(days=30))
    perform(project, "appraise", by=people[SECRETARY], grade="excellent", now=NOW + dt.timedelta(days=60))
    assert (project.state, project.grade) == ("completed", "excellent")
    assert project.log.count() == 11
