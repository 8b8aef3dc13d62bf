"""Which engines the suite runs on: on the production stack (CI's second run), the database
is PostgreSQL and a task scheduled by the code goes through Redis to a Celery worker."""

import os
import threading

import pytest
from celery import signals
from django.conf import settings
from django.core import mail
from django.db import connection
from django.urls import reverse

from accounts.models import TitleLevel
from config.celery import app

ON_THE_STACK = bool(os.environ.get("CELERY_BROKER_URL"))
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not ON_THE_STACK, reason="the embedded default runs tasks eagerly (no broker)"),
]


def test_the_stack_is_postgresql_and_redis():
    assert connection.vendor == "postgresql"
    assert not settings.CELERY_TASK_ALWAYS_EAGER
    assert app.connection_for_write().transport_cls == "redis"
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"


def test_a_registration_mail_is_sent_by_the_worker_from_a_message_on_redis(client, unit, settings):
    runs = []

    def seen(sender=None, task=None, **kwargs):
        runs.append((task.name, task.request.is_eager, task.request.delivery_info,
                     threading.current_thread() is threading.main_thread()))

    signals.task_prerun.connect(seen, weak=False)
    try:
        response = client.post(reverse("register"), {
            "username": "zhangxd", "real_name": "张晓东", "email": "zhangxd@ecnu.edu.cn",
            "phone": "021-62232000", "institution": unit.pk, "title": "副教授",
            "title_level": TitleLevel.ASSOCIATE_SENIOR,
            "password1": "Xuexi-Shehui-2023", "password2": "Xuexi-Shehui-2023",
        })
    finally:
        signals.task_prerun.disconnect(seen)
    assert response.status_code == 302
    [(name, eager, delivery, in_test_thread)] = runs
    assert name == "accounts.tasks.send_confirmation_email"
    assert eager is False and in_test_thread is False
    assert delivery["routing_key"] == "celery"  # it came off the broker's queue
    assert [message.to for message in mail.outbox] == [["zhangxd@ecnu.edu.cn"]]
