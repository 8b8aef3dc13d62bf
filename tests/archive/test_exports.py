"""Exports of the archive in the import sheet's format: a round trip, the year export page and who may use it."""

import datetime as dt
from io import BytesIO
from pathlib import Path

import pytest
from django.conf import settings
from django.forms.models import model_to_dict
from django.urls import reverse
from openpyxl import load_workbook

from archive.exports import records_workbook
from archive.importer import HEADERS, import_sheet
from archive.models import Record

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

SAMPLE = Path(settings.BASE_DIR) / "archive" / "samples" / "historical_projects.xlsx"

def snapshot():
    """Every record's public values, by number."""
    fields = [f.name for f in Record._meta.fields if f.name not in ("id", "updated_at", "search_text", "project")]
    return {record.number: model_to_dict(record, fields=fields) for record in Record.objects.all()}


def read(data):
    workbook = load_workbook(BytesIO(data))
    return workbook, workbook["课题"]


def make_record(number, **fields):
    values = {
        "title": "社区教育治理研究",
        "class_code": "A",
        "class_name": "学术性课题",
        "year": 2021,
        "pi_name": "王建国",
        "unit_name": "华东师范大学",
        "state": "ongoing",
        "source": "import",
    }
    values.update(fields)
    return Record.objects.create(number=number, **values)


def test_an_export_imports_back_as_the_same_records():
    import_sheet(SAMPLE)
    before = snapshot()

    data = records_workbook(Record.objects.all())
    report = import_sheet(BytesIO(data))

    assert report.ok, [str(e) for e in report.errors]
    assert (report.created, report.updated) == (0, 40)
    assert Record.objects.count() == 40
    assert snapshot() == before


def test_an_export_rebuilds_the_archive_from_nothing():
    import_sheet(SAMPLE)
    before = snapshot()
    data = records_workbook(Record.objects.all())
    Record.objects.all().delete()

    report = import_sheet(BytesIO(data))

    assert report.created == 40
    assert snapshot() == before


def test_the_workbook_has_the_import_headers_widths_and_one_row_a_record():
    make_record("CAEA2021A001", members="李晓东、张丽华", keywords=["社区教育", "基层治理"], state="completed",
                grade="good", completed_on=dt.date(2023, 6, 30), outputs="论文一\n研究报告二")
    make_record("CAEA2021C002", class_code="C", class_name="青年课题", state="revoked")

    workbook, sheet = read(records_workbook(Record.objects.order_by("number")))

    assert workbook.sheetnames == ["课题"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == HEADERS
    assert rows[1] == (
        "CAEA2021A001", "社区教育治理研究", "A类学术性课题", 2021, "王建国", "华东师范大学", "李晓东、张丽华", None,
        "社区教育；基层治理", None, "已结题", "良好", dt.datetime(2023, 6, 30), "论文一\n研究报告二",
    )
    assert rows[2][2] == "C类青年课题" and rows[2][10] == "已撤项"
    assert sheet.column_dimensions["B"].width > 30 and sheet.column_dimensions["N"].width > 30


def test_the_secretariat_exports_one_year(client, secretary):
    make_record("CAEA2021A001")
    make_record("CAEA2021B002", class_code="B", class_name="专项课题")
    make_record("CAEA2022A001", year=2022)
    client.force_login(secretary)

    response = client.get(reverse("archive-export-year"), {"year": "2021"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert 'filename="archive-2021.xlsx"' in response["Content-Disposition"]
    _workbook, sheet = read(response.content)
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["CAEA2021A001", "CAEA2021B002"]


def test_without_a_year_the_whole_archive_is_exported(client, secretary):
    make_record("CAEA2021A001")
    make_record("CAEA2022A001", year=2022)
    client.force_login(secretary)

    response = client.get(reverse("archive-export-year"))

    _workbook, sheet = read(response.content)
    assert sheet.max_row == 3


def test_a_year_that_is_not_one_is_refused(client, secretary):
    client.force_login(secretary)

    assert client.get(reverse("archive-export-year"), {"year": "20x1"}).status_code == 400


def test_only_the_secretariat_may_export_a_year(client, applicant):
    url = reverse("archive-export-year")

    anonymous = client.get(url, {"year": "2021"})
    assert anonymous.status_code == 302 and reverse("login") in anonymous["Location"]

    client.force_login(applicant)
    assert client.get(url, {"year": "2021"}).status_code == 403
