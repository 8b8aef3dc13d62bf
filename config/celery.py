"""The Celery application.

Without ``CELERY_BROKER_URL`` the settings make every task run eagerly, in the
process that schedules it, so the demo and the tests need no broker.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("keti")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# shared_task binds to the *current* app, which Celery keeps per thread; make
# ours the default so tasks scheduled from other threads see its settings.
app.set_default()
