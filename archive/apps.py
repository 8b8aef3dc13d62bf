import logging
import os

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)

# Set to 1 by the start scripts of long-lived processes (gunicorn, the Celery
# workers) so that jieba's dictionary (about a second) is loaded at start-up,
# not by the first search. Management commands and tests leave it unset and
# load it on first use.
WARM_JIEBA_ENV = "KETI_WARM_JIEBA"


class ArchiveConfig(AppConfig):
    name = "archive"
    verbose_name = _("Project archive")

    def ready(self):
        from projects.signals import demo_loading, number_is_reserved, project_changed

        project_changed.connect(project_changed_handler, dispatch_uid="archive.sync_project")
        number_is_reserved.connect(number_held_by_archive, dispatch_uid="archive.number_is_reserved")
        demo_loading.connect(import_demo_sample, dispatch_uid="archive.import_demo_sample")
        if os.environ.get(WARM_JIEBA_ENV) == "1":
            from .search.text import warm_up

            warm_up()


def project_changed_handler(sender, project_id, transition="", **kwargs):
    """After the commit of a project's step: bring its archive Record and the index in step.

    A failure here must not turn a committed step into an error page: it is
    logged, and ``manage.py rebuild_archive_index`` repairs what it missed.
    """
    from .tasks import sync_project

    try:
        sync_project.delay(project_id)
    except Exception:
        logger.exception("Could not bring the archive in step with project %s after “%s”.", project_id, transition)


def number_held_by_archive(sender, number, **kwargs):
    """A project number that an imported record of an earlier year already carries is not given again."""
    from .models import Record, RecordSource

    return Record.objects.filter(number=number, source=RecordSource.IMPORT).exists()


def import_demo_sample(sender, created, **kwargs):
    """The demo archive's earlier years (往年课题): the sample sheet kept in the project, re-imported (updates)."""
    from django.conf import settings

    from .importer import import_sheet

    sample = settings.BASE_DIR / "archive" / "samples" / "historical_projects.xlsx"
    report = import_sheet(sample)
    if report.errors:
        raise RuntimeError(f"The archive sample could not be imported: {report.errors[:3]}")
    created["archive records"] += report.created
