"""Celery tasks of reminders (see reviews/tasks.py); the beat runs them daily (settings.CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from . import reminders


@shared_task
def send_review_reminders():
    """Today's reminders to experts, at most one mail each (safe to run twice)."""
    return reminders.send_reminders()


@shared_task
def flag_unanswered_invitations():
    """The secretariat's daily digest of invitations left unanswered too long."""
    return reminders.flag_unanswered()


__all__ = ["send_review_reminders", "flag_unanswered_invitations"]
