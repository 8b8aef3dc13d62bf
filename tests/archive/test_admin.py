"""The archive in the admin: imported records can be corrected, managed ones only read."""

import pytest
from django.urls import reverse

from archive.models import Record

pytestmark = pytest.mark.django_db


def record(source, number):
    return Record.objects.create(number=number, title="社区教育研究", class_code="A", year=2019, pi_name="张三",
                                 unit_name="江苏开放大学", state="completed", source=source)


def test_secretary_corrects_an_imported_record_but_not_a_managed_one(client, secretary):
    secretary.is_staff = True
    secretary.save()
    client.force_login(secretary)
    imported, managed = record("import", "CAEA2019A001"), record("workflow", "CAEA2019A002")
    change = reverse("admin:archive_record_change", args=[imported.pk])
    page = client.get(change)
    assert page.status_code == 200 and 'name="title"' in page.content.decode()
    managed_page = client.get(reverse("admin:archive_record_change", args=[managed.pk])).content.decode()
    assert 'name="title"' not in managed_page
    response = client.post(reverse("admin:archive_record_change", args=[managed.pk]), {"title": "被改"})
    managed.refresh_from_db()
    assert response.status_code in (302, 403) and managed.title == "社区教育研究"
