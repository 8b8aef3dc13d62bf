"""Import of historical projects (往年课题导入): the sheet's rules, all or nothing, the command, the page.

Bad sheets are built in memory with openpyxl, one fault each, and every fault must
come back with its Excel row number and its reason while nothing is imported.
"""

import datetime as dt
import zipfile
from io import BytesIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook

from archive.importer import HEADERS, import_sheet, read_sheet
from archive.models import Record
from tests.factories import ProjectFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

SAMPLE = Path(settings.BASE_DIR) / "archive" / "samples" / "historical_projects.xlsx"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

GOOD = {
    "课题编号": "CAEA2019A001",
    "课题名称": "社区教育参与基层治理的机制研究",
    "课题类别": "A类学术性课题",
    "立项年度": 2019,
    "负责人": "王建国",
    "所在单位": "华东师范大学",
    "课题组成员": "李晓东、 张丽华",
    "学科领域": "社区教育",
    "关键词": "社区教育； 基层治理;学习型社区",
    "摘要": "本课题研究社区教育参与基层治理的机制。",
    "状态": "已结题",
    "结题等级": "优秀",
    "结题时间": "2021-06-30",
    "成果": "论文《社区教育与基层治理》，《中国成人教育》，2020年第5期\n\n 研究报告《社区教育参与基层治理的机制研究》 ",
}


def row(**changes):
    """A valid row with some cells changed (by header), in the order of the sheet."""
    values = dict(GOOD)
    values.update(changes)
    return [values[header] for header in HEADERS]


def numbered(n, **changes):
    """A valid row of its own number and title, with some cells changed."""
    return row(**{"课题编号": f"CAEA2019A{n:03d}", "课题名称": f"社区教育研究之{n}", **changes})


def sheet(*rows, header=HEADERS, title="课题"):
    """An .xlsx in memory: the header, then the rows."""
    workbook = Workbook()
    ws = workbook.active
    ws.title = title
    ws.append(list(header))
    for cells in rows:
        ws.append(list(cells))
    buffer = BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return buffer


def messages(report):
    return [str(error) for error in report.errors]


# ---- the sample sheet --------------------------------------------------------------------------


def test_the_sample_sheet_imports_its_40_projects():
    report = import_sheet(SAMPLE)

    assert report.ok and report.imported
    assert (report.total, report.created, report.updated, report.skipped) == (40, 40, 0, 0)
    assert Record.objects.count() == 40
    assert set(Record.objects.values_list("source", flat=True)) == {"import"}
    record = Record.objects.get(number="CAEA2016B002")
    assert record.title == "“15分钟社区学习圈”建设的上海经验研究"
    assert (record.class_code, record.class_name, record.year) == ("B", "专项课题", 2016)
    assert record.members == "马辉、赵梅、郝卫刚、金华平"
    assert record.keywords == ["社区学习中心", "社区教育", "社区教育学院"]
    assert (record.state, record.grade, record.completed_on) == ("completed", "excellent", dt.date(2017, 10, 10))
    assert len(record.output_list) == 3
    assert Record.objects.get(number="CAEA2016A006").state == "terminated"  # written 终止
    ongoing = Record.objects.get(number="CAEA2023B004")
    assert (ongoing.state, ongoing.grade, ongoing.completed_on, ongoing.outputs) == ("ongoing", "", None, "")


def test_reading_a_sheet_checks_it_and_writes_nothing():
    report = read_sheet(SAMPLE)

    assert report.ok and not report.imported
    assert (report.total, len(report.rows), len(report.numbers)) == (40, 40, 40)
    assert Record.objects.count() == 0


def test_importing_the_same_sheet_twice_updates_and_never_duplicates():
    import_sheet(SAMPLE)
    Record.objects.filter(number="CAEA2016B002").update(title="被改动的标题")

    report = import_sheet(SAMPLE)

    assert (report.created, report.updated, report.skipped) == (0, 40, 0)
    assert Record.objects.count() == 40
    assert Record.objects.get(number="CAEA2016B002").title == "“15分钟社区学习圈”建设的上海经验研究"


