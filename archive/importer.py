"""Import of historical projects (往年课题) from the association's Excel sheet into the archive.

The sheet is the one associations keep today (``archive/samples/README.md``): one
sheet named 课题, one project a row, fourteen columns under fixed Chinese headers.
``read_sheet`` reads and checks it without touching the database's records;
``import_sheet`` imports what it read, all or nothing, in one transaction:

- a sheet with any error imports nothing, unless ``skip_invalid`` is given, in which
  case the valid rows are imported and the bad ones reported;
- a project number already in the archive is updated, never duplicated, so the
  same sheet can be imported again after a correction;
- a number that belongs to a project managed in Keti (source "workflow") is an
  error: the archive never overwrites the workflow's own record;
- once committed, the imported numbers are (re)indexed by a Celery task.

Every problem is reported with its Excel row number and a reason in the user's
language, so that the secretariat can fix the sheet where it is wrong.
"""

import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import ArchiveState, Record, RecordGrade, RecordSource

SHEET_NAME = "课题"

# Column order and headers of the sheet, with the Record field each column fills.
COLUMNS = (
    ("课题编号", "number"),
    ("课题名称", "title"),
    ("课题类别", "class"),
    ("立项年度", "year"),
    ("负责人", "pi_name"),
    ("所在单位", "unit_name"),
    ("课题组成员", "members"),
    ("学科领域", "field"),
    ("关键词", "keywords"),
    ("摘要", "abstract"),
    ("状态", "state"),
    ("结题等级", "grade"),
    ("结题时间", "completed_on"),
    ("成果", "outputs"),
)
HEADERS = tuple(header for header, _name in COLUMNS)

# Values of the sheet -> values of the Record. The first spelling of each value is
# the one exports write, so that an export reads back as the same record.
CLASSES = {
    "A类学术性课题": ("A", "学术性课题"),
    "B类专项课题": ("B", "专项课题"),
    "A": ("A", "学术性课题"),
    "B": ("B", "专项课题"),
}
STATES = {
    "在研": ArchiveState.ONGOING,
    "已结题": ArchiveState.COMPLETED,
    "已终止": ArchiveState.TERMINATED,
    "终止": ArchiveState.TERMINATED,
    "已撤项": ArchiveState.REVOKED,
}
GRADES = {
    "优秀": RecordGrade.EXCELLENT,
    "良好": RecordGrade.GOOD,
    "合格": RecordGrade.PASS,
    "不合格": RecordGrade.FAIL,
}

# A project number: an organisation prefix, the year, the class, a sequence (CAEA2021A001).
# Lenient about the lengths, since earlier years did not always number as Keti does.
NUMBER_PATTERN = re.compile(r"^[A-Z]{2,10}-?\d{4}-?[A-Z]{1,3}-?\d{2,5}$")
FIRST_YEAR = 1980
MEMBER_SEPARATORS = re.compile(r"[、，,]")
KEYWORD_SEPARATORS = re.compile(r"[；;]")
DATE_PATTERN = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})$")

# Limits of the Record's fields, so that a long cell is reported rather than cut.
MAX_LENGTHS = {"title": 200, "pi_name": 50, "unit_name": 120, "members": 500, "field": 60, "number": 30}

# Limits of a workbook that the importer agrees to open (a real sheet of a few thousand
# projects is a few MB unpacked); they keep a crafted zip from exhausting the server.
MAX_ZIP_ENTRIES = 10_000
MAX_UNCOMPRESSED_BYTES = 100 * 2**20


@dataclass(frozen=True)
class RowError:
    """One problem of the sheet: its Excel row (``None`` for the file as a whole) and why."""

    row: int | None
    reason: str

    def __str__(self):
        if self.row is None:
            return self.reason
        return _("Row %(row)s: %(reason)s") % {"row": self.row, "reason": self.reason}


