"""The blind dossier (匿名评审材料): what an expert may know of a proposal, and nothing more.

Experts see only the anonymous part of an application (活页). Rather than
trusting every template and document to leave out the PI, the team, the unit
and the numbers, expert-facing code receives a ``BlindDossier``: a frozen value
built by one function, ``blind_dossier``, that reads only the anonymous fields
of a project. A field that is not here cannot be printed by mistake.
"""

import re
from dataclasses import dataclass

from .models import OutputKind, ResearchType

# The argument (课题论证) in the order of the 活页, with the heading of each section;
# the same fields as ``models.ARGUMENT_FIELDS`` (a test holds the two together).
ARGUMENT_SECTIONS = (
    ("basis", "选题依据"),
    ("content", "研究内容"),
    ("approach", "思路方法"),
    ("innovation", "创新之处"),
    ("expected_outcomes", "预期成果"),
    ("foundation", "研究基础"),
    ("references", "参考文献"),
)

# Documents are in Chinese whatever the reader's interface language is.
RESEARCH_TYPE_LABELS = {
    ResearchType.BASIC: "基础研究",
    ResearchType.APPLIED: "应用研究",
    ResearchType.COMPREHENSIVE: "综合研究",
}
OUTPUT_FORM_LABELS = {
    OutputKind.PAPER: "论文",
    OutputKind.BOOK: "专著",
    OutputKind.REPORT: "研究报告",
    OutputKind.ADVISORY: "咨询报告",
    OutputKind.OTHER: "其他",
}
FREE_TOPIC = "自选课题"

# The mid-term report (中期报告) as the mid-term round's experts read it, in this order.
MIDTERM_SECTIONS = (
    ("progress", "研究进展"),
    ("outputs_so_far", "阶段性成果"),
    ("problems", "存在问题"),
    ("plan", "下一步计划"),
)
MASK = "***"


@dataclass(frozen=True, kw_only=True)
class BlindDossier:
    """The anonymous part of one proposal, as an expert reviews it.

    There is deliberately no field for a person (PI, members), a unit, a number
    (receipt number, project number, the database id), a phone, an e-mail or the
    budget: any of them would tell the expert whose proposal it is, or let a
    page link back to the project. The uploaded files of the anonymous part are
    left out too, because their names (e.g. "张三-前期成果.pdf") may give the
    author away. The dossier is served under the opaque id of a review
    assignment, never under the project's id, and is frozen so that nothing
    downstream can add to it.

    Field names avoid even the look of identity ("theme", not "guide_topic"),
    so that a test can check the whole list mechanically.
    """

    call_title: str
    call_year: int
    class_code: str
    class_label: str
    theme: str  # the guide topic (选题指南) the proposal answers, or 自选课题
    title: str
    keywords: tuple[str, ...]
    research_type: str
    discipline: str
    sections: tuple[tuple[str, str], ...]  # (heading, text) in the order of ARGUMENT_SECTIONS
    planned_outputs: tuple[tuple[str, str], ...]  # (form, title)
    # At the completion appraisal (结题鉴定): the summary report of the materials, the anonymous
    # copy that passed the formal check's identity scan. Empty at the other stages.
    completion_summary: str = ""
    # At the mid-term review round (中期检查): the latest mid-term report, its four parts under their
    # headings, with every identity term of the team replaced by ***. Empty at the other stages.
    # (Not "midterm_…": the field-name test would read "id" in it.)
    interim_summary: str = ""

    @property
    def argument_length(self):
        """Characters of the argument, the measure of the 活页's limit."""
        return sum(len(text) for _heading, text in self.sections)


def blind_dossier(project, stage="application"):
    """The ``BlindDossier`` of ``project``, read from its anonymous part alone.

    At the completion stage the anonymous copy of the latest checked completion
    materials is added (never the work report, the outputs' authors or the files);
    at the mid-term stage the latest mid-term report, anonymised (never its file).
    """
    call, call_class, topic = project.call, project.call_class, project.guide_topic
    return BlindDossier(
        call_title=call.title,
        call_year=call.year,
        class_code=call_class.code,
        class_label=call_class.name,
        theme=topic.title if topic is not None else FREE_TOPIC,
        title=project.title,
        keywords=tuple(str(keyword) for keyword in project.keywords or ()),
        research_type=RESEARCH_TYPE_LABELS.get(project.research_type, ""),
        discipline=project.discipline,
        sections=tuple((heading, getattr(project, name) or "") for name, heading in ARGUMENT_SECTIONS),
        planned_outputs=tuple(
            (OUTPUT_FORM_LABELS.get(output.kind, OUTPUT_FORM_LABELS[OutputKind.OTHER]), output.title)
            for output in project.planned_outputs.all()
        ),
        completion_summary=_completion_summary(project) if stage == "completion" else "",
        interim_summary=_interim_summary(project) if stage == "midterm" else "",
    )


def _completion_summary(project):
    report = project.completion_reports.filter(state__in=("accepted", "appraised")).order_by("-attempt").first()
    return report.summary_report if report is not None else ""


def _interim_summary(project):
    """The latest mid-term report as one text under its headings, anonymised.

    Mid-term reports are written by the PI for the secretariat and never pass an
    identity check, so the names, units and places of the team (and the
    project's numbers and the PI's contacts) are masked here before an expert
    can read them.
    """
    from .identity import identity_terms

    report = project.midterm_reports.order_by("-submitted_at", "-pk").first()
    if report is None:
        return ""
    text = "\n\n".join(
        f"【{heading}】\n{(getattr(report, name) or '').strip() or '无'}" for name, heading in MIDTERM_SECTIONS
    )
    pi = project.pi
    extra = (project.number, project.receipt_number, pi.email, pi.phone)
    return anonymised(text, [*identity_terms(project), *extra])


def anonymised(text, terms):
    """``text`` with every occurrence of each of ``terms`` replaced by ***.

    Longer terms are replaced first (华东师范大学 before 华东) and letters match
    whatever their case; empty terms are ignored.
    """
    terms = sorted({term.strip() for term in terms if term and term.strip()}, key=len, reverse=True)
    if not terms or not text:
        return text or ""
    pattern = re.compile("|".join(re.escape(term) for term in terms), re.IGNORECASE)
    return pattern.sub(MASK, text)
