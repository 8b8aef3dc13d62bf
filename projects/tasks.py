"""Celery tasks of the projects app: thin wrappers taking ids, safe to run twice."""

from celery import shared_task

from . import notifications
from .models import DocumentKind, Project, TransitionLog
from .stored_documents import store_document

# Documents (re)built after these steps.
BUILDS_DOCUMENTS = {"submit"}


@shared_task
def transition_happened(log_id):
    """The side effects of one transition, after the commit that wrote it."""
    log = TransitionLog.objects.filter(pk=log_id).only("transition", "project_id", "content_type").first()
    if log is None:
        return
    if log.project_id and log.transition in BUILDS_DOCUMENTS and log.content_type.model == "project":
        build_documents(log.project_id)
    notifications.notify_transition(log_id)


@shared_task
def build_documents(project_id):
    """Build and store the 申请书 and the 活页 of a submitted application (replacing older builds)."""
    from .documents import anonymous_form, application_form

    project = Project.objects.with_people().get(pk=project_id)
    builders = {DocumentKind.APPLICATION: application_form, DocumentKind.ANONYMOUS: anonymous_form}
    for kind, build in builders.items():
        store_document(project, kind, build(project))


from .tasks_supervision import *  # noqa: E402,F401,F403  (registers the sweeps' tasks)
from .letters import build_approval_letter  # noqa: E402,F401  (registers the letter's task with workers)
from .completion_documents import build_completion_documents  # noqa: E402,F401  (registers the task with workers)
