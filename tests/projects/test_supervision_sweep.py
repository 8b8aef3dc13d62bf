"""The sweeps (督办): the three lists, one warning per PI and kind, the Celery task, the secretariat's page."""

import datetime as dt

import pytest
from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notification
from projects import access
from projects.models import ChangeRequest, KickoffReport, MidtermReport, SupervisionWarning, TransitionLog
from projects.supervision import MIDTERM_AT, midterm_due_on, overdue, sweep
from tests.factories import ProjectFactory, UserFactory

pytestmark = pytest.mark.usefixtures("english")

# The task and the page run on the real clock, so the cases are placed relative to it.
NOW = timezone.now()
TODAY = timezone.localdate(NOW)


def at(day):
    return timezone.make_aware(dt.datetime.combine(day, dt.time(9, 0)))


def ago(**delta):
    return TODAY - relativedelta(**delta)


def running(pi=None, *, since=None, months=24, **fields):
    """A project under way since ``since`` (default 4 months ago) for ``months`` months."""
    since = since or ago(months=4)
    values = dict(state="active", approved_at=at(since), start_date=since, end_date=since + relativedelta(months=months))
    if pi is not None:
        values["pi"] = pi
    values.update(fields)
    project = ProjectFactory(**values)
    access.sync_object_permissions(project)
    return project


def kickoff(project):
    return KickoffReport.objects.create(project=project, held_on=project.start_date, experts="张明", report="开题。",
                                        submitted_at=at(project.start_date), submitted_by=project.pi)


def midterm(project):
    return MidtermReport.objects.create(project=project, progress="进展。", plan="计划。", submitted_at=NOW)


def ids(projects):
    return {p.pk for p in projects}


def ended(**fields):
    """Started 2 years and a day ago for 2 years: the end date was yesterday."""
    return running(since=ago(years=2, days=1), months=24, **fields)


@pytest.fixture
def cases(db):
    """One project per situation, each named after what the sweep should say of it."""
    c = {}
    # Past the end date, nothing submitted, no extension pending → listed.
    c["ended"] = ended()
    kickoff(c["ended"])
    midterm(c["ended"])
    # Past the end date but an extension is pending → not listed.
    c["extending"] = ended()
    kickoff(c["extending"])
    midterm(c["extending"])
    ChangeRequest.objects.create(project=c["extending"], kind="extension", requested_by=c["extending"].pi,
                                 explanation="延期。", extension_months=6, created_at=at(ago(months=4)),
                                 state="endorsed")
    # Past the end date with completion submitted → not listed.
    c["completing"] = ended(state="completion_review", completion_submitted_at=at(ago(months=1)))
    kickoff(c["completing"])
    # Approved more than 3 months ago, no kick-off → listed.
    c["no_kickoff"] = running(since=ago(months=4))
    # Approved 2 months ago, no kick-off yet → not listed.
    c["recent"] = running(since=ago(months=2))
    # More than half of the period gone, no mid-term report → listed.
    c["no_midterm"] = running(since=ago(months=13))
    kickoff(c["no_midterm"])
    # Same, but its report is in → not listed.
    c["midterm_in"] = running(since=ago(months=13))
    kickoff(c["midterm_in"])
    midterm(c["midterm_in"])
    # Finished projects are never listed.
    c["done"] = running(state="completed", since=ago(years=5))
    return c


def test_the_three_lists(cases):
    result = overdue(NOW)
    assert ids(result.end_passed) == {cases["ended"].pk}
    assert ids(result.kickoff_overdue) == {cases["no_kickoff"].pk}
    assert ids(result.midterm_overdue) == {cases["no_midterm"].pk}


def test_midterm_is_due_at_the_middle_of_the_period(db):
    assert MIDTERM_AT == 0.5
    project = running(since=dt.date(2023, 1, 1), months=24, end_date=dt.date(2024, 12, 31))
    kickoff(project)
    assert midterm_due_on(project) == dt.date(2024, 1, 1)
    assert project.pk not in ids(overdue(at(dt.date(2024, 1, 1))).midterm_overdue)
    assert project.pk in ids(overdue(at(dt.date(2024, 1, 2))).midterm_overdue)


def test_kickoff_deadline_follows_the_class_rule(cases):
    project = cases["no_kickoff"]
    project.call_class.rules = {"KICKOFF_WITHIN_MONTHS": 6}
    project.call_class.save()
    assert project.pk not in ids(overdue(NOW).kickoff_overdue)