def test_a_corrected_sheet_updates_the_record_in_place():
    import_sheet(sheet(row()))
    first = Record.objects.get()

    report = import_sheet(sheet(row(课题名称="修改后的课题名称", 状态="在研", 结题等级=None, 结题时间=None)))

    assert (report.created, report.updated) == (0, 1)
    record = Record.objects.get()
    assert record.pk == first.pk
    assert (record.title, record.state, record.grade, record.completed_on) == ("修改后的课题名称", "ongoing", "", None)


def test_cells_are_trimmed_and_split():
    import_sheet(sheet(row()))

    record = Record.objects.get()
    assert record.members == "李晓东、张丽华"
    assert record.keywords == ["社区教育", "基层治理", "学习型社区"]
    assert record.output_list == ["论文《社区教育与基层治理》，《中国成人教育》，2020年第5期", "研究报告《社区教育参与基层治理的机制研究》"]
    assert record.outputs.count("\n") == 1


def test_lenient_forms_are_accepted():
    rows = [
        numbered(1, 立项年度="2019", 课题类别="B", 结题时间=dt.datetime(2021, 6, 30)),
        numbered(2, 课题类别="a", 状态="已终止", 结题等级="", 结题时间=""),
        numbered(3, 立项年度=2019.0, 状态="已撤项", 结题等级=None, 结题时间=None),
    ]
    report = import_sheet(sheet(*rows))

    assert report.ok, messages(report)
    records = {r.number: r for r in Record.objects.all()}
    assert records["CAEA2019A001"].class_code == "B" and records["CAEA2019A001"].completed_on == dt.date(2021, 6, 30)
    assert records["CAEA2019A002"].class_name == "学术性课题" and records["CAEA2019A002"].state == "terminated"
    assert records["CAEA2019A003"].year == 2019 and records["CAEA2019A003"].state == "revoked"


def test_blank_rows_are_ignored_and_rows_keep_their_excel_numbers():
    report = import_sheet(sheet(numbered(1), [None] * 14, numbered(2, 立项年度="20x1"), [None] * 14))

    assert report.total == 2
    assert messages(report) == ["Row 4: the year “20x1” is not a four-digit year."]


# ---- bad sheets: reported by row, nothing imported ------------------------------------------------


def test_a_wrong_header_is_named_with_its_column():
    header = list(HEADERS)
    header[2] = "类别"
    report = import_sheet(sheet(numbered(1), header=header))

    assert messages(report) == ["Row 1: column C should be headed “课题类别” but is headed “类别”."]
    assert report.blocked and Record.objects.count() == 0


def test_a_missing_header_is_named_with_its_column():
    report = import_sheet(sheet(numbered(1)[:13], header=HEADERS[:13]))

    assert messages(report) == ["Row 1: column N should be headed “成果” but is empty."]
    assert Record.objects.count() == 0


def test_an_extra_column_is_refused():
    report = import_sheet(sheet(numbered(1), header=[*HEADERS, "备注"]))

    assert messages(report) == ["Row 1: column O has the header “备注”, but the sheet has 14 columns only."]


def test_a_duplicate_number_is_reported_on_the_second_row_naming_the_first():
    report = import_sheet(sheet(numbered(1), numbered(2), numbered(1)))

    assert messages(report) == ["Row 4: the project number “CAEA2019A001” is already used in row 2."]
    assert report.blocked and Record.objects.count() == 0


def test_a_bad_year_is_reported():
    rows = [numbered(n) for n in range(1, 6)] + [numbered(6, 立项年度="20x1")]
    report = import_sheet(sheet(*rows))

    assert messages(report) == ["Row 7: the year “20x1” is not a four-digit year."]
    assert Record.objects.count() == 0