@dataclass
class ImportReport:
    """What an import read, did and refused."""

    total: int = 0  # data rows read (blank rows are not counted)
    created: int = 0
    updated: int = 0
    skipped: int = 0  # rows not imported
    errors: list = field(default_factory=list)  # RowError, in row order
    imported: bool = False  # whether the transaction ran (possibly with zero rows)
    numbers: list = field(default_factory=list)  # numbers imported (read_sheet: numbers of valid rows)
    rows: list = field(default_factory=list, repr=False)  # ParsedRow of the valid rows
    fatal: bool = False  # the file or its header is unusable: nothing can be imported at all

    @property
    def ok(self):
        return not self.errors

    @property
    def blocked(self):
        """Errors prevented the import: nothing was written."""
        return bool(self.errors) and not self.imported

    @property
    def invalid_rows(self):
        return len({error.row for error in self.errors if error.row is not None})

    def errors_by_row(self):
        """``[(row, [reason, …]), …]`` in row order; the file's own errors come first, under ``None``."""
        grouped = {}
        for error in self.errors:
            grouped.setdefault(error.row, []).append(error.reason)
        return sorted(grouped.items(), key=lambda item: -1 if item[0] is None else item[0])

    def summary(self):
        if self.fatal:
            return _("Nothing was imported.")
        if self.blocked:
            return _("Nothing was imported: the sheet has %(count)s error(s) in %(rows)s row(s).") % {
                "count": len(self.errors), "rows": self.invalid_rows}
        return _("%(created)s created, %(updated)s updated, %(skipped)s skipped.") % {
            "created": self.created, "updated": self.updated, "skipped": self.skipped}

    def lines(self):
        """The report as plain text, one line each: the summary, then every error."""
        return [self.summary(), *(str(error) for error in self.errors)]


@dataclass(frozen=True)
class ParsedRow:
    row: int
    values: dict  # Record field -> value


class SheetUnreadable(Exception):
    """The file is not a workbook the importer can read; the message says why."""


# ---- reading ---------------------------------------------------------------------------------


def workbook_problem(fileobj):
    """Why ``fileobj`` is not an .xlsx workbook worth opening, or ``None``.

    Decided by content, never by name: an .xlsx is a zip holding ``xl/workbook.xml``.
    The zip's declared sizes are checked before anything is unpacked.
    """
    position = fileobj.tell() if hasattr(fileobj, "tell") else 0
    try:
        if not zipfile.is_zipfile(fileobj):
            return _("The file is not an Excel workbook (.xlsx).")
        fileobj.seek(position)
        with zipfile.ZipFile(fileobj) as archive:
            entries = archive.infolist()
            if "xl/workbook.xml" not in {entry.filename for entry in entries}:
                return _("The file is a zip archive but not an Excel workbook (.xlsx).")
            if len(entries) > MAX_ZIP_ENTRIES or sum(e.file_size for e in entries) > MAX_UNCOMPRESSED_BYTES:
                return _("The workbook is too large once unpacked.")
    except (zipfile.BadZipFile, OSError, ValueError):
        return _("The file is not an Excel workbook (.xlsx).")
    finally:
        fileobj.seek(position)
    return None


def _open(file_or_path):
    """A binary file object for a path or an already open file (an upload), at its start."""
    if hasattr(file_or_path, "read"):
        file_or_path.seek(0)
        return file_or_path, False
    try:
        return open(file_or_path, "rb"), True
    except OSError as error:
        raise SheetUnreadable(_("The file cannot be read: %(error)s") % {"error": error.strerror or error}) from error