def test_sweep_warns_each_pi_once_per_kind(cases, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        result = sweep(NOW)
    assert {(p.pk, kind) for p, kind in result["warned"]} == {
        (cases["ended"].pk, "end_passed"), (cases["no_kickoff"].pk, "kickoff_overdue"),
        (cases["no_midterm"].pk, "midterm_overdue"),
    }
    assert SupervisionWarning.objects.count() == 3
    assert sorted(m.to[0] for m in mailoutbox) == sorted(
        cases[name].pi.email for name in ("ended", "no_kickoff", "no_midterm"))
    notes = Notification.objects.filter(user=cases["ended"].pi)
    assert notes.count() == 1 and "课题已到期" in notes.get().subject  # in the PI's language (the site's: Chinese)
    assert notes.get().link.endswith(reverse("project-detail", args=[cases["ended"].pk]))

    with django_capture_on_commit_callbacks(execute=True):
        again = sweep(NOW + dt.timedelta(days=1))
    assert again["warned"] == [] and len(again["end_passed"]) == 1
    assert len(mailoutbox) == 3 and SupervisionWarning.objects.count() == 3


def test_warning_names_the_project(db, mailoutbox, django_capture_on_commit_callbacks):
    pi = UserFactory(language="zh-hans")
    project = running(pi)  # kick-off overdue
    with django_capture_on_commit_callbacks(execute=True):
        sweep(NOW)
    assert len(mailoutbox) == 1
    assert SupervisionWarning.objects.get().kind == "kickoff_overdue"
    assert project.title in mailoutbox[0].subject and project.title in mailoutbox[0].body


def test_celery_task_runs_the_sweep(cases, mailoutbox, django_capture_on_commit_callbacks):
    from projects.tasks_supervision import supervision_sweep

    with django_capture_on_commit_callbacks(execute=True):
        counts = supervision_sweep.delay().get()
    assert counts["warned"] == 3
    schedule = settings.CELERY_BEAT_SCHEDULE["supervision-sweep"]
    assert schedule["task"] == "projects.tasks_supervision.supervision_sweep"
    assert (schedule["schedule"].hour, schedule["schedule"].minute) == ({8}, {30})


# ---- the secretariat's page ---------------------------------------------------------------------


def test_sweep_page_is_for_the_secretariat(client, applicant, unit_admin):
    for person in (applicant, unit_admin):
        client.force_login(person)
        assert client.get(reverse("supervision-sweep")).status_code == 403


def test_sweep_page_lists_and_terminates(client, cases, secretary):
    client.force_login(secretary)
    page = client.get(reverse("supervision-sweep")).content.decode()
    for name in ("ended", "no_kickoff", "no_midterm"):
        assert cases[name].title in page
    for name in ("extending", "completing", "recent", "midterm_in", "done"):
        assert cases[name].title not in page

    ended = cases["ended"]
    response = client.post(reverse("supervision-sweep"), {"project": ended.pk, "reason": " "})
    assert response.status_code == 200
    assert "Please give a reason for this step." in response.content.decode()
    ended.refresh_from_db()
    assert ended.state == "active"

    response = client.post(reverse("supervision-sweep"), {"project": cases["no_kickoff"].pk, "reason": "逾期。"})
    assert "Only a project past its end date" in response.content.decode()
    cases["no_kickoff"].refresh_from_db()
    assert cases["no_kickoff"].state == "active"

    response = client.post(reverse("supervision-sweep"), {"project": ended.pk, "reason": "逾期未结题，予以终止。"})
    assert response.status_code == 302
    ended.refresh_from_db()
    assert ended.state == "terminated"
    assert TransitionLog.objects.get(project=ended, transition="terminate").reason == "逾期未结题，予以终止。"


def _count(client, address):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(address).status_code == 200
    return len(queries)


def _overdue_projects(n):
    for _i in range(n):
        ended()
        running()


def test_sweep_page_query_count_does_not_grow(client, secretary):
    _overdue_projects(3)
    sweep()
    client.force_login(secretary)
    small = _count(client, reverse("supervision-sweep"))
    _overdue_projects(27)
    sweep()
    assert _count(client, reverse("supervision-sweep")) == small