def test_a_year_out_of_range_is_reported():
    too_late = timezone.localdate().year + 2
    report = import_sheet(sheet(numbered(1, 立项年度=1975), numbered(2, 立项年度=too_late)))

    assert messages(report) == [
        f"Row 2: the year 1975 is not between 1980 and {too_late - 1}.",
        f"Row 3: the year {too_late} is not between 1980 and {too_late - 1}.",
    ]


def test_a_bad_class_is_reported():
    report = import_sheet(sheet(numbered(1, 课题类别="C类青年课题")))

    assert messages(report) == ["Row 2: the class “C类青年课题” is not one of A类学术性课题、B类专项课题、A、B."]
    assert Record.objects.count() == 0


def test_an_empty_title_is_reported():
    report = import_sheet(sheet(numbered(1), row(课题编号="CAEA2019A002", 课题名称="  ")))

    assert messages(report) == ["Row 3: the title (课题名称) is missing."]
    assert Record.objects.count() == 0


def test_a_title_too_long_is_reported():
    report = import_sheet(sheet(numbered(1, 课题名称="研" * 201)))

    assert messages(report) == ["Row 2: the title has 201 characters; at most 200 are allowed."]


def test_a_bad_number_is_reported():
    report = import_sheet(sheet(row(课题编号="第一号"), row(课题编号=None)))

    assert messages(report) == [
        "Row 2: the project number “第一号” is not of the form CAEA2021A001.",
        "Row 3: the project number (课题编号) is missing.",
    ]


def test_grade_and_date_belong_to_completed_projects_only():
    rows = [
        numbered(1, 状态="在研", 结题时间=None),
        numbered(2, 状态="在研", 结题等级=None),
        numbered(3, 结题等级="甲等"),
        numbered(4, 结题时间="2021.13.01"),
        numbered(5, 结题时间="2018-05-01"),
        numbered(6, 状态="进行中"),
    ]
    report = import_sheet(sheet(*rows))

    assert messages(report) == [
        "Row 2: a completion grade is given but the state is “在研”; only completed projects (已结题) have one.",
        "Row 3: a completion date is given but the state is “在研”; only completed projects (已结题) have one.",
        "Row 4: the grade “甲等” is not one of 优秀、良好、合格、不合格.",
        "Row 5: the completion date “2021.13.01” is not a date of the form YYYY-MM-DD.",
        "Row 6: the completion date 2018-05-01 is earlier than the year approved (2019).",
        "Row 7: the state “进行中” is not one of 在研、已结题、已终止、终止、已撤项.",
    ]
    assert Record.objects.count() == 0


def test_every_bad_row_is_reported_at_once_with_all_its_reasons():
    rows = [numbered(1, 负责人=None, 所在单位=""), numbered(2), numbered(3, 立项年度=None)]
    report = import_sheet(sheet(*rows))

    assert messages(report) == [
        "Row 2: the principal investigator (负责人) is missing.",
        "Row 2: the unit (所在单位) is missing.",
        "Row 4: the year approved (立项年度) is missing.",
    ]
    assert report.errors_by_row() == [
        (2, ["the principal investigator (负责人) is missing.", "the unit (所在单位) is missing."]),
        (4, ["the year approved (立项年度) is missing."]),
    ]
    assert (report.created, report.skipped) == (0, 3)


def test_skip_invalid_imports_the_valid_rows_and_reports_the_others():
    report = import_sheet(sheet(numbered(1), numbered(2, 课题名称=""), numbered(3)), skip_invalid=True)

    assert report.imported and not report.blocked
    assert (report.created, report.updated, report.skipped) == (2, 0, 1)
    assert messages(report) == ["Row 3: the title (课题名称) is missing."]
    assert sorted(Record.objects.values_list("number", flat=True)) == ["CAEA2019A001", "CAEA2019A003"]


def test_skip_invalid_does_not_pass_a_wrong_header():
    header = list(HEADERS)
    header[0] = "编号"
    report = import_sheet(sheet(numbered(1), header=header), skip_invalid=True)

    assert report.blocked and Record.objects.count() == 0


# ---- managed projects, files that are not sheets ---------------------------------------------------


