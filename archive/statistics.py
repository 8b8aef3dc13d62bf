"""Figures of the archive (统计): tables, the bar charts that draw them, and their workbook.

Each figure is one aggregate query, whatever the number of records, and becomes a
``Section``: a title, a table (headers and rows) and the series its chart draws.
Charts are inline SVG built here on the server — no JavaScript, no CDN, nothing
that an intranet without internet would miss — with every text escaped and a
``<title>``, ``role="img"`` and ``aria-label`` for screen readers; the page prints
the same figures as a table under each chart, and ``statistics_workbook`` gives
them as an Excel workbook, one sheet per table.
"""

from dataclasses import dataclass
from io import BytesIO

from django.db.models import Count, Q
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from .models import Record, RecordGrade

TOP_UNITS = 10

# Project states from confirmation (立项) on: the application was approved.
CONFIRMED_STATES = ("active", "midterm_review", "completion_review", "completed", "terminated", "revoked")


@dataclass(frozen=True)
class Section:
    """One figure: a table, and the bars of its chart (``series``: ``((name, values), …)`` along ``labels``)."""

    key: str
    title: str
    headers: tuple
    rows: tuple  # tuples of cells, in the order of ``headers``
    labels: tuple
    series: tuple
    percent: bool = False  # values are fractions, shown as percentages

    @property
    def chart(self):
        return bar_chart(self.key, self.title, self.labels, self.series, percent=self.percent)

    def display_rows(self):
        """The rows with fractions as percentages and missing values as a dash, for the page."""
        return [tuple(_display(cell, self.percent) for cell in row) for row in self.rows]


def _display(cell, percent):
    if cell is None:
        return "—"
    if isinstance(cell, float) and percent:
        return format_percent(cell)
    return cell


def format_percent(fraction):
    return f"{fraction * 100:.1f}%"


# ---- the figures -----------------------------------------------------------------------------


def per_year_and_class():
    """Projects per year approved (立项年度) and class, with the total of each year."""
    counts = {}
    class_names = {}
    for row in Record.objects.values("year", "class_code", "class_name").annotate(n=Count("id")).order_by():
        counts.setdefault(row["year"], {}).setdefault(row["class_code"], 0)
        counts[row["year"]][row["class_code"]] += row["n"]
        if row["class_name"]:
            class_names.setdefault(row["class_code"], row["class_name"])
    codes = sorted({code for by_class in counts.values() for code in by_class})
    class_labels = [f"{code} {class_names[code]}" if code in class_names else code for code in codes]
    years = sorted(counts)
    rows = tuple((year, *(counts[year].get(code, 0) for code in codes), sum(counts[year].values())) for year in years)
    return Section(
        key="per-year",
        title=_("Projects per year and class"),
        headers=(_("Year"), *class_labels, _("Total")),
        rows=rows,
        labels=tuple(str(year) for year in years),
        series=tuple((label, tuple(counts[year].get(code, 0) for year in years))
                     for label, code in zip(class_labels, codes)),
    )


def approval_rates():
    """Approval rate per call: projects confirmed (立项) over applications submitted (with a receipt number)."""
    from projects.models import Call

    calls = (
        Call.objects.annotate(
            submitted=Count("projects", filter=Q(projects__receipt_number__isnull=False)),
            approved=Count("projects", filter=Q(projects__receipt_number__isnull=False,
                                                projects__state__in=CONFIRMED_STATES)),
        )
        .filter(submitted__gt=0)
        .order_by("year", "opens_at", "pk")
        .values("title", "year", "submitted", "approved")
    )
    rows = tuple((c["title"], c["year"], c["submitted"], c["approved"], c["approved"] / c["submitted"]) for c in calls)
    return Section(
        key="approval",
        title=_("Approval rate per call"),
        headers=(_("Call"), _("Year"), _("Applications submitted"), _("Projects approved"), _("Approval rate")),
        rows=rows,
        labels=tuple(row[0] for row in rows),
        series=((_("Approval rate"), tuple(row[4] for row in rows)),),
        percent=True,
    )


def grade_distribution():
    """Completed projects per completion grade (结题等级), every grade listed."""
    counts = dict(Record.objects.exclude(grade="").values_list("grade").annotate(n=Count("id")).order_by())
    labels = tuple(str(label) for label in RecordGrade.labels)
    values = tuple(counts.get(value, 0) for value in RecordGrade.values)
    return Section(
        key="grades",
        title=_("Completion grades"),
        headers=(_("Grade"), _("Projects")),
        rows=tuple(zip(labels, values)),
        labels=labels,
        series=((_("Projects"), values),),
    )


def top_units(limit=TOP_UNITS):
    """The units with the most projects (所在单位)."""
    rows = tuple(
        Record.objects.values_list("unit_name").annotate(n=Count("id")).order_by("-n", "unit_name")[:limit]
    )
    return Section(
        key="units",
        title=_("Top %(count)s units") % {"count": limit},
        headers=(_("Unit"), _("Projects")),
        rows=rows,
        labels=tuple(row[0] for row in rows),
        series=((_("Projects"), tuple(row[1] for row in rows)),),
    )


def per_field():
    """Projects per field (学科领域); records without one are counted together."""
    unnamed = _("No field given")
    rows = tuple(
        (name or unnamed, n)
        for name, n in Record.objects.values_list("field").annotate(n=Count("id")).order_by("-n", "field")
    )
    return Section(
        key="fields",
        title=_("Projects per field"),
        headers=(_("Field"), _("Projects")),
        rows=rows,
        labels=tuple(row[0] for row in rows),
        series=((_("Projects"), tuple(row[1] for row in rows)),),
    )


