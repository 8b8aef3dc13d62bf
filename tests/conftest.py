import pytest
from django.core.cache import cache
from django.utils import translation

from accounts import roles
from tests.factories import InstitutionFactory, UserFactory

# With a broker configured, tasks run in a real Celery worker (CI's run on the production stack).
pytest_plugins = ["tests.broker_worker"]


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SEARCH_INDEX_DIR = tmp_path / "index"
    # Real hashing costs ~0.2 s a user; the tests create hundreds.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Rate-limit counters live in the cache: each test starts with none.
    cache.clear()


@pytest.fixture
def django_capture_on_commit_callbacks(request):
    """pytest-django's fixture, or on the production stack its version for real transactions."""
    from django.test import TestCase

    from tests.broker_worker import broker_in_use, capture_on_commit_callbacks_in_a_real_transaction

    if broker_in_use() and request.node.get_closest_marker("rolled_back") is None:
        return capture_on_commit_callbacks_in_a_real_transaction
    return TestCase.captureOnCommitCallbacks


@pytest.fixture
def english(client):
    """Messages are compared in English (the msgids); pages are asked for in English too."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def unit(db):
    return InstitutionFactory(name="华东师范大学")


@pytest.fixture
def other_unit(db):
    return InstitutionFactory(name="国家开放大学")


@pytest.fixture
def applicant(unit):
    return UserFactory(username="applicant", institution=unit)


@pytest.fixture
def secretary(other_unit):
    return UserFactory(username="secretary", institution=other_unit, role=roles.SECRETARIAT)


@pytest.fixture
def unit_admin(unit):
    return UserFactory(username="unitadmin", institution=unit, role=roles.UNIT_ADMIN)
