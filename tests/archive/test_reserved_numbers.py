"""A project number that an imported record of an earlier year carries is never given to a new project."""

import datetime as dt

import pytest
from django.utils import timezone

from archive.models import Record
from projects.services import perform
from tests.factories import CallClassFactory, ProjectFactory

pytestmark = pytest.mark.django_db


def test_confirmation_skips_numbers_the_archive_holds(secretary, django_capture_on_commit_callbacks):
    Record.objects.create(number="CAEA2023A001", title="往年课题", class_code="A", year=2023, pi_name="张三",
                          unit_name="江苏开放大学", state="completed", source="import")
    cls = CallClassFactory(code="A")
    project = ProjectFactory(call_class=cls, state="publicity", publicity_started_at=timezone.now() - dt.timedelta(days=8))
    with django_capture_on_commit_callbacks(execute=True):
        perform(project, "confirm", by=secretary)
    assert project.number == "CAEA2023A002"
    assert Record.objects.get(number="CAEA2023A002").source == "workflow"  # the archive follows the workflow
