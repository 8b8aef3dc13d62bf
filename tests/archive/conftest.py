import pytest
from django.db import connection

from archive import search
from tests.archive.factories import sample_records

NEEDS_POSTGRES = (
    "the 'postgres' search backend needs PostgreSQL; this run uses "
    "{vendor} (CI runs the suite again with DATABASE_URL on PostgreSQL, or use .ci/with-postgres.sh)"
)


@pytest.fixture(params=["whoosh", "postgres"])
def search_backend(request, db, settings, tmp_path):
    """Each test that takes it runs once per search backend, on a fresh index."""
    if request.param == "postgres" and connection.vendor != "postgresql":
        pytest.skip(NEEDS_POSTGRES.format(vendor=connection.vendor))
    settings.SEARCH_BACKEND = request.param
    settings.SEARCH_INDEX_DIR = tmp_path / f"index-{request.param}"
    return request.param


@pytest.fixture
def samples(search_backend):
    """The 40 projects of archive/samples/historical_projects.xlsx as Records, indexed."""
    records = sample_records()
    search.index_records(records)
    return records