def make_workflow_record(number):
    return Record.objects.create(number=number, title="工作流中的课题", class_code="A", class_name="学术性课题",
                                 year=2019, pi_name="李晓东", unit_name="国家开放大学", state="ongoing",
                                 source="workflow")


def test_a_number_of_a_managed_project_is_an_error():
    make_workflow_record("CAEA2019A002")

    report = import_sheet(sheet(numbered(1), numbered(2)))

    assert messages(report) == [
        "Row 3: the project number “CAEA2019A002” belongs to a project managed in Keti; the archive does not "
        "overwrite it."
    ]
    assert Record.objects.count() == 1


def test_skip_invalid_leaves_a_managed_record_alone():
    make_workflow_record("CAEA2019A002")

    report = import_sheet(sheet(numbered(1), numbered(2)), skip_invalid=True)

    assert (report.created, report.updated, report.skipped) == (1, 0, 1)
    assert Record.objects.get(number="CAEA2019A002").title == "工作流中的课题"


def test_the_number_of_a_project_in_the_workflow_is_an_error_even_before_its_record(applicant):
    ProjectFactory(state="active", number="CAEA2019A001", receipt_number="SB201900001", pi=applicant)

    report = import_sheet(sheet(numbered(1)))

    assert "belongs to a project managed in Keti" in messages(report)[0]
    assert Record.objects.count() == 0


@pytest.mark.parametrize(
    "content",
    [b"\xd0\xcf\x11\xe0 an old .xls file", b"PK\x03\x04 broken zip", b"plain text, not a workbook"],
)
def test_a_file_that_is_not_a_workbook_is_refused(content):
    report = import_sheet(BytesIO(content))

    assert report.blocked and report.fatal
    assert messages(report) == ["The file is not an Excel workbook (.xlsx)."]


def test_a_zip_that_is_not_a_workbook_is_refused():
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")

    report = import_sheet(buffer)

    assert messages(report) == ["The file is a zip archive but not an Excel workbook (.xlsx)."]


def test_a_workbook_without_the_sheet_is_refused():
    report = import_sheet(sheet(numbered(1), title="Sheet1"))

    assert messages(report) == ["The workbook has no sheet named “课题” (its sheets: Sheet1)."]


# ---- one transaction, indexing after the commit ----------------------------------------------------


