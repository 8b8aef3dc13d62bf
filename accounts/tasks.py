"""Celery tasks of the accounts app: thin wrappers taking ids, safe to run twice."""

from celery import shared_task


@shared_task
def send_confirmation_email(user_id, base_url):
    """Mail the e-mail confirmation link (邮箱确认) to a new, still inactive account."""
    from . import services

    return services.mail_confirmation_link(user_id, base_url)


@shared_task
def send_membership_removed_email(user_id, institution_id):
    """Tell a person that their unit's research administrator removed them from the unit."""
    from . import services

    return services.mail_membership_removed(user_id, institution_id)
