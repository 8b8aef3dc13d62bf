from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = _("Expert review")

    def ready(self):
        from . import signals

        signals.connect()  # conflicts (回避) follow changes of profiles and teams
