"""``manage.py import_archive FILE.xlsx [--skip-invalid]``: import historical projects (往年课题)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from archive.importer import import_sheet


class Command(BaseCommand):
    help = (
        "Import historical projects from an Excel sheet (one sheet named 课题, the columns of "
        "archive/samples/README.md). A sheet with any error imports nothing unless --skip-invalid is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the .xlsx workbook")
        parser.add_argument(
            "--skip-invalid", action="store_true", help="import the valid rows and report the invalid ones"
        )

    def handle(self, *args, file, skip_invalid, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        report = import_sheet(path, skip_invalid=skip_invalid)
        for error in report.errors:
            self.stderr.write(str(error))
        if report.blocked:
            raise CommandError(report.summary())
        self.stdout.write(self.style.SUCCESS(report.summary()) if report.ok else report.summary())
