"""The identity check of the anonymous part (活页): names, units and places of the team must not appear.

The terms are the PI's and members' names, the PI's unit and the members'
units, and the place names the applicant gave; they are searched in the
argument and in every text part of the anonymous attachments (body, headers,
footers, comments, document properties). A hit blocks submission and the
formal check runs the same scan again.
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from .models import ARGUMENT_FIELDS, AttachmentPart

MIN_TERM_LENGTH = 2
SNIPPET_RADIUS = 12


@dataclass(frozen=True)
class Leak:
    term: str
    where: str
    snippet: str


def identity_terms(project):
    """Every string that would identify the team, longest first (so 华东师范大学 before 华东)."""
    terms = {project.pi.real_name, project.pi.username if project.pi.real_name == "" else ""}
    if project.pi.institution_id:
        terms.add(project.pi.institution.name)
    for member in project.members.all():
        terms.update({member.name, member.unit})
    for place in (project.place_names or "").replace("，", ",").replace("、", ",").split(","):
        terms.add(place)
    return sorted({t.strip() for t in terms if t and len(t.strip()) >= MIN_TERM_LENGTH}, key=len, reverse=True)


def anonymous_texts(project):
    """(where, text) of everything an expert would read: title, keywords, argument, anonymous files."""
    from .uploads import extract_text_parts

    field_labels = {f.name: str(f.verbose_name) for f in project._meta.fields}
    yield str(field_labels["title"]), project.title
    yield str(field_labels["keywords"]), "；".join(project.keywords or [])
    for name in ARGUMENT_FIELDS:
        yield field_labels[name], getattr(project, name) or ""
    for attachment in project.attachments.filter(part=AttachmentPart.ANONYMOUS):
        with attachment.file.open("rb") as handle:
            data = handle.read()
        for where, text in extract_text_parts(attachment.content_type, data):
            yield f"{attachment.original_name} · {where}", text


def report_texts(report):
    """(where, text) of the completion materials' anonymous copy: the summary report and its file."""
    from .uploads import content_type_of, extract_text_parts

    yield str(report._meta.get_field("summary_report").verbose_name), report.summary_report or ""
    if report.anonymous_file:
        with report.anonymous_file.open("rb") as handle:
            data = handle.read()
        for where, text in extract_text_parts(content_type_of(data), data):
            yield f"{report.anonymous_file_name or report.anonymous_file.name} · {where}", text


def find_identity_leaks(project):
    return _leaks(identity_terms(project), anonymous_texts(project))


def find_report_leaks(report):
    """The identity check of a completion's anonymous copy (the formal check of 结题)."""
    return _leaks(identity_terms(report.project), report_texts(report))


def _leaks(terms, texts):
    leaks = []
    for where, text in texts:
        for term in terms:
            at = text.find(term)
            if at >= 0:
                snippet = text[max(0, at - SNIPPET_RADIUS): at + len(term) + SNIPPET_RADIUS]
                leaks.append(Leak(term=term, where=where, snippet=snippet))
    return leaks


def describe_leaks(leaks):
    places = "；".join(f"“{leak.term}”（{leak.where}）" for leak in leaks)
    return _("The anonymous part reveals the team: %(places)s. Write *** instead.") % {"places": places}
