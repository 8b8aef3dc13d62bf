"""Archive records as an Excel workbook in the import sheet's own format.

The workbook has one sheet named 课题 with the fourteen columns and Chinese
headers of ``archive.importer``, and writes every value the way the importer
reads it (class, state and grade by their Chinese names, members joined by 、,
keywords by ；, outputs one per line), so that an export can be corrected in
Excel and imported again.
"""

from io import BytesIO

from .importer import CLASSES, GRADES, HEADERS, SHEET_NAME, STATES

# Record value -> the sheet's spelling: the first spelling of each value in the importer's tables.
CLASS_LABELS = {}
for _label, (_code, _name) in CLASSES.items():
    CLASS_LABELS.setdefault(_code, _label)
STATE_LABELS = {}
for _label, _state in STATES.items():
    STATE_LABELS.setdefault(str(_state), _label)
GRADE_LABELS = {str(grade): label for label, grade in GRADES.items()}

COLUMN_WIDTHS = (16, 42, 15, 9, 10, 28, 34, 16, 36, 60, 8, 9, 12, 60)
WRAPPED = {"摘要", "成果", "课题组成员", "课题名称"}


def class_label(record):
    """``A类学术性课题`` for the two standard classes, ``C类…`` for any other a call defined."""
    if record.class_code in CLASS_LABELS and record.class_name in ("", CLASSES[CLASS_LABELS[record.class_code]][1]):
        return CLASS_LABELS[record.class_code]
    return f"{record.class_code}类{record.class_name}" if record.class_name else record.class_code


def record_row(record):
    """The fourteen cells of one record, in the order of ``HEADERS``."""
    return [
        record.number,
        record.title,
        class_label(record),
        record.year,
        record.pi_name,
        record.unit_name,
        record.members,
        record.field,
        "；".join(record.keywords or []),
        record.abstract,
        STATE_LABELS.get(record.state, record.state),
        GRADE_LABELS.get(record.grade, ""),
        record.completed_on,
        record.outputs,
    ]


def records_workbook(queryset):
    """The records of ``queryset`` (in its order) as the bytes of an .xlsx workbook."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(SHEET_NAME)
    for index, width in enumerate(COLUMN_WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "C2"

    bold = Font(bold=True)
    header = []
    for title in HEADERS:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = bold
        header.append(cell)
    sheet.append(header)

    wrap = Alignment(wrap_text=True, vertical="top")
    top = Alignment(vertical="top")
    wrapped_columns = {index for index, title in enumerate(HEADERS) if title in WRAPPED}
    date_column = HEADERS.index("结题时间")
    records = queryset.iterator(chunk_size=500) if hasattr(queryset, "iterator") else queryset
    for record in records:
        cells = []
        for index, value in enumerate(record_row(record)):
            cell = WriteOnlyCell(sheet, value=value if value != "" else None)
            cell.alignment = wrap if index in wrapped_columns else top
            if index == date_column and value:
                cell.number_format = "yyyy-mm-dd"
            cells.append(cell)
        sheet.append(cells)

    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
