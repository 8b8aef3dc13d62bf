"""Workflow projects reach the archive by themselves: every step is followed by ``sync_project``."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts import roles
from archive import search, tasks
from archive.models import Record
from projects.models import Project
from projects.services import perform
from tests.archive.factories import RecordFactory
from tests.factories import InstitutionFactory, MemberFactory, ProjectFactory, UserFactory

NOW = timezone.now()


@pytest.fixture
def people(db):
    unit = InstitutionFactory(name="江苏开放大学")
    return {
        "pi": UserFactory(username="pi", real_name="周海燕", institution=unit),
        "secretary": UserFactory(username="secretary", institution=InstitutionFactory(name="国家开放大学"),
                                 role=roles.SECRETARIAT),
    }


def project_in_notice(people, **fields):
    """A project at the end of its public notice (立项公示), ready to be confirmed."""
    project = ProjectFactory(
        state="publicity",
        pi=people["pi"],
        receipt_number=f"SB2023{Project.objects.count() + 1:05d}",
        publicity_started_at=NOW - dt.timedelta(days=10),
        title="社区教育赋能乡村振兴的路径研究",
        keywords=["社区教育", "乡村振兴", "农民培训"],
        abstract="本课题调查县域社区教育服务乡村振兴的实践，提出农民终身学习的支持路径。",
        discipline="社区教育",
        planned_end_date=timezone.localdate(NOW) + dt.timedelta(days=365),  # completion is due within the period
        **fields,
    )
    MemberFactory(project=project, name="钱文静")
    MemberFactory(project=project, name="孙志强")
    return project


def step(project, name, by, django_capture_on_commit_callbacks, **params):
    with django_capture_on_commit_callbacks(execute=True):
        return perform(project, name, by=by, reason="按计划推进。", now=NOW, **params)


def test_confirmation_puts_the_project_in_the_archive(search_backend, people, django_capture_on_commit_callbacks):
    project = project_in_notice(people)
    assert not Record.objects.exists()
    step(project, "confirm", people["secretary"], django_capture_on_commit_callbacks)
    project.refresh_from_db()
    record = Record.objects.get(project=project)
    assert (record.number, record.title, record.class_code, record.class_name, record.year) == (
        project.number, "社区教育赋能乡村振兴的路径研究", "A", "学术性课题", 2023,
    )
    assert (record.pi_name, record.unit_name, record.members, record.field) == (
        "周海燕", "江苏开放大学", "钱文静、孙志强", "社区教育",
    )
    assert record.keywords == ["社区教育", "乡村振兴", "农民培训"]
    assert record.abstract == project.abstract
    assert (record.state, record.grade, record.completed_on, record.source) == ("ongoing", "", None, "workflow")
    result = search.search("乡村振兴")
    assert [hit.number for hit in result.hits] == [project.number]
    assert result.hits[0].state == "ongoing"
    assert [h.number for h in search.search("周海燕").hits] == [project.number]


def test_appraisal_completes_the_record_with_its_grade(search_backend, people, django_capture_on_commit_callbacks):
    project = project_in_notice(people)
    step(project, "confirm", people["secretary"], django_capture_on_commit_callbacks)
    step(project, "submit_completion", people["pi"], django_capture_on_commit_callbacks)
    assert Record.objects.get(project=project).state == "ongoing"
    step(project, "appraise", people["secretary"], django_capture_on_commit_callbacks, grade="excellent")
    record = Record.objects.get(project=project)
    assert (record.state, record.grade, record.completed_on) == ("completed", "excellent", timezone.localdate(NOW))
    result = search.search("乡村振兴", filters={"state": "completed", "grade": "excellent"})
    assert [hit.number for hit in result.hits] == [record.number]
    assert result.hits[0].grade == "excellent"
    assert search.search("乡村振兴", filters={"state": "ongoing"}).count == 0


@pytest.mark.parametrize("name, archived_state", [("terminate", "terminated"), ("revoke_project", "revoked")])
def test_ended_projects_keep_their_record_in_their_state(
    search_backend, people, django_capture_on_commit_callbacks, name, archived_state
):
    project = project_in_notice(people)
    step(project, "confirm", people["secretary"], django_capture_on_commit_callbacks)
    step(project, name, people["secretary"], django_capture_on_commit_callbacks)
    assert Record.objects.get(project=project).state == archived_state
    assert search.search("乡村振兴", filters={"state": archived_state}).count == 1


def test_a_draft_project_never_gets_a_record(search_backend, people, django_capture_on_commit_callbacks):
    draft = ProjectFactory(pi=people["pi"], title="老年大学课程建设研究")
    tasks.sync_project.delay(draft.pk)
    with django_capture_on_commit_callbacks(execute=True):
        perform(draft, "withdraw", by=people["pi"], now=NOW)
    tasks.sync_project.delay(draft.pk)
    assert not Record.objects.exists()
    assert search.search("老年大学").count == 0


def test_a_project_that_leaves_the_archived_states_loses_its_record(search_backend, people):
    project = ProjectFactory(pi=people["pi"], state="in_review", title="老年大学课程建设研究")
    stray = RecordFactory(number="CAEA2023A999", project=project, title="老年大学课程建设研究", source="workflow")
    search.index_records([stray])
    assert search.search("老年大学").count == 1
    tasks.sync_project.delay(project.pk)
    assert not Record.objects.exists()
    assert search.search("老年大学").count == 0


def test_sync_is_idempotent(search_backend, people, django_capture_on_commit_callbacks):
    project = project_in_notice(people)
    step(project, "confirm", people["secretary"], django_capture_on_commit_callbacks)
    for _ in range(2):
        tasks.sync_project.delay(project.pk)
    assert Record.objects.count() == 1
    assert search.search("乡村振兴").count == 1


def test_index_task_takes_numbers_and_drops_the_missing(search_backend):
    kept, gone = RecordFactory(title="学分银行建设研究"), RecordFactory(title="学分银行制度研究")
    tasks.index_records.delay([kept.number, gone.number])
    assert search.search("学分银行").count == 2
    gone.delete()
    tasks.index_records.delay([kept.number, gone.number])
    assert [h.number for h in search.search("学分银行").hits] == [kept.number]
    tasks.remove_numbers.delay([kept.number])
    assert search.search("学分银行").count == 0


def test_tasks_run_on_the_archive_queue():
    from config.celery import app

    def queue(name):
        return app.amqp.router.route({}, name, args=(), kwargs={})["queue"].name

    archive = {queue(t.name) for t in (tasks.index_records, tasks.remove_numbers, tasks.sync_project)}
    assert archive == {tasks.QUEUE} == {"archive-index"}
    assert queue("projects.tasks.transition_happened") == "celery"


def test_rebuild_command_syncs_and_indexes_with_a_progress_bar(search_backend, people):
    project = project_in_notice(people, number="CAEA2023A042")
    Project.objects.filter(pk=project.pk).update(state="active")  # as if its sync had been lost
    imported = RecordFactory(title="学分银行制度建设研究")
    out, err = io.StringIO(), io.StringIO()
    call_command("rebuild_archive_index", "--batch-size", "1", stdout=out, stderr=err)
    assert Record.objects.get(project=project).number == "CAEA2023A042"
    assert {h.number for h in search.search("").hits} == {"CAEA2023A042", imported.number}
    assert "Indexed 2 records" in out.getvalue()
    progress = err.getvalue()
    assert "\r" in progress and "2/2 100%" in progress and "1/1 100%" in progress
    call_command("rebuild_archive_index", "--skip-sync", stdout=out, stderr=err)
    assert search.search("乡村振兴").count == 1
