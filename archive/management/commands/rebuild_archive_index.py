"""``manage.py rebuild_archive_index [--batch-size N] [--skip-sync]``: rebuild the archive's search index.

First every workflow project is synced to its Record (created, updated or
removed as its state says), then every Record is indexed again by the
configured backend. Progress goes to stderr as a bar redrawn in place.
"""

from django.core.management.base import BaseCommand
from django.db.models import Q

from archive import search
from archive.tasks import ARCHIVED_STATES, sync_record


class ProgressBar:
    """``label [#####-----]  123/1000  12%`` on one line, redrawn with ``\\r``; no dependency.

    ``stream`` is a command's ``OutputWrapper`` (``write(text, ending="")``).
    """

    def __init__(self, stream, label, width=30):
        self.stream, self.label, self.width = stream, label, width
        self.shown = None

    def __call__(self, done, total):
        percent = 100 if total == 0 else done * 100 // total
        if (percent, done == total) == self.shown:
            return
        self.shown = (percent, done == total)
        filled = self.width * percent // 100
        bar = "#" * filled + "-" * (self.width - filled)
        line = f"\r{self.label} [{bar}] {done:>{len(str(total))}}/{total} {percent:3d}%"
        self.stream.write(line + ("\n" if done >= total else ""), ending="")
        self.stream.flush()


class Command(BaseCommand):
    help = "Sync the workflow projects to their archive Records, then rebuild the search index of every Record."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500, help="records read and indexed at a time")
        parser.add_argument("--skip-sync", action="store_true", help="do not re-sync the workflow projects first")

    def handle(self, *args, batch_size, skip_sync, **options):
        from projects.models import Project

        batch_size = max(batch_size, 1)
        stream = self.stderr
        if not skip_sync:
            archived = Q(number__isnull=False, state__in=list(ARCHIVED_STATES)) | Q(archive_record__isnull=False)
            ids = list(Project.objects.filter(archived).order_by("pk").values_list("pk", flat=True).distinct())
            progress = ProgressBar(stream, "sync ")
            progress(0, len(ids))
            for done, project_id in enumerate(ids, 1):
                sync_record(project_id, index=False)
                if done % batch_size == 0 or done == len(ids):
                    progress(done, len(ids))
        total = search.rebuild(progress=ProgressBar(stream, "index"), batch_size=batch_size)
        self.stdout.write(f"Indexed {total} records ({search.backend().__name__.rsplit('.', 1)[-1]}).")
