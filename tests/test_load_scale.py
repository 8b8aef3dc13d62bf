"""load_scale: a national-scale data set in bulk whose every record could have come from the workflow.

A small load (120 projects, 40 experts) is checked against the rules the real
code enforces: each history is a path of the machine ending in the project's
state, the review respects k, m and 回避, the committee approved the top of the
real ranking, numbers are unique and their counters follow them, the archive
finds the generated words, the pages open, and a second load is refused.
"""

import re
from collections import Counter, defaultdict
from datetime import datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from accounts.models import User
from archive import search
from archive.models import Record
from archive.tasks import ARCHIVED_STATES
from config import scale
from projects.access import desired_object_permissions
from projects.completion import panel_grade
from projects.models import (
    Call,
    CallClass,
    CompletionReport,
    Member,
    NumberSequence,
    Project,
    ProjectGroupObjectPermission,
    ProjectUserObjectPermission,
    TransitionLog,
)
from projects.services import transitions_of
from reviews.aggregation import class_ranking, ensure_aliases, round_results
from reviews.conflicts import refresh_conflicts
from reviews.forms_schema import score_problems, weighted_total
from reviews.models import Assignment, AssignmentStatus, ExpertProfile, Review, ReviewRound
from reviews.rounds import CURRENT, conflicted_assignments

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
PROJECTS, EXPERTS, K = 120, 40, 5


def load(**options):
    return scale.load_scale(**{"projects": PROJECTS, "experts": EXPERTS, "reviews_per_project": K, "seed": 11,
                               "now": NOW, **options})


def replay(model, rows, start):
    """Walk log rows (transition, from, to) through ``model``'s machine from ``start``; return the end state."""
    table = transitions_of(model)
    state = start
    for name, source, target in rows:
        assert source == state, f"{name}: logged from {source}, but the record was {state}"
        transition = table[name][source]  # KeyError: not a step of the machine from there
        allowed = getattr(transition.target, "allowed_states", None)
        assert target in ([str(s) for s in allowed] if allowed else [str(transition.target)])
        state = target
    return state


def test_every_history_is_a_path_of_the_machine_and_numbers_are_unique():
    counts = load(check_conflicts=False)
    assert Project.objects.count() == PROJECTS and counts["state in_review"] > 0
    assert ExpertProfile.objects.count() == EXPERTS
    assert User.objects.filter(username__startswith="scale-pi").count() == PROJECTS
    logs, moments = defaultdict(list), defaultdict(dict)
    for project_id, name, source, target, moment in (
        TransitionLog.objects.filter(content_type__model="project").order_by("at", "pk")
        .values_list("object_id", "transition", "from_state", "to_state", "at")
    ):
        logs[project_id].append((name, source, target))
        moments[project_id][name] = moment  # the last time of each step
    projects = list(Project.objects.select_related("institution"))
    for project in projects:
        steps = logs[project.pk]
        assert replay(Project, steps, "draft") == project.state, project.title
        names = [name for name, _source, _target in steps]
        assert bool(project.receipt_number) == ("submit" in names)
        assert bool(project.number) == ("confirm" in names)
        assert bool(project.certificate_number) == (project.state == "completed")
        assert project.submitted_at == moments[project.pk].get("submit")
        assert project.approved_at == moments[project.pk].get("confirm")
        if "confirm" in names:
            assert project.start_date and project.end_date > project.start_date
    # The seed gives this small load a project in each state these checks are about.
    assert {"draft", "submitted", "endorsed", "in_review", "not_approved", "active", "completed",
            "completion_review", "terminated"} <= {p.state for p in projects}
    for report in CompletionReport.objects.all():
        rows = list(TransitionLog.objects.filter(content_type__model="completionreport", object_id=report.pk)
                    .order_by("at", "pk").values_list("transition", "from_state", "to_state"))
        assert replay(CompletionReport, rows, "submitted") == report.state
    for call in Call.objects.all():
        rows = list(TransitionLog.objects.filter(content_type__model="call", object_id=call.pk)
                    .order_by("at", "pk").values_list("transition", "from_state", "to_state"))
        assert replay(Call, rows, "draft") == call.state
    assert max(TransitionLog.objects.values_list("at", flat=True)) <= NOW

    receipts = [p.receipt_number for p in projects if p.receipt_number]
    numbers = [p.number for p in projects if p.number]
    certificates = [p.certificate_number for p in projects if p.certificate_number]
    assert all(re.fullmatch(r"SB20\d\d\d{5}", r) for r in receipts)
    assert all(re.fullmatch(r"CAEA20\d\d[AB]\d{3}", n) for n in numbers)
    assert all(re.fullmatch(r"CAEA-JT20\d\d\d{4}", c) for c in certificates)
    sequences = dict(NumberSequence.objects.values_list("key", "last"))
    for value, width in [(v, 5) for v in receipts] + [(v, 3) for v in numbers] + [(v, 4) for v in certificates]:
        assert int(value[-width:]) <= sequences[value[:-width]]
    tokens = list(Assignment.objects.values_list("token", flat=True))
    assert len(set(tokens)) == len(tokens) > PROJECTS

    # guardian's rows are what ``access.sync_object_permissions`` would have left after the last step.
    held = defaultdict(set)
    for project_id, user_id, codename in ProjectUserObjectPermission.objects.values_list(
            "content_object_id", "user_id", "permission__codename"):
        held[project_id].add((("user", user_id), codename))
    for project_id, group_id, codename in ProjectGroupObjectPermission.objects.values_list(
            "content_object_id", "group_id", "permission__codename"):
        held[project_id].add((("group", group_id), codename))
    for project in projects:
        assert held[project.pk] == desired_object_permissions(project), project.title


