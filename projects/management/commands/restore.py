"""``manage.py restore DIR``: put back a backup made by ``manage.py backup`` (see ``projects.backup``)."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from projects import backup


class Command(BaseCommand):
    help = (
        "Restore the database, the uploaded files and the search index from a backup directory (or the newest "
        "keti-backup-… inside DIR). Every checksum is verified first; nothing is changed when one fails."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", help="A keti-backup-… directory, or a directory holding them (the newest is used).")
        parser.add_argument("--yes", action="store_true", help="Replace a database that already holds data.")
        parser.add_argument("--check", action="store_true", help="Only verify the backup's checksums; change nothing.")
        parser.add_argument("--database", default="default", help="Database alias (default: default).")

    def handle(self, *args, directory, yes, check, database, **options):
        try:
            path = backup.find_backup(directory)
            if check:
                manifest = backup.verify_backup(path)
                self.stdout.write(self.style.SUCCESS(
                    _("%(path)s is complete and intact (made %(time)s).") % {"path": path, "time": manifest["created_at"]}
                ))
                return
            self.stdout.write(_("Restoring %(path)s …") % {"path": path})
            report = backup.restore_backup(path, force=yes, alias=database)
        except backup.BackupError as error:
            raise CommandError(str(error)) from error
        manifest = report["manifest"]
        self.stdout.write(_("Restored the backup made %(time)s.") % {"time": manifest["created_at"]})
        width = max((len(label) for label in report["counts"]), default=10)
        self.stdout.write(f"  {_('table'):<{width}} {_('backup'):>10} {_('restored'):>10}")
        for label in sorted(set(manifest["counts"]) | set(report["counts"])):
            expected, got = manifest["counts"].get(label), report["counts"].get(label)
            mark = "" if expected == got else "  ≠"
            self.stdout.write(f"  {label:<{width}} {expected if expected is not None else '-':>10} "
                              f"{got if got is not None else '-':>10}{mark}")
        self.stdout.write(
            _("  uploaded files: %(files)s (%(bytes)s bytes); backup: %(mfiles)s (%(mbytes)s bytes)")
            % {"files": report["media"]["files"], "bytes": f"{report['media']['bytes']:,}",
               "mfiles": manifest["media"]["files"], "mbytes": f"{manifest['media']['bytes']:,}"}
        )
        if report["behind"]:
            self.stdout.write(self.style.WARNING(_("The backup predates this code's migrations: run manage.py migrate.")))
        if report["mismatches"]:
            raise CommandError(
                _("The restored data differs from the backup's manifest: %(names)s")
                % {"names": ", ".join(report["mismatches"])}
            )
        self.stdout.write(self.style.SUCCESS(_("Restore complete: every count matches the backup.")))
