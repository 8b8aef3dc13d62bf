"""Celery tasks of the expert pool (专家库): thin wrappers taking ids, safe to run twice."""

from celery import shared_task

__all__ = ["send_expert_invitation"]


@shared_task
def send_expert_invitation(user_id, base_url=None):
    """Mail the invitation to join the pool (专家邀请), with the link to choose a password."""
    from . import pool

    return pool.mail_invitation(user_id, base_url)
