"""Celery tasks of the supervision sweeps (see projects/tasks.py)."""
