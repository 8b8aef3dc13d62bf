"""Celery tasks of the archive: keep Records and the search index in step. Ids in, safe to run twice.

All three run on their own queue, ``archive-index`` (routed there by
``CELERY_TASK_ROUTES`` in the settings: Celery 5.7 deprecates a task's own
``queue`` attribute), so that one worker writes the index, one task at a time::

    celery -A config worker -Q archive-index --concurrency 1   # the archive's writer
    celery -A config worker -Q celery                           # everything else

Without ``CELERY_BROKER_URL`` they run eagerly, in the process that schedules
them (the demo, the tests). ``sync_project`` is scheduled by the
``projects.signals.project_changed`` handler (see ``apps.py``) after the commit
of every step of a project; the importer schedules ``index_records``.
"""

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from . import search
from .models import ArchiveState, Record, RecordSource

QUEUE = "archive-index"  # see CELERY_TASK_ROUTES in config/settings.py

# Project states that have a public Record, and the Record's state for each.
ARCHIVED_STATES = {
    "active": ArchiveState.ONGOING,
    "midterm_review": ArchiveState.ONGOING,
    "completion_review": ArchiveState.ONGOING,
    "completed": ArchiveState.COMPLETED,
    "terminated": ArchiveState.TERMINATED,
    "revoked": ArchiveState.REVOKED,
}


@shared_task
def index_records(numbers):
    """(Re)index the Records of these numbers; a number without a Record leaves the index."""
    numbers = list(dict.fromkeys(numbers))
    records = list(Record.objects.filter(number__in=numbers))
    search.index_records(records)
    found = {record.number for record in records}
    search.remove_numbers([number for number in numbers if number not in found])


@shared_task
def remove_numbers(numbers):
    """Drop these numbers from the index (their Records may be gone already)."""
    search.remove_numbers(list(numbers))


@shared_task
def sync_project(project_id):
    """Bring the Record of one workflow project in step with it, then the index (课题入库)."""
    sync_record(project_id, index=True)


def sync_record(project_id, *, index=True):
    """Build, update or remove the Record of ``projects.Project`` ``project_id``; return it (or None).

    A project has a Record from its confirmation (a number, state active) on,
    while it is in one of ``ARCHIVED_STATES``; in any other state (or gone) the
    Record linked to it is deleted. With ``index`` the search index follows.
    """
    from projects.models import Project

    project = (
        Project.objects.select_related("call", "call_class", "pi", "institution", "pi__institution")
        .prefetch_related("members", "outputs")
        .filter(pk=project_id)
        .first()
    )
    with transaction.atomic():
        linked = Record.objects.select_for_update().filter(project_id=project_id).first()
        if project is None or not project.number or project.state not in ARCHIVED_STATES:
            if linked is None:
                return None
            gone = linked.number
            linked.delete()
            record, stale = None, [gone]
        else:
            record = linked or Record.objects.select_for_update().filter(number=project.number).first() or Record()
            stale = [record.number] if record.number and record.number != project.number else []
            _fill(record, project)
            record.save()
    if index:
        if record is not None:
            search.index_records([record])
        search.remove_numbers(stale)
    return record


def _fill(record, project):
    """Copy the public fields of a project into its Record.

    The outputs (成果) come from the project's completion materials, one reference per line
    in the style of GB/T 7714 (``projects.completion.cite``); a project that has reported
    none yet leaves the Record's outputs as they are (an imported record of the same
    number keeps its list).
    """
    from projects.completion import cite

    unit = project.institution or project.pi.institution
    state = ARCHIVED_STATES[project.state]
    record.project = project
    record.source = RecordSource.WORKFLOW
    record.number = project.number
    record.title = project.title
    record.class_code = project.call_class.code
    record.class_name = project.call_class.name
    record.year = project.call.year
    record.pi_name = project.pi.real_name or project.pi.username
    record.unit_name = unit.name if unit else ""
    record.members = _fit("、".join(m.name for m in project.members.all()), Record._meta.get_field("members"))
    record.field = project.discipline
    record.keywords = list(project.keywords or [])
    record.abstract = project.abstract
    record.state = state
    record.grade = project.grade or ""
    completed = state == ArchiveState.COMPLETED and project.closed_at
    record.completed_on = timezone.localdate(project.closed_at) if completed else None
    outputs = list(project.outputs.all())
    if outputs:
        record.outputs = "\n".join(cite(output) for output in outputs)


def _fit(value, model_field):
    limit = model_field.max_length
    return value if len(value) <= limit else value[: limit - 1] + "…"
