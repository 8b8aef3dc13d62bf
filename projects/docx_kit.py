"""The shared python-docx helpers of every Keti document, so they all come from one office.

Page, fonts, headings and tables are set here once: A4 with Word's Chinese
default margins, 宋体 小四 body text, 黑体 headings, bordered tables with bold
labels. Chinese text only takes a Chinese font when ``w:eastAsia`` is set on
the run's (or style's) ``rFonts``: python-docx's ``font.name`` sets only the
ascii and hAnsi fonts, so a document built without these helpers shows its
Chinese in whatever the reader's Word picks.

Every document also leaves with blank core properties (see
``document_properties_blank``): python-docx's template would otherwise sign
each file "python-docx", and a document must not carry an author by accident.
"""

import io

from django.utils import timezone
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

# Font sizes by their Chinese names (字号), in points.
ER_HAO = 22  # 二号
SAN_HAO = 16  # 三号
XIAO_SAN = 15  # 小三
SI_HAO = 14  # 四号
XIAO_SI = 12  # 小四
WU_HAO = 10.5  # 五号

BODY_FONT = "宋体"
HEADING_FONT = "黑体"
# 方正小标宋 is the font of official titles, but it is not installed everywhere
# (intranet PCs, WPS on Linux); 黑体 is, and Word never falls back between the two.
TITLE_FONT = "黑体"
SUBTITLE_FONT = "仿宋"

HEADING_SIZES = {1: SAN_HAO, 2: SI_HAO, 3: XIAO_SI}
HEADER_SHADING = "D9D9D9"
BLACK = RGBColor(0, 0, 0)

PAGE_WIDTH, PAGE_HEIGHT = Cm(21.0), Cm(29.7)  # A4
MARGIN_TOP_BOTTOM, MARGIN_LEFT_RIGHT = Cm(2.54), Cm(3.17)
TEXT_WIDTH = PAGE_WIDTH - 2 * MARGIN_LEFT_RIGHT
LABEL_WIDTH = Cm(3.6)

_THEME_FONT_ATTRIBUTES = ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme")


def new_document(title=""):
    """An empty A4 document with the office's page, fonts, heading styles and page numbers."""
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = PAGE_WIDTH, PAGE_HEIGHT
    section.top_margin = section.bottom_margin = MARGIN_TOP_BOTTOM
    section.left_margin = section.right_margin = MARGIN_LEFT_RIGHT
    _chinese_defaults(doc)
    normal = doc.styles["Normal"]
    set_chinese_font(normal, BODY_FONT, XIAO_SI)
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.line_spacing = 1.5
    for level, size in HEADING_SIZES.items():
        style = doc.styles[f"Heading {level}"]
        set_chinese_font(style, HEADING_FONT, size, bold=True)
        style.font.color.rgb = BLACK
        style.paragraph_format.space_before = Pt(12)
        style.paragraph_format.space_after = Pt(6)
    _page_number_footer(section)
    document_properties_blank(doc, title)
    now = timezone.now()
    doc.core_properties.created = doc.core_properties.modified = now.replace(microsecond=0, tzinfo=None)
    doc.core_properties.revision = 1
    return doc


def set_chinese_font(run_or_style, name, size_pt, bold=False):
    """Set the font of a run or a style for Latin *and* Chinese text (``w:eastAsia``)."""
    font = run_or_style.font
    font.name = name
    font.size = Pt(size_pt)
    font.bold = bold
    element = run_or_style.element if hasattr(run_or_style, "element") else run_or_style._element
    r_fonts = element.get_or_add_rPr().get_or_add_rFonts()
    for attribute in _THEME_FONT_ATTRIBUTES:
        # A theme font wins over the named one: drop it, or Word shows Calibri / 等线.
        r_fonts.attrib.pop(qn(attribute), None)
    r_fonts.set(qn("w:eastAsia"), name)
    return run_or_style


def heading(doc, text, level=1):
    """A heading in 黑体 (三号 / 四号 / 小四 for levels 1–3), in the outline of the document."""
    paragraph = doc.add_paragraph(style=f"Heading {level}")
    run = paragraph.add_run(text)
    set_chinese_font(run, HEADING_FONT, HEADING_SIZES.get(level, XIAO_SI), bold=True)
    run.font.color.rgb = BLACK
    return paragraph


