"""``manage.py load_demo``: an association's realistic year of demo data (see ``projects.demo``)."""

from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings

from projects import demo


class Command(BaseCommand):
    help = "Load the demo data (users, institutions, the 2021 and 2023 calls and their projects); safe to run twice."

    def add_arguments(self, parser):
        parser.add_argument(
            "--send-mail",
            action="store_true",
            help="Send the notifications of the replayed steps through the configured e-mail backend.",
        )

    def handle(self, *args, send_mail=False, **options):
        # Hundreds of replayed steps would each notify someone at @example.org; by default
        # those mails go nowhere instead of flooding the console or a real server.
        backend = None if send_mail else "django.core.mail.backends.dummy.EmailBackend"
        try:
            with override_settings(**({"EMAIL_BACKEND": backend} if backend else {})):
                created = demo.load_demo()
        except demo.DemoError as error:
            raise CommandError(f"The demo data was refused by the rules: {error}") from error
        for line in demo.summary_lines(created):
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(f"Demo password for every account: {demo.DEMO_PASSWORD}"))