def all_sections():
    """Every figure of the statistics page, in the order shown (five queries)."""
    return [per_year_and_class(), approval_rates(), grade_distribution(), top_units(), per_field()]


# ---- charts ----------------------------------------------------------------------------------

PALETTE = ("#1f5f99", "#c0561b", "#2e7d4f", "#8a3b8f", "#8a6d00", "#4a5568")
CHART_WIDTH = 720
BAR_HEIGHT = 22
BAR_GAP = 8
LABEL_MAX_CHARS = 16
FONT = 'font-family="sans-serif" font-size="13"'


def _label_width(labels):
    """Room for the longest label, counting a Chinese character as wide as two Latin ones."""
    widest = max((sum(2 if ord(ch) > 0x2E80 else 1 for ch in _short(label)) for label in labels), default=4)
    return min(max(widest * 7 + 12, 48), 250)


def _short(label):
    return label if len(label) <= LABEL_MAX_CHARS else label[: LABEL_MAX_CHARS - 1] + "…"


def _value_text(value, percent):
    return format_percent(value) if percent else str(value)


def bar_chart(key, title, labels, series, *, percent=False):
    """A horizontal (stacked, when there are several series) bar chart as inline, accessible SVG."""
    labels = [str(label) for label in labels]
    totals = [sum(values[i] for _name, values in series) for i in range(len(labels))]
    title_id = f"chart-{escape(key)}-title"
    if not labels:
        return mark_safe(
            f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {CHART_WIDTH} 40" '
            f'width="100%" role="img" aria-label="{escape(title)}">'
            f'<title id="{title_id}">{escape(title)}</title>'
            f'<text x="8" y="24" {FONT} fill="#444">{escape(_("No data yet."))}</text></svg>'
        )
    legend = len(series) > 1
    top = 28 if legend else 6
    label_width = _label_width(labels)
    value_width = 64
    plot_width = CHART_WIDTH - label_width - value_width - 8
    scale_max = 1.0 if percent else max(max(totals), 1)
    height = top + len(labels) * (BAR_HEIGHT + BAR_GAP) + 4

    description = "; ".join(
        f"{label}: " + ", ".join(f"{name} {_value_text(values[i], percent)}" for name, values in series)
        for i, label in enumerate(labels)
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {CHART_WIDTH} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}" aria-describedby="{title_id}-desc">',
        f'<title id="{title_id}">{escape(title)}</title>',
        f'<desc id="{title_id}-desc">{escape(description)}</desc>',
    ]
    if legend:
        x = label_width
        for index, (name, _values) in enumerate(series):
            colour = PALETTE[index % len(PALETTE)]
            parts.append(f'<rect x="{x}" y="6" width="12" height="12" fill="{colour}"/>')
            parts.append(f'<text x="{x + 16}" y="17" {FONT} fill="#222">{escape(name)}</text>')
            x += 16 + len(str(name)) * 14 + 24
    for i, label in enumerate(labels):
        y = top + i * (BAR_HEIGHT + BAR_GAP)
        tooltip = f"{label}: " + ", ".join(f"{name} {_value_text(values[i], percent)}" for name, values in series)
        parts.append(f"<g><title>{escape(tooltip)}</title>")
        parts.append(f'<text x="{label_width - 6}" y="{y + BAR_HEIGHT - 6}" text-anchor="end" {FONT} '
                     f'fill="#222">{escape(_short(label))}</text>')
        x = float(label_width)
        for index, (_name, values) in enumerate(series):
            width = plot_width * min(values[i], scale_max) / scale_max if scale_max else 0
            if width > 0:
                parts.append(f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{BAR_HEIGHT}" '
                             f'fill="{PALETTE[index % len(PALETTE)]}"/>')
            x += width
        parts.append(f'<text x="{x + 6:.1f}" y="{y + BAR_HEIGHT - 6}" {FONT} fill="#222">'
                     f"{escape(_value_text(totals[i], percent))}</text></g>")
    parts.append("</svg>")
    return mark_safe("".join(parts))


# ---- workbook --------------------------------------------------------------------------------

SHEET_TITLE_FORBIDDEN = str.maketrans({ch: " " for ch in "[]:*?/\\"})


def statistics_workbook(sections=None):
    """The figures as the bytes of an .xlsx workbook, one sheet per table."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    sections = all_sections() if sections is None else sections
    workbook = Workbook()
    workbook.remove(workbook.active)
    used = set()
    for section in sections:
        name = section.title.translate(SHEET_TITLE_FORBIDDEN)[:31] or section.key
        while name in used:
            name = name[:28] + f" {len(used)}"
        used.add(name)
        sheet = workbook.create_sheet(name)
        sheet.append(list(section.headers))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in section.rows:
            sheet.append(list(row))
            if section.percent:
                for cell in sheet[sheet.max_row]:
                    if isinstance(cell.value, float):
                        cell.number_format = "0.0%"
        for index, header in enumerate(section.headers, start=1):
            longest = max([len(str(header))] + [len(str(row[index - 1])) for row in section.rows])
            sheet.column_dimensions[get_column_letter(index)].width = min(max(10, longest * 2 + 2), 60)
        sheet.freeze_panes = "A2"
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
