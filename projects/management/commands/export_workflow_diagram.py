from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from projects.diagram import document


class Command(BaseCommand):
    help = "Write docs/state-machines.md: the diagrams and rule tables of the state machines, from the code."

    def add_arguments(self, parser):
        parser.add_argument("--output", default=str(Path(settings.BASE_DIR) / "docs" / "state-machines.md"))

    def handle(self, *args, output, **options):
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(document(), encoding="utf-8")
        self.stdout.write(f"wrote {output}")
