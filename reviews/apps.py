from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = _("Expert review")

    def ready(self):
        from . import signals

        signals.connect()  # conflicts (回避) follow changes of profiles and teams

        from projects.signals import demo_loaded

        from .demo import load_review_demo

        demo_loaded.connect(load_review_demo, dispatch_uid="reviews.load_review_demo")
