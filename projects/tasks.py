"""Celery tasks of the projects app: thin wrappers taking ids, safe to run twice."""

from celery import shared_task

from . import notifications


@shared_task
def notify_transition(log_id):
    """Tell the people concerned about one transition (after the commit that wrote it)."""
    notifications.notify_transition(log_id)