def test_reviews_respect_k_m_and_conflicts_and_the_committee_followed_the_ranking():
    load()
    team_units = defaultdict(set)
    for project in Project.objects.select_related("institution"):
        team_units[project.pk].add(project.institution.name)
    for project_id, unit in Member.objects.values_list("project_id", "unit"):
        team_units[project_id].add(unit)
    for round_ in ReviewRound.objects.select_related("call_class"):
        current = (Assignment.objects.filter(round=round_, status__in=CURRENT)
                   .select_related("expert__institution", "review"))
        by_project = defaultdict(list)
        for assignment in current:
            by_project[assignment.project_id].append(assignment)
        assert set(by_project) == set(round_.projects.values_list("pk", flat=True))
        load_of = Counter()
        for project_id, assignments in by_project.items():
            assert len(assignments) == round_.experts_per_proposal
            units = [a.expert.institution.name for a in assignments]
            assert len(set(units)) == len(units), "two experts of one unit on a proposal"
            assert not set(units) & team_units[project_id], "an expert of a unit of the team"
            load_of.update(a.expert_id for a in assignments)
            aliases = sorted(a.alias_number for a in assignments if hasattr(a, "review") and a.review.state == "submitted")
            assert aliases == list(range(1, len(aliases) + 1))
        assert max(load_of.values()) <= round_.load_limit
        assert ensure_aliases(round_) == 0  # every submitted review already has its alias
    for review in Review.objects.filter(state="submitted").select_related("assignment__round"):
        form = review.assignment.round.form
        assert score_problems(form, review.scores) == [] and review.total == weighted_total(form, review.scores)
    assert Review.objects.filter(state="draft").exists()
    declined = list(Assignment.objects.filter(status=AssignmentStatus.DECLINED))
    assert declined and all(Assignment.objects.filter(replaces=a, status__in=CURRENT).exists() for a in declined)
    in_review = set(Project.objects.filter(state="in_review").values_list("pk", flat=True))
    assert in_review == set(ReviewRound.objects.filter(stage="application", state="open")
                            .values_list("projects", flat=True))

    # The real 回避 check finds conflicts (same units) but none on an assigned pair.
    refresh_conflicts(now=NOW)
    assert not conflicted_assignments().exists()
    assert not Assignment.objects.filter(status=AssignmentStatus.REMOVED).exists()

    decided = CallClass.objects.filter(call__state="decided")
    assert decided.count() == 4
    for call_class in decided:
        ranking = class_ranking(call_class)
        within = {row.project.pk for row in ranking.rows if row.within_quota}
        approved = set(TransitionLog.objects.filter(project__call_class=call_class, transition="approve")
                       .values_list("project_id", flat=True))
        assert within == approved and len(approved) == call_class.quota > 0
    open_round = ReviewRound.objects.filter(stage="application", state="open").first()
    results = round_results(open_round)
    assert sum(r.n for r in results) == Review.objects.filter(assignment__round=open_round, state="submitted").count()
    appraised = 0
    for round_ in ReviewRound.objects.filter(stage="completion", state="closed"):
        for project in round_.projects.all():
            report = project.completion_reports.filter(state="appraised", checked_at__lte=round_.opened_at).first()
            assert report is not None and panel_grade(round_, project) == report.grade
            appraised += 1
    assert appraised > 0


def test_archive_search_finds_generated_words_and_the_pages_open(client):
    load(check_conflicts=False)
    archived = Project.objects.filter(number__isnull=False, state__in=list(ARCHIVED_STATES))
    assert Record.objects.count() == archived.count() > 0
    assert search.search("教育").count == Record.objects.count()
    assert 0 < search.search("社区").count <= Record.objects.count()

    assignment = (Assignment.objects.filter(round__state="open", status="accepted", round__stage="application")
                  .select_related("expert__user", "project").first())
    client.force_login(assignment.expert.user)
    page = client.get(reverse("expert-dashboard"))
    assert page.status_code == 200 and assignment.project.title in page.content.decode()
    # The declaration is signed, so the dossier opens at once (no detour to the declaration).
    assert client.get(reverse("expert-dossier", args=[assignment.token])).status_code == 200
    project = Project.objects.filter(state="active").first()
    client.force_login(project.pi)
    assert client.get(reverse("dashboard")).status_code == 200
    assert client.get(reverse("project-detail", args=[project.pk])).status_code == 200
    client.force_login(User.objects.get(username=scale.SECRETARY))
    decided = CallClass.objects.filter(call__state="decided").first()
    assert client.get(reverse("class-ranking", args=[decided.pk])).status_code == 200


def test_the_command_loads_once_and_refuses_a_second_time(english):
    out = StringIO()
    call_command("load_scale", "--projects", "30", "--experts", "24", "--seed", "5", stdout=out)
    assert "projects.Project" in out.getvalue() and Project.objects.count() == 30
    with pytest.raises(CommandError, match="scale-secretary"):
        call_command("load_scale", "--projects", "30", "--experts", "24", stdout=StringIO())
    assert Project.objects.count() == 30
