"""Statistics of the archive: the figures equal direct counts, the charts are accessible SVG, the page is flat."""

import re
from io import BytesIO

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from archive import statistics
from archive.models import Record, RecordGrade
from tests.factories import CallClassFactory, CallFactory, ProjectFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

UNITS = ["华东师范大学", "国家开放大学", "江苏开放大学", "深圳职业技术大学", "北京老年大学", "上海开放大学",
         "天津职业大学", "西南大学", "湖南开放大学", "广西开放大学", "陕西师范大学", "长沙社区大学"]
FIELDS = ["社区教育", "老年教育", "学分银行", "教育数字化", ""]
STATES = ["ongoing", "completed", "completed", "terminated", "revoked"]
GRADES = ["excellent", "good", "pass", "fail", "good"]


def make_records(count, start=0):
    """``count`` varied records: years, classes, units (unevenly), fields, states and grades."""
    records = []
    for i in range(start, start + count):
        state = STATES[i % len(STATES)]
        records.append(Record(
            number=f"CAEA{2016 + i % 7}{'AB'[i % 2]}{i:03d}",
            title=f"课题{i}",
            class_code="AB"[i % 2],
            class_name=["学术性课题", "专项课题"][i % 2],
            year=2016 + i % 7,
            pi_name="王建国",
            unit_name=UNITS[min(i % 15, len(UNITS) - 1)],  # the last unit four times as often
            field=FIELDS[i % len(FIELDS)],
            state=state,
            grade=GRADES[i % len(GRADES)] if state == "completed" else "",
            source="import",
        ))
    Record.objects.bulk_create(records)


def test_projects_per_year_and_class_equal_direct_counts():
    make_records(30)

    section = statistics.per_year_and_class()

    assert section.headers == ("Year", "A 学术性课题", "B 专项课题", "Total")
    years = sorted(set(Record.objects.values_list("year", flat=True)))
    assert [row[0] for row in section.rows] == years
    for year, a, b, total in section.rows:
        assert a == Record.objects.filter(year=year, class_code="A").count()
        assert b == Record.objects.filter(year=year, class_code="B").count()
        assert total == Record.objects.filter(year=year).count()
    assert sum(row[-1] for row in section.rows) == 30


def test_grade_distribution_equals_direct_counts():
    make_records(30)

    section = statistics.grade_distribution()

    assert [row[1] for row in section.rows] == [Record.objects.filter(grade=g).count() for g in RecordGrade.values]
    assert sum(row[1] for row in section.rows) == Record.objects.filter(state="completed").count()


def test_top_units_are_the_ten_with_most_projects():
    make_records(40)

    section = statistics.top_units()

    assert len(section.rows) == 10
    for unit, count in section.rows:
        assert count == Record.objects.filter(unit_name=unit).count()
    counts = [count for _unit, count in section.rows]
    assert counts == sorted(counts, reverse=True)
    left_out = set(UNITS) - {unit for unit, _count in section.rows}
    assert all(Record.objects.filter(unit_name=unit).count() <= counts[-1] for unit in left_out)


def test_projects_per_field_count_the_records_without_one_together():
    make_records(20)

    rows = dict(statistics.per_field().rows)

    assert rows["No field given"] == Record.objects.filter(field="").count()
    assert rows["社区教育"] == Record.objects.filter(field="社区教育").count()
    assert sum(rows.values()) == 20


def test_approval_rate_per_call_is_confirmed_over_submitted(applicant):
    call = CallFactory(year=2021, state="decided")
    klass = CallClassFactory(call=call, code="A")
    states = ["active", "completed", "terminated", "revoked", "midterm_review", "completion_review",
              "not_approved", "ineligible", "publicity", "withdrawn"]
    for n, state in enumerate(states, start=1):
        ProjectFactory(call_class=klass, state=state, receipt_number=f"SB2021{n:05d}")
    ProjectFactory(call_class=klass, state="draft")  # never submitted: not counted
    CallFactory(year=2024)  # no application yet: no rate

    section = statistics.approval_rates()

    assert section.rows == ((call.title, 2021, 10, 6, 0.6),)
    assert section.display_rows()[0][-1] == "60.0%"


def test_the_page_is_public_and_draws_accessible_charts_with_their_tables(client):
    make_records(12)
    Record.objects.filter(number="CAEA2016A000").update(unit_name='<script>alert("单位")</script>')

    response = client.get(reverse("archive-statistics"))

    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<svg") == 5 and html.count('role="img"') == 5
    assert html.count("<table") >= 5
    assert '<title id="chart-per-year-title">Projects per year and class</title>' in html
    assert 'aria-label="Top 10 units"' in html
    assert "<script>alert" not in html and "&lt;script&gt;alert(&quot;单位&quot;)" in html
    # The charts need no JavaScript: the only script is the site's own static file (base.html).
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/js/keti.js" defer>']
    assert "cdn" not in html.lower()


def test_an_empty_archive_still_has_a_page(client):
    response = client.get(reverse("archive-statistics"))

    assert response.status_code == 200
    assert "No data yet." in response.content.decode()


def test_the_figures_download_as_a_workbook_one_sheet_per_table(client):
    make_records(25)

    response = client.get(reverse("archive-statistics-xlsx"))

    assert response.status_code == 200
    workbook = load_workbook(BytesIO(response.content))
    assert len(workbook.sheetnames) == 5
    by_year = workbook[workbook.sheetnames[0]]
    rows = list(by_year.iter_rows(values_only=True))
    assert rows[0] == ("Year", "A 学术性课题", "B 专项课题", "Total")
    assert [tuple(row) for row in rows[1:]] == [tuple(row) for row in statistics.per_year_and_class().rows]


def page_queries(client):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("archive-statistics")).status_code == 200
    return len(queries)


def test_the_page_does_as_many_queries_with_5_records_as_with_50(client):
    klass = CallClassFactory(call=CallFactory(year=2021, state="decided"), code="A")
    ProjectFactory(call_class=klass, state="active", receipt_number="SB202100001")
    make_records(5)
    few = page_queries(client)

    make_records(45, start=5)
    ProjectFactory(call_class=CallClassFactory(call=CallFactory(year=2022, state="decided"), code="B"),
                   state="not_approved", receipt_number="SB202200001")
    many = page_queries(client)

    assert Record.objects.count() == 50
    assert few == many
