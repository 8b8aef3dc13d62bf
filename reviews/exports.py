"""The score matrix of a class ranking as an Excel workbook (评分矩阵).

One row per proposal in ranking order: rank, receipt number, title, then for
each alias (专家1, 专家2 …) the criterion scores, the total and the
recommendation, then the aggregated figures. Reviewers appear as aliases only:
the ranking carries no expert, so none can be written here.
"""

from io import BytesIO

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

HEADER_FILL = PatternFill("solid", fgColor="D9D9D9")
SHORTLIST_FILL = PatternFill("solid", fgColor="E2EFDA")


def _rounded(value, places=2):
    return None if value is None else round(value, places)


def _yes(flag):
    return _("Yes") if flag else ""


def header(ranking):
    """The header row and the width of each column."""
    columns = [(_("Rank"), 6), (_("Receipt number"), 15), (_("Title"), 40)]
    for number in ranking.alias_numbers:
        alias = f"专家{number}"
        columns += [(f"{alias} {c['name']}", 8) for c in ranking.criteria]
        total, recommendation = _("total"), _("recommendation")
        columns += [(f"{alias} {total}", 9), (f"{alias} {recommendation}", 12)]
    columns += [(_("Valid reviews"), 8), (_("Mean"), 9), (_("Trimmed mean"), 10), (_("Normalised"), 10),
                (_("Percentile"), 10)]
    columns += [(f"{o['code']} {o.get('label', '')}".strip(), 10) for o in ranking.options]
    columns += [(_("Spread"), 8), (_("Standard deviation"), 10), (_("Disagreement"), 10),
                (_("Within quota"), 10), (_("Shortlist"), 8), (_("Note"), 22)]
    return columns


def row(ranking, result):
    """The cells of one proposal."""
    project = result.project
    cells = [result.rank, project.receipt_number or "", project.title]
    for review in result.alias_cells:
        if review is None:
            cells += [None] * (len(ranking.criteria) + 2)
            continue
        cells += [review.scores.get(c["key"]) for c in ranking.criteria]
        cells += [review.total, review.recommendation_label]
    cells += [result.n, _rounded(result.mean), _rounded(result.trimmed_mean), _rounded(result.normalised, 3),
              _rounded(result.percentile, 1)]
    counts = {c.code: c.count for c in result.recommendations}
    cells += [counts.get(o["code"], 0) for o in ranking.options]
    cells += [_rounded(result.spread), _rounded(result.std), _yes(result.disagreement),
              _yes(result.within_quota), _yes(result.shortlisted),
              "" if result.valid else _("Too few valid reviews")]
    return cells


def score_matrix(ranking):
    """The workbook as bytes: a bold header row, frozen panes below it and right of the title."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = f"{ranking.call_class.code} {_('Scores')}"[:31]
    columns = header(ranking)
    sheet.append([name for name, _width in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for result in ranking.rows:
        sheet.append(row(ranking, result))
        if result.shortlisted:
            for cell in sheet[sheet.max_row][:3]:
                cell.fill = SHORTLIST_FILL
    for index, (_name, width) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "D2"
    workbook.properties.creator = ""
    workbook.properties.lastModifiedBy = ""
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
