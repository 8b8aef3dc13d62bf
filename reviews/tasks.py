"""Celery tasks of the review app (thin wrappers; one module per area, registered here)."""

from .tasks_pool import *  # noqa: F401,F403
from .tasks_reminders import *  # noqa: F401,F403
from .tasks_rounds import *  # noqa: F401,F403
