"""Celery tasks of the supervision sweeps (督办); beat runs ``supervision_sweep`` daily (see settings)."""

from celery import shared_task

__all__ = ["supervision_sweep"]


@shared_task(name="projects.tasks_supervision.supervision_sweep")
def supervision_sweep():
    """List the overdue projects and warn their PIs once per kind; safe to run twice."""
    from .supervision import sweep

    result = sweep()
    return {name: len(items) for name, items in result.items()}