def title_block(doc, title, subtitle=None):
    """The centred title of a document (黑体 二号), with an optional subtitle line (仿宋 三号)."""
    paragraph = doc.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.space_before = Pt(12)
    paragraph.paragraph_format.space_after = Pt(12)
    set_chinese_font(paragraph.add_run(title), TITLE_FONT, ER_HAO, bold=True)
    if subtitle:
        line = doc.add_paragraph()
        line.alignment = WD_ALIGN_PARAGRAPH.CENTER
        line.paragraph_format.space_after = Pt(12)
        set_chinese_font(line.add_run(subtitle), SUBTITLE_FONT, SAN_HAO)
    return paragraph


def paragraphs(doc, text):
    """Body paragraphs, one per line of ``text``, each indented by two characters."""
    added = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        paragraph = doc.add_paragraph()
        set_chinese_font(paragraph.add_run(line), BODY_FONT, XIAO_SI)
        _indent_first_line(paragraph)
        added.append(paragraph)
    return added


def field_table(doc, rows):
    """A two-column bordered table of (label, value) rows, labels in bold."""
    table = _bordered_table(doc, cols=2)
    value_width = TEXT_WIDTH - LABEL_WIDTH
    for label, value in rows:
        label_cell, value_cell = table.add_row().cells
        _fill(label_cell, label, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
        _fill(value_cell, value)
        label_cell.width, value_cell.width = LABEL_WIDTH, value_width
    _space_after(doc)
    return table


def grid_table(doc, header, rows, widths=None):
    """A bordered table with a bold, shaded header row that repeats on every page."""
    table = _bordered_table(doc, cols=len(header))
    header_row = table.add_row()
    _repeat_as_header(header_row)
    for cell, text in zip(header_row.cells, header):
        _fill(cell, text, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
        _shade(cell, HEADER_SHADING)
    for values in rows:
        for cell, value in zip(table.add_row().cells, values):
            _fill(cell, value)
    if widths:
        for row in table.rows:
            for cell, width in zip(row.cells, widths):
                cell.width = width
    _space_after(doc)
    return table


def document_properties_blank(doc, title=""):
    """Blank every text property of docProps/core.xml (author, last modified by, comments, …) but the title."""
    properties = doc.core_properties
    for name in (
        "author",
        "last_modified_by",
        "comments",
        "keywords",
        "subject",
        "category",
        "content_status",
        "identifier",
        "language",
        "version",
    ):
        setattr(properties, name, "")
    properties.title = title or ""
    return doc


def to_bytes(doc):
    """The document as the bytes of a .docx file."""
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


# ---- internals ------------------------------------------------------------------------------


def _chinese_defaults(doc):
    """Document defaults: no theme fonts, Chinese as the East Asian language (line breaking, 标点)."""
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    r_pr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    r_fonts = r_pr.find(qn("w:rFonts"))
    for attribute in _THEME_FONT_ATTRIBUTES:
        r_fonts.attrib.pop(qn(attribute), None)
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia"):
        r_fonts.set(qn(attribute), BODY_FONT)
    lang = r_pr.find(qn("w:lang"))
    if lang is not None:
        lang.set(qn("w:eastAsia"), "zh-CN")


def _indent_first_line(paragraph, chars=2):
    """Indent by characters (``w:firstLineChars``), with the equivalent in points for other readers."""
    paragraph.paragraph_format.first_line_indent = Pt(XIAO_SI * chars)
    ind = paragraph._p.get_or_add_pPr().find(qn("w:ind"))
    ind.set(qn("w:firstLineChars"), str(chars * 100))


def _bordered_table(doc, cols):
    table = doc.add_table(rows=0, cols=cols)
    table.style = doc.styles["Table Grid"]
    return table


def _fill(cell, value, bold=False, align=None):
    """Write ``value`` into a cell, one paragraph per line, in the body font."""
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    lines = ("" if value is None else str(value)).split("\n")
    first = cell.paragraphs[0]
    for index, line in enumerate(lines):
        paragraph = first if index == 0 else cell.add_paragraph()
        paragraph.paragraph_format.line_spacing = 1.25
        if align is not None:
            paragraph.alignment = align
        if line:
            set_chinese_font(paragraph.add_run(line), BODY_FONT, XIAO_SI, bold=bold)


def _shade(cell, fill):
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shading)


def _repeat_as_header(row):
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(header)


def _space_after(doc):
    """An empty line after a table, so that the next heading or table does not stick to it."""
    doc.add_paragraph().paragraph_format.space_after = Pt(0)


def _page_number_footer(section):
    """A centred "— N —" page number, the usual footer of official documents."""
    paragraph = section.footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    set_chinese_font(paragraph.add_run("— "), BODY_FONT, WU_HAO)
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)
    set_chinese_font(paragraph.add_run(" —"), BODY_FONT, WU_HAO)
