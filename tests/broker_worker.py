"""The suite on the production stack: Celery tasks go through the broker to a real worker.

With ``CELERY_BROKER_URL`` set (CI's second run sets Redis), the settings stop running
tasks eagerly: ``.delay()`` publishes a message to the broker. This plugin then

- starts a Celery worker (Celery's own embedded ``WorkController``, consuming every queue
  of ``CELERY_TASK_ROUTES`` from the broker) in a thread of the test process, so that it
  sees the settings a test sets (the mail outbox, MEDIA_ROOT, the rules);
- runs every database test in real transactions (pytest-django's ``transaction=True``):
  the worker has its own database connection and reads only what was committed, as a
  worker on another machine would. Tests marked ``rolled_back`` stay in one transaction,
  with eager tasks, as on the embedded default:
  those that run the after-commit work themselves on their own clock (a conflict check
  "at" a date, a notification), and those that only read the demo's data, whose thousand
  side effects would each cost a document or a mail; ``tests/test_project_life.py``
  loads the demo with every side effect through the worker;
- waits, after a test publishes a task, until the worker has finished it and every task
  it published in turn, and raises in the test any exception a task raised, so a test
  reads the same world as with eager tasks, and a task the worker never receives (a
  queue nobody consumes) fails the test instead of passing unnoticed.

Without a broker the plugin does nothing.
"""

import threading
from contextlib import contextmanager

import pytest
from celery import signals
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction

TASK_TIMEOUT = 60  # seconds a test waits for the worker
OUTSTANDING = None  # the tasks on their way while the worker runs


def broker_in_use():
    return not settings.CELERY_TASK_ALWAYS_EAGER


def in_the_test_thread():
    return threading.current_thread() is threading.main_thread()


class Outstanding:
    """Tasks published and not yet finished by the worker, and the errors of those that failed."""

    def __init__(self):
        self.condition = threading.Condition()
        self.ids = set()
        self.errors = []

    def published(self, headers=None, **kwargs):
        with self.condition:
            self.ids.add(headers["id"])

    def finished(self, task_id=None, **kwargs):
        if in_the_test_thread():  # an eager task (a ``rolled_back`` test) is no worker's business
            return
        with self.condition:
            self.ids.discard(task_id)
            self.condition.notify_all()

    def failed(self, task_id=None, exception=None, **kwargs):
        if in_the_test_thread():  # an eager task's error reaches its test by itself
            return
        with self.condition:
            self.errors.append(exception)

    def wait_if_test_thread(self, **kwargs):
        # Only the test waits: a task that publishes another must not wait in the worker's one thread.
        if in_the_test_thread():
            self.wait()

    def wait(self):
        with self.condition:
            if not self.condition.wait_for(lambda: not self.ids, timeout=TASK_TIMEOUT):
                pending, self.ids = sorted(self.ids), set()
                raise AssertionError(f"the worker did not finish tasks {pending} within {TASK_TIMEOUT} s")
            errors, self.errors = self.errors, []
        if errors:
            raise errors[0]


@contextmanager
def capture_on_commit_callbacks_in_a_real_transaction(*, using=DEFAULT_DB_ALIAS, execute=False):
    """``captureOnCommitCallbacks`` for a test that runs in real transactions.

    Django's version relies on the test's own transaction, which never commits. Here the
    block is a transaction of its own: the callbacks it schedules are taken out before it
    commits (so, as with Django's, none runs by itself), and with ``execute`` they run after
    the commit, when the worker can read what they refer to.
    """
    callbacks = []
    connection = connections[using]
    with transaction.atomic(using=using):
        start = len(connection.run_on_commit)
        try:
            yield callbacks
        finally:
            callbacks.extend(callback for _, callback, _ in connection.run_on_commit[start:])
            del connection.run_on_commit[start:]
    if execute:
        for callback in list(callbacks):
            callback()  # outside any transaction: what it schedules in turn runs at once


def pytest_collection_modifyitems(config, items):
    if not broker_in_use():
        return
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker is None and "db" not in item.fixturenames or item.get_closest_marker("rolled_back"):
            continue
        options = dict(marker.kwargs) if marker else {}
        options["transaction"] = True
        item.add_marker(pytest.mark.django_db(**options), append=False)


@pytest.fixture(scope="session", autouse=True)
def celery_worker_through_the_broker(request):
    if not broker_in_use():
        yield None
        return
    from celery.contrib.testing.worker import start_worker
    from django.db import connections

    from config.celery import app

    # The test database must exist before the worker may connect to it.
    request.getfixturevalue("django_db_setup")
    outstanding = Outstanding()
    handlers = [
        (signals.before_task_publish, outstanding.published),
        (signals.after_task_publish, outstanding.wait_if_test_thread),
        (signals.task_postrun, outstanding.finished),
        (signals.task_failure, outstanding.failed),
    ]

    def close_worker_connections(**kwargs):
        # The worker thread's own connections: none is left open across tests or at the end.
        if not in_the_test_thread():
            connections.close_all()

    handlers.insert(2, (signals.task_postrun, close_worker_connections))
    for signal, handler in handlers:
        signal.connect(handler, weak=False)
    global OUTSTANDING
    OUTSTANDING = outstanding
    queues = sorted({"celery", *(route["queue"] for route in settings.CELERY_TASK_ROUTES.values())})
    with app.connection() as connection:  # nothing left over from an earlier run
        for queue in queues:
            connection.default_channel.queue_purge(queue)
    with start_worker(app, pool="solo", concurrency=1, perform_ping_check=False, queues=queues,
                      shutdown_timeout=30, loglevel="WARNING") as worker:
        yield worker
    OUTSTANDING = None
    for signal, handler in handlers:
        signal.disconnect(handler)


@pytest.fixture(autouse=True)
def eager_tasks_when_rolled_back(request):
    """A ``rolled_back`` test keeps the embedded default's ways: its tasks run eagerly, inside
    its transaction (a worker could not read what the test never commits)."""
    if not broker_in_use() or request.node.get_closest_marker("rolled_back") is None:
        yield
        return
    from config.celery import app

    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = False


@pytest.fixture(autouse=True)
def tasks_settle_before_the_next_test(request, settings):
    """Tasks published by other threads (a live server's, a test's own) finish within their
    test: before its database is emptied and its settings (MEDIA_ROOT …) are restored, which
    taking both fixtures first makes sure of (the teardown runs in reverse order)."""
    if "_django_db_helper" in request.fixturenames or request.node.get_closest_marker("django_db"):
        request.getfixturevalue("_django_db_helper")
    yield
    if OUTSTANDING is not None:
        OUTSTANDING.wait()
