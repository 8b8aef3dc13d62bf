"""``manage.py backup DIR``: the database, the uploaded files and the search index (see ``projects.backup``)."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from projects import backup


class Command(BaseCommand):
    help = (
        "Back up the database, the uploaded files (MEDIA_ROOT) and the Whoosh search index into a new "
        "directory DIR/keti-backup-<UTC time>/, with a manifest of counts and checksums."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", help="Directory that receives the new keti-backup-… directory.")
        parser.add_argument("--database", default="default", help="Database alias (default: default).")

    def handle(self, *args, directory, database, **options):
        try:
            path, manifest = backup.create_backup(directory, alias=database)
        except backup.BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(_("Backup written to %(path)s") % {"path": path})
        for name, part in manifest["parts"].items():
            self.stdout.write(f"  {part['file']:<20} {part['bytes']:>12,} B  sha256 {part['sha256'][:16]}…")
        rows = sum(manifest["counts"].values())
        self.stdout.write(
            _("  %(rows)s rows in %(tables)s tables; %(files)s uploaded files (%(bytes)s bytes); search backend %(search)s")
            % {"rows": f"{rows:,}", "tables": len(manifest["counts"]), "files": manifest["media"]["files"],
               "bytes": f"{manifest['media']['bytes']:,}", "search": manifest["search_backend"]}
        )
        self.stdout.write(self.style.SUCCESS(_("Check it with: manage.py restore --check %(path)s") % {"path": path}))
