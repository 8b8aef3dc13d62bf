"""The Word documents of the review: the review summary of a class (评审结果汇总表).

Built with the shared helpers of ``projects.docx_kit`` so it looks like every
other document of the office; in Chinese whatever the reader's interface
language. It is for the committee's meeting: the proposals in ranking order
with their applicants, the aggregated scores, the quota line (限额线) and the
shortlist (入围). Reviewers are never named in it — the ranking it is built
from carries no expert.
"""

from zoneinfo import ZoneInfo

from django.utils import timezone
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm

from projects import docx_kit as kit

SHANGHAI = ZoneInfo("Asia/Shanghai")

HEADER = ("排名", "受理编号", "课题名称", "负责人", "所在单位", "有效评审", "平均分", "截尾均分",
          "标准化分", "百分位", "推荐意见", "分歧", "入围")
WIDTHS = tuple(Cm(w) for w in (1.2, 2.6, 4.7, 1.8, 3.4, 1.4, 1.6, 1.6, 1.6, 1.5, 2.4, 1.1, 1.2))
NOTES = (
    "说明：",
    "1. 有效评审：已提交且未撤销的专家评审意见；有效评审不足{min_valid}份的课题不参加排序，列于表末。",
    "2. 截尾均分：有效评审达到{trim_from}份时，去掉一个最高分和一个最低分后取平均；"
    "不足{trim_from}份时即为平均分。排序依据截尾均分，相同时依次比较平均分、标准化分和受理编号。",
    "3. 标准化分：将每位专家给出的总分按其本轮全部评审换算为标准分（z 分数）后取平均，"
    "仅计入本轮评审不少于{normalise_min}份的专家，用以消除专家打分宽严的差异，仅供参考。",
    "4. 百分位：本批次同一评审阶段全部课题中截尾均分低于本课题的比例。",
    "5. 分歧：专家总分极差不小于{spread}分，或推荐意见分散（少数意见不少于三分之一）。",
)


def _number(value, places=2):
    return "—" if value is None else f"{value:.{places}f}"


def _landscape(doc):
    """Turn the page: the ranking table needs the width of A4 landscape."""
    section = doc.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = kit.PAGE_HEIGHT, kit.PAGE_WIDTH
    section.left_margin = section.right_margin = Cm(1.8)


def _recommendations(result):
    return "\n".join(f"{c.label or c.code} {c.count}" for c in result.recommendations)


def _row(result):
    project = result.project
    return (
        str(result.rank) if result.rank else "—",
        project.receipt_number or "—",
        project.title,
        project.pi.display_name,
        project.institution.name if project.institution_id else "—",
        str(result.n),
        _number(result.mean),
        _number(result.trimmed_mean),
        _number(result.normalised, 3),
        _number(result.percentile, 1),
        _recommendations(result),
        "是" if result.disagreement else "",
        "入围" if result.shortlisted else ("评审不足" if not result.valid else ""),
    )


def _quota_line(ranking):
    return f"—— 以上为限额内课题（限额 {ranking.quota} 项）——"


def _table(doc, ranking):
    rows, line_at = [], None
    for result in ranking.rows:
        rows.append(_row(result))
        if ranking.quota_line_drawn and result.rank == ranking.quota:
            line_at = len(rows) + 1  # +1: the header row
            rows.append(("",) * len(HEADER))
    table = kit.grid_table(doc, HEADER, rows, widths=WIDTHS)
    if line_at is not None:
        cells = table.rows[line_at].cells
        merged = cells[0].merge(cells[-1])
        merged.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
        kit.set_chinese_font(merged.paragraphs[0].add_run(_quota_line(ranking)), kit.HEADING_FONT, kit.WU_HAO, bold=True)
    return table


def review_summary(ranking):
    """The review summary (评审结果汇总表) of a class ranking, as .docx bytes."""
    call_class = ranking.call_class
    title = "评审结果汇总表"
    doc = kit.new_document(title=title)
    _landscape(doc)
    kit.title_block(doc, title, subtitle=call_class.call.title)
    today = timezone.localdate(timezone=SHANGHAI)
    facts = [
        f"课题类别：{call_class.code}类 {call_class.name}",
        f"评审轮次：{ranking.round.name if ranking.round else '（尚无评审）'}",
        f"限额：{ranking.quota} 项　入围：{ranking.shortlist_size} 项　参评课题：{len(ranking.rows)} 项",
        f"制表日期：{today.year}年{today.month}月{today.day}日",
    ]
    kit.paragraphs(doc, "\n".join(facts))
    _table(doc, ranking)
    rules = ranking.rules
    kit.paragraphs(doc, "\n".join(NOTES).format(
        min_valid=rules.min_valid, trim_from=rules.trim_from, normalise_min=rules.normalise_min,
        spread=rules.disagreement_spread,
    ))
    return kit.to_bytes(doc)
