"""``manage.py load_scale``: a national-scale data set in bulk (see ``config.scale``)."""

import resource
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from config import scale

# The tables whose rows are counted in the summary, by model label.
COUNTED = [
    "accounts.Institution", "accounts.User", "reviews.ExpertProfile", "projects.Call", "projects.CallClass",
    "projects.Project", "projects.Member", "projects.BudgetLine", "projects.TransitionLog",
    "projects.ProjectUserObjectPermission", "projects.ProjectGroupObjectPermission", "projects.Objection",
    "projects.KickoffReport", "projects.MidtermReport", "projects.CompletionReport", "projects.Output",
    "reviews.ReviewRound", "reviews.AssignmentRun", "reviews.Assignment", "reviews.Review",
    "reviews.DeclarationSignature", "reviews.Conflict", "reviews.Meeting", "reviews.Vote", "reviews.StagedDecision",
    "archive.Record", "projects.NumberSequence",
]


class Command(BaseCommand):
    help = ("Build a national-scale data set: three calls, N projects with full histories, M experts, "
            "k reviews per proposal. For an empty database; refused when the scale data are present.")

    def add_arguments(self, parser):
        parser.add_argument("--projects", type=int, default=scale.DEFAULT_PROJECTS, help="projects over the three calls")
        parser.add_argument("--experts", type=int, default=scale.DEFAULT_EXPERTS, help="experts in the pool")
        parser.add_argument("--reviews-per-project", type=int, default=scale.DEFAULT_REVIEWS_PER_PROJECT,
                            help="experts per proposal in the application rounds (k)")
        parser.add_argument("--seed", type=int, default=scale.DEFAULT_SEED, help="seed of the random choices")
        parser.add_argument("--password", default=scale.DEFAULT_PASSWORD, help="the one password of every account")
        parser.add_argument("--skip-conflict-check", action="store_true",
                            help="do not run the 回避 check over every current proposal at the end")

    def handle(self, *args, **options):
        from django.apps import apps

        started = time.monotonic()
        try:
            scale.load_scale(
                projects=options["projects"], experts=options["experts"],
                reviews_per_project=options["reviews_per_project"], seed=options["seed"],
                password=options["password"], check_conflicts=not options["skip_conflict_check"],
                report=self._progress,
            )
        except scale.ScaleError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(_("Rows per table:"))
        for label in COUNTED:
            model = apps.get_model(label)
            self.stdout.write(f"  {label:<40} {model.objects.count():>9,}")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        self.stdout.write(self.style.SUCCESS(
            _("Scale data loaded in %(seconds).0f s (peak memory %(mb).0f MB). Password of every account: %(password)s")
            % {"seconds": time.monotonic() - started, "mb": peak, "password": options["password"]}
        ))

    def _progress(self, line):
        self.stdout.write(line)
        self.stdout.flush()
