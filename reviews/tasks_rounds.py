"""Celery tasks (see reviews/tasks.py)."""
