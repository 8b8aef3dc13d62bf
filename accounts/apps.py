from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _create_role_groups(sender, using="default", **kwargs):
    """After migrate: make sure every app's permissions exist, then the role groups."""
    from django.apps import apps
    from django.contrib.auth.management import create_permissions

    from .roles import ensure_role_groups

    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using)
    ensure_role_groups()


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts and institutions")

    def ready(self):
        post_migrate.connect(_create_role_groups, sender=self)
