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
    verbose_name = _("Archive")

    def ready(self):
        from projects.signals import project_changed

        project_changed.connect(project_changed_handler, dispatch_uid="archive.sync_project")
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