def _sheet_rows(file_or_path):
    """Every row of the 课题 sheet as a tuple of cell values (header first)."""
    from openpyxl import load_workbook

    fileobj, owned = _open(file_or_path)
    try:
        problem = workbook_problem(fileobj)
        if problem:
            raise SheetUnreadable(problem)
        try:
            workbook = load_workbook(fileobj, read_only=True, data_only=True)
        except Exception as error:  # openpyxl raises many kinds on a damaged file
            raise SheetUnreadable(_("The workbook cannot be read; save it again as .xlsx in Excel.")) from error
        try:
            if SHEET_NAME not in workbook.sheetnames:
                raise SheetUnreadable(_("The workbook has no sheet named “%(name)s” (its sheets: %(found)s).") % {
                    "name": SHEET_NAME, "found": "、".join(workbook.sheetnames)})
            sheet = workbook[SHEET_NAME]
            sheet.reset_dimensions()  # some programs declare a wrong size: read what is there
            try:
                return [tuple(row) for row in sheet.iter_rows(values_only=True)]
            except Exception as error:
                raise SheetUnreadable(_("The workbook cannot be read; save it again as .xlsx in Excel.")) from error
        finally:
            workbook.close()
    finally:
        if owned:
            fileobj.close()


def _column_letter(index):
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def _text(value):
    """A cell as trimmed text: numbers without a trailing “.0”, dates as YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).replace("\r\n", "\n").replace("\r", "\n").strip()


def header_errors(header):
    """The first header that is wrong or missing, as a one-item list (or an empty list)."""
    header = tuple(header or ())
    for index, expected in enumerate(HEADERS):
        found = _text(header[index]) if index < len(header) else ""
        if found != expected:
            if not found:
                reason = _("column %(column)s should be headed “%(expected)s” but is empty.")
            else:
                reason = _("column %(column)s should be headed “%(expected)s” but is headed “%(found)s”.")
            return [RowError(1, reason % {"column": _column_letter(index), "expected": expected, "found": found})]
    for index in range(len(HEADERS), len(header)):
        found = _text(header[index])
        if found:
            reason = _("column %(column)s has the header “%(found)s”, but the sheet has %(count)s columns only.")
            return [RowError(1, reason % {"column": _column_letter(index), "found": found, "count": len(HEADERS)})]
    return []


def parse_row(cells, *, next_year):
    """The Record values of one row and the reasons it is wrong (an empty list when it is right)."""
    cells = tuple(cells) + (None,) * (len(COLUMNS) - len(cells))
    raw = {name: cells[index] for index, (_header, name) in enumerate(COLUMNS)}
    text = {name: _text(value) for name, value in raw.items()}
    values = {"source": RecordSource.IMPORT}
    reasons = []

    number = re.sub(r"\s+", "", text["number"]).upper()
    if not number:
        reasons.append(_("the project number (课题编号) is missing."))
    elif len(number) > MAX_LENGTHS["number"] or not NUMBER_PATTERN.match(number):
        reasons.append(_("the project number “%(value)s” is not of the form CAEA2021A001.") % {"value": text["number"]})
    values["number"] = number

    for name, missing in (
        ("title", _("the title (课题名称) is missing.")),
        ("pi_name", _("the principal investigator (负责人) is missing.")),
        ("unit_name", _("the unit (所在单位) is missing.")),
    ):
        if not text[name]:
            reasons.append(missing)
        values[name] = text[name]

    klass = text["class"]
    if klass.upper() in ("A", "B"):
        klass = klass.upper()
    if not klass:
        reasons.append(_("the class (课题类别) is missing."))
    elif klass not in CLASSES:
        reasons.append(_("the class “%(value)s” is not one of %(allowed)s.") % {
            "value": klass, "allowed": "、".join(CLASSES)})
    else:
        values["class_code"], values["class_name"] = CLASSES[klass]

    year = _year(raw["year"], text["year"], next_year, reasons)
    values["year"] = year

    members = [name.strip() for name in MEMBER_SEPARATORS.split(text["members"]) if name.strip()]
    values["members"] = "、".join(members)
    values["field"] = text["field"]
    values["keywords"] = [word.strip() for word in KEYWORD_SEPARATORS.split(text["keywords"]) if word.strip()]
    values["abstract"] = text["abstract"]
    values["outputs"] = "\n".join(line.strip() for line in text["outputs"].splitlines() if line.strip())

    for name, label in (
        ("title", _("title")),
        ("pi_name", _("principal investigator")),
        ("unit_name", _("unit")),
        ("members", _("list of members")),
        ("field", _("field")),
    ):
        if len(values[name]) > MAX_LENGTHS[name]:
            reasons.append(_("the %(what)s has %(length)s characters; at most %(limit)s are allowed.") % {
                "what": label, "length": len(values[name]), "limit": MAX_LENGTHS[name]})

    state = STATES.get(text["state"])
    if not text["state"]:
        reasons.append(_("the state (状态) is missing."))
    elif state is None:
        reasons.append(_("the state “%(value)s” is not one of %(allowed)s.") % {
            "value": text["state"], "allowed": "、".join(STATES)})
    values["state"] = state or ""
    completed = state == ArchiveState.COMPLETED

    values["grade"] = ""
    if text["grade"]:
        if text["grade"] not in GRADES:
            reasons.append(_("the grade “%(value)s” is not one of %(allowed)s.") % {
                "value": text["grade"], "allowed": "、".join(GRADES)})
        elif state and not completed:
            reasons.append(_("a completion grade is given but the state is “%(state)s”; only completed projects "
                             "(已结题) have one.") % {"state": text["state"]})
        else:
            values["grade"] = GRADES[text["grade"]]

    values["completed_on"] = None
    if text["completed_on"]:
        completed_on = _date(raw["completed_on"], text["completed_on"])
        if completed_on is None:
            reasons.append(_("the completion date “%(value)s” is not a date of the form YYYY-MM-DD.") % {
                "value": text["completed_on"]})
        elif state and not completed:
            reasons.append(_("a completion date is given but the state is “%(state)s”; only completed projects "
                             "(已结题) have one.") % {"state": text["state"]})
        elif year and completed_on.year < year:
            reasons.append(_("the completion date %(date)s is earlier than the year approved (%(year)s).") % {
                "date": completed_on.isoformat(), "year": year})
        else:
            values["completed_on"] = completed_on
    return values, reasons


def _year(raw, text, next_year, reasons):
    if isinstance(raw, bool) or isinstance(raw, (datetime, date)):
        year = None
    elif isinstance(raw, int) or (isinstance(raw, float) and raw.is_integer()):
        year = int(raw) if 1000 <= raw <= 9999 else None
    else:
        year = int(text) if re.fullmatch(r"\d{4}", text) else None
    if not text:
        reasons.append(_("the year approved (立项年度) is missing."))
    elif year is None:
        reasons.append(_("the year “%(value)s” is not a four-digit year.") % {"value": text})
    elif not FIRST_YEAR <= year <= next_year:
        reasons.append(_("the year %(year)s is not between %(first)s and %(last)s.") % {
            "year": year, "first": FIRST_YEAR, "last": next_year})
        year = None
    return year


def _date(raw, text):
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    match = DATE_PATTERN.match(text)
    if not match:
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def _managed_numbers(numbers):
    """Those of ``numbers`` that belong to projects managed in Keti (a workflow record or a project)."""
    from projects.models import Project

    managed = set()
    numbers = list(numbers)
    for start in range(0, len(numbers), 500):
        chunk = numbers[start:start + 500]
        managed.update(Record.objects.filter(number__in=chunk, source=RecordSource.WORKFLOW)
                       .values_list("number", flat=True))
        managed.update(Project.objects.filter(number__in=chunk).values_list("number", flat=True))
    return managed


def _managed_error(row, number):
    return RowError(row, _("the project number “%(number)s” belongs to a project managed in Keti; the archive does "
                           "not overwrite it.") % {"number": number})


def read_sheet(file_or_path):
    """Read and check a sheet; nothing is written. ``report.rows`` holds the valid rows."""
    report = ImportReport()
    try:
        rows = _sheet_rows(file_or_path)
    except SheetUnreadable as error:
        report.errors.append(RowError(None, str(error)))
        report.fatal = True
        return report
    if not rows:
        report.errors.append(RowError(None, _("The sheet “%(name)s” is empty.") % {"name": SHEET_NAME}))
        report.fatal = True
        return report
    report.errors.extend(header_errors(rows[0]))
    if report.errors:
        report.fatal = True
        report.total = sum(1 for cells in rows[1:] if any(_text(cell) for cell in cells))
        return report

    next_year = timezone.localdate().year + 1
    first_row_of = {}
    for row_number, cells in enumerate(rows[1:], start=2):
        if not any(_text(cell) for cell in cells):
            continue  # blank rows (often trailing ones) are not projects
        report.total += 1
        values, reasons = parse_row(cells, next_year=next_year)
        number = values["number"]
        if number and number in first_row_of:
            reasons.insert(0, _("the project number “%(number)s” is already used in row %(first)s.") % {
                "number": number, "first": first_row_of[number]})
        elif number:
            first_row_of[number] = row_number
        if reasons:
            report.errors.extend(RowError(row_number, reason) for reason in reasons)
        else:
            report.rows.append(ParsedRow(row_number, values))

    managed = _managed_numbers(parsed.values["number"] for parsed in report.rows)
    if managed:
        report.errors.extend(_managed_error(p.row, p.values["number"]) for p in report.rows
                             if p.values["number"] in managed)
        report.errors.sort(key=lambda error: error.row)
        report.rows = [parsed for parsed in report.rows if parsed.values["number"] not in managed]
    report.numbers = [parsed.values["number"] for parsed in report.rows]
    return report


# ---- importing -------------------------------------------------------------------------------

UPDATED_FIELDS = [
    "title", "class_code", "class_name", "year", "pi_name", "unit_name", "members", "field", "keywords",
    "abstract", "state", "grade", "completed_on", "outputs", "source", "updated_at",
]


def import_sheet(file_or_path, *, skip_invalid=False):
    """Read, check and import a sheet in one transaction; see the module's docstring for the rules."""
    report = read_sheet(file_or_path)
    if report.fatal or (report.errors and not skip_invalid):
        report.skipped = report.total
        return report

    with transaction.atomic():
        rows = report.rows
        numbers = [parsed.values["number"] for parsed in rows]
        existing = {}
        for start in range(0, len(numbers), 500):
            chunk = numbers[start:start + 500]
            existing.update((record.number, record)
                            for record in Record.objects.select_for_update().filter(number__in=chunk))
        # A project confirmed in Keti between the reading and this transaction.
        taken = {number for number, record in existing.items() if record.source != RecordSource.IMPORT}
        if taken:
            report.errors.extend(_managed_error(p.row, p.values["number"]) for p in rows
                                 if p.values["number"] in taken)
            report.errors.sort(key=lambda error: error.row)
            if not skip_invalid:
                report.skipped = report.total
                return report
            rows = [parsed for parsed in rows if parsed.values["number"] not in taken]

        now = timezone.now()
        to_create, to_update = [], []
        for parsed in rows:
            record = existing.get(parsed.values["number"])
            if record is None:
                to_create.append(Record(**parsed.values))
            else:
                for name, value in parsed.values.items():
                    setattr(record, name, value)
                record.updated_at = now
                to_update.append(record)
        Record.objects.bulk_create(to_create, batch_size=500)
        Record.objects.bulk_update(to_update, UPDATED_FIELDS, batch_size=500)

        imported = [parsed.values["number"] for parsed in rows]
        if imported:
            _index_after_commit(imported)

    report.imported = True
    report.rows = rows
    report.numbers = imported
    report.created = len(to_create)
    report.updated = len(to_update)
    report.skipped = report.total - len(rows)
    return report


def _index_after_commit(numbers):
    """(Re)index the imported records once they are committed (a Celery task, safe to run twice)."""
    from .tasks import index_records

    transaction.on_commit(lambda: index_records.delay(numbers))
