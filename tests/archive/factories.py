"""Archive Records for the tests: a factory, and the 40 rows of the sample sheet as Records."""

import datetime as dt
from pathlib import Path

import factory
from django.conf import settings
from openpyxl import load_workbook

from archive.models import ArchiveState, Record, RecordGrade, RecordSource

SAMPLE_SHEET = Path(settings.BASE_DIR) / "archive" / "samples" / "historical_projects.xlsx"

CLASSES = {"A类学术性课题": ("A", "学术性课题"), "B类专项课题": ("B", "专项课题"), "A": ("A", "学术性课题"), "B": ("B", "专项课题")}
STATES = {
    "在研": ArchiveState.ONGOING,
    "已结题": ArchiveState.COMPLETED,
    "已终止": ArchiveState.TERMINATED,
    "终止": ArchiveState.TERMINATED,
    "已撤项": ArchiveState.REVOKED,
}
GRADES = {"优秀": RecordGrade.EXCELLENT, "良好": RecordGrade.GOOD, "合格": RecordGrade.PASS, "不合格": RecordGrade.FAIL}


class RecordFactory(factory.django.DjangoModelFactory):
    """An imported Record with realistic Chinese data (not indexed: pass it to ``archive.search.index_records``)."""

    class Meta:
        model = Record

    number = factory.Sequence(lambda n: f"TEST2020B{n + 1:03d}")
    title = factory.Sequence(lambda n: f"社区老年学习共同体培育研究之{n}")
    class_code = "B"
    class_name = "专项课题"
    year = 2020
    pi_name = "王建国"
    unit_name = "江苏开放大学"
    members = "李晓东、张丽华"
    field = "老年教育"
    keywords = factory.LazyFunction(lambda: ["老年教育", "学习共同体", "社区治理"])
    abstract = "本课题调查社区老年学习共同体的组织形态与运行机制，提出培育路径与支持政策。"
    state = ArchiveState.ONGOING
    grade = ""
    outputs = "研究报告《社区老年学习共同体培育研究》"
    source = RecordSource.IMPORT


def read_sample_rows(path=SAMPLE_SHEET):
    """The sample sheet as dicts keyed by its Chinese headers (header row, then one project a row)."""
    sheet = load_workbook(path, read_only=True)["课题"]
    rows = sheet.iter_rows(values_only=True)
    headers = [str(h).strip() for h in next(rows)]
    return [dict(zip(headers, row)) for row in rows if any(cell not in (None, "") for cell in row)]


def _text(value):
    return "" if value is None else str(value).strip()


def _date(value):
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value).strip())


def sample_records():
    """Create the sheet's 40 projects as Records (the test's own loader, not ``archive.importer``)."""
    records = []
    for row in read_sample_rows():
        class_code, class_name = CLASSES[_text(row["课题类别"])]
        keywords = [k.strip() for k in _text(row["关键词"]).replace(";", "；").split("；") if k.strip()]
        records.append(
            RecordFactory(
                number=_text(row["课题编号"]),
                title=_text(row["课题名称"]),
                class_code=class_code,
                class_name=class_name,
                year=int(row["立项年度"]),
                pi_name=_text(row["负责人"]),
                unit_name=_text(row["所在单位"]),
                members=_text(row["课题组成员"]),
                field=_text(row["学科领域"]),
                keywords=keywords,
                abstract=_text(row["摘要"]),
                state=STATES[_text(row["状态"])],
                grade=GRADES.get(_text(row["结题等级"]), ""),
                completed_on=_date(row["结题时间"]),
                outputs="\n".join(line.strip() for line in _text(row["成果"]).splitlines() if line.strip()),
            )
        )
    return records


def make_record(number, **fields):
    """An imported Record with plain default values (not indexed), for the page and API tests."""
    values = {
        "title": f"社区教育研究{number}",
        "class_code": "A",
        "class_name": "学术性课题",
        "year": 2023,
        "pi_name": "王建国",
        "unit_name": "华东师范大学",
        "members": "李晓东、张丽华",
        "field": "成人教育学",
        "keywords": ["社区教育"],
        "abstract": "本课题研究社区教育的治理机制。",
        "state": "ongoing",
        "source": "import",
    }
    values.update(fields)
    return Record.objects.create(number=number, **values)