def test_a_failure_during_the_import_leaves_the_database_as_it_was(monkeypatch):
    import_sheet(sheet(numbered(1)))

    def fail(*args, **kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(QuerySet, "bulk_update", fail)
    with pytest.raises(RuntimeError):
        import_sheet(sheet(numbered(1, 课题名称="新标题"), numbered(2), numbered(3)))

    assert list(Record.objects.values_list("number", "title")) == [("CAEA2019A001", "社区教育研究之1")]


def test_the_imported_numbers_are_indexed_after_the_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        import_sheet(sheet(numbered(1), numbered(2)))
    assert len(callbacks) == 1

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        import_sheet(sheet(numbered(1), numbered(2, 立项年度="x")))
    assert callbacks == []  # nothing imported, nothing to index


def test_the_imported_records_can_be_found_once_committed(django_capture_on_commit_callbacks):
    from archive import search

    with django_capture_on_commit_callbacks(execute=True):
        import_sheet(SAMPLE)

    result = search.search("学分银行")
    assert result.count > 0
    assert all(hit.number.startswith("CAEA") for hit in result.hits)


# ---- the command -------------------------------------------------------------------------------------


def save(buffer, tmp_path, name="sheet.xlsx"):
    target = tmp_path / name
    target.write_bytes(buffer.getvalue())
    return target


def test_the_command_imports_and_prints_the_report(capsys):
    call_command("import_archive", str(SAMPLE))

    assert "40 created, 0 updated, 0 skipped." in capsys.readouterr().out
    assert Record.objects.count() == 40


def test_the_command_fails_with_status_1_when_errors_prevent_the_import(tmp_path, capsys):
    target = save(sheet(numbered(1), numbered(2, 课题类别="C")), tmp_path)

    with pytest.raises(CommandError) as refused:
        call_command("import_archive", str(target))

    assert refused.value.returncode == 1
    assert "Nothing was imported" in str(refused.value)
    assert "Row 3: the class “C” is not one of" in capsys.readouterr().err
    assert Record.objects.count() == 0


def test_the_command_skips_invalid_rows_when_asked(tmp_path, capsys):
    target = save(sheet(numbered(1), numbered(2, 课题类别="C"), numbered(3)), tmp_path)

    call_command("import_archive", str(target), "--skip-invalid")

    captured = capsys.readouterr()
    assert "2 created, 0 updated, 1 skipped." in captured.out
    assert "Row 3:" in captured.err
    assert Record.objects.count() == 2


def test_the_command_refuses_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_archive", str(tmp_path / "nowhere.xlsx"))


# ---- the upload page ---------------------------------------------------------------------------------


def upload(content, name="课题.xlsx"):
    return SimpleUploadedFile(name, content, content_type=XLSX)


def test_the_secretariat_uploads_a_sheet_and_reads_the_report(client, secretary):
    client.force_login(secretary)
    url = reverse("archive-import")

    page = client.get(url)
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.content.decode()

    response = client.post(url, {"sheet": upload(SAMPLE.read_bytes())})

    assert response.status_code == 200
    assert response.context["report"].created == 40
    assert "40 created, 0 updated, 0 skipped." in response.content.decode()
    assert Record.objects.count() == 40


def test_the_report_page_lists_the_errors_by_row(client, secretary):
    client.force_login(secretary)
    bad = sheet(numbered(1), numbered(2, 立项年度="20x1"), numbered(1))

    response = client.post(reverse("archive-import"), {"sheet": upload(bad.getvalue())})

    text = response.content.decode()
    assert "Nothing was imported" in text
    assert "the year “20x1” is not a four-digit year." in text
    assert "already used in row 2." in text
    assert Record.objects.count() == 0


def test_the_page_imports_the_valid_rows_when_asked(client, secretary):
    client.force_login(secretary)
    bad = sheet(numbered(1), numbered(2, 立项年度="20x1"), numbered(3))

    response = client.post(reverse("archive-import"), {"sheet": upload(bad.getvalue()), "skip_invalid": "on"})

    assert "2 created, 0 updated, 1 skipped." in response.content.decode()
    assert Record.objects.count() == 2


def test_a_file_renamed_xlsx_is_refused_with_a_message(client, secretary):
    client.force_login(secretary)

    response = client.post(reverse("archive-import"), {"sheet": upload(b"name,title\n1,2\n", name="课题.xlsx")})

    assert response.status_code == 200
    assert "report" not in response.context
    assert response.context["form"].errors["sheet"] == ["The file is not an Excel workbook (.xlsx)."]
    assert "The file is not an Excel workbook (.xlsx)." in response.content.decode()
    assert Record.objects.count() == 0


def test_other_extensions_and_large_files_are_refused(client, secretary):
    client.force_login(secretary)
    url = reverse("archive-import")

    csv = client.post(url, {"sheet": upload(SAMPLE.read_bytes(), name="课题.csv")})
    assert csv.context["form"].errors["sheet"] == ["Choose an Excel workbook ending in .xlsx."]

    big = client.post(url, {"sheet": upload(b"\0" * (10 * 2**20 + 1))})
    assert big.context["form"].errors["sheet"] == ["The file is larger than the 10.0\xa0MB allowed."]
    assert Record.objects.count() == 0


def test_only_the_secretariat_may_import(client, applicant, unit_admin):
    url = reverse("archive-import")

    anonymous = client.get(url)
    assert anonymous.status_code == 302 and reverse("login") in anonymous["Location"]

    for user in (applicant, unit_admin):
        client.force_login(user)
        assert client.get(url).status_code == 403
        assert client.post(url, {"sheet": upload(SAMPLE.read_bytes())}).status_code == 403
    assert Record.objects.count() == 0
