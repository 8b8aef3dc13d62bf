"""The archive's pages: the public search, the public project page, the export, the secretariat's search.

Every page reads the archive through two doors only: ``archive.search.search`` for
finding (ranks, facets, snippets) and ``Record`` for showing. The public project
page and the API go further and hand templates a ``PublicRecord``, a frozen
projection that has a field for each public datum and nothing else, so that no
template can reach a linked ``Project`` by mistake.
"""

from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from config.ratelimits import limited
from projects import access

from . import search as archive_search
from .models import ArchiveState, Record, RecordGrade, RecordSource

PER_PAGE = 20
EXPORT_MAX_ROWS = 5000
FACET_SHOWN = 10  # values listed before "more"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Query parameter -> name in ``archive.search.FILTERS``. The parameter names are
# the short ones of the public API; pages and API share them.
FILTER_PARAMS = {
    "year": "year",
    "class": "class_code",
    "state": "state",
    "unit": "unit_name",
    "field": "field",
    "grade": "grade",
}
SORTS = ("relevance", "year")


# ---- parameters ---------------------------------------------------------------------


@dataclass(frozen=True)
class SearchParams:
    query: str = ""
    filters: dict = None  # search filter name -> value
    sort: str = "relevance"
    page: int = 1

    def run(self, per_page=PER_PAGE, page=None):
        return archive_search.search(
            self.query, filters=dict(self.filters or {}), sort=self.sort,
            page=self.page if page is None else page, per_page=per_page,
        )


def parse_search_params(data, allowed=tuple(FILTER_PARAMS)):
    """Read ``q``, the filters of ``allowed``, ``sort`` and ``page`` from a QueryDict.

    Returns ``(params, errors)``: ``errors`` maps a parameter to a message saying
    how to fix it; the offending parameter is left out of ``params``. Pages show
    the messages and go on, the API answers 400 with them.
    """
    errors = {}
    filters = {}
    for param in allowed:
        value = data.get(param, "").strip()
        if not value:
            continue
        if param == "year":
            try:
                year = int(value)
            except ValueError:
                errors[param] = _("The year must be a whole number such as 2023, not “%(value)s”.") % {"value": value}
                continue
            if not 1 <= year <= 32767:
                errors[param] = _("The year %(value)s is out of range.") % {"value": value}
                continue
            filters["year"] = year
        elif param == "state" and value not in ArchiveState.values:
            errors[param] = _("Unknown state “%(value)s”; use one of: %(choices)s.") % {
                "value": value, "choices": ", ".join(ArchiveState.values)}
        elif param == "grade" and value not in RecordGrade.values:
            errors[param] = _("Unknown grade “%(value)s”; use one of: %(choices)s.") % {
                "value": value, "choices": ", ".join(RecordGrade.values)}
        elif param == "class" and not Record.objects.filter(class_code=value).exists():
            errors[param] = _("Unknown class “%(value)s”.") % {"value": value}
        else:
            filters[FILTER_PARAMS[param]] = value
    sort = data.get("sort", "relevance") or "relevance"
    if sort not in SORTS:
        errors["sort"] = _("Sort by “relevance” or “year”, not “%(value)s”.") % {"value": sort}
        sort = "relevance"
    page = 1
    raw_page = data.get("page", "").strip()
    if raw_page:
        try:
            page = int(raw_page)
        except ValueError:
            page = 0
        if page < 1:
            errors["page"] = _("The page must be a whole number from 1 up, not “%(value)s”.") % {"value": raw_page}
            page = 1
    return SearchParams(query=data.get("q", "").strip()[:200], filters=filters, sort=sort, page=page), errors


# ---- labels -------------------------------------------------------------------------


STATE_LABELS = dict(ArchiveState.choices)
GRADE_LABELS = dict(RecordGrade.choices)


def state_label(code):
    return STATE_LABELS.get(code, code)


def grade_label(code):
    return GRADE_LABELS.get(code, code) if code else ""


def class_names():
    """Class code -> its name, as the Records carry it (one query)."""
    names = {}
    pairs = Record.objects.exclude(class_name="").values_list("class_code", "class_name").distinct().order_by()
    for code, name in sorted(pairs):
        names.setdefault(code, name)
    return names


def class_label(code, names):
    name = names.get(code)
    return f"{code} {name}" if name else code


# ---- the public projection ---------------------------------------------------------

PUBLIC_FIELDS = (
    "number", "title", "class_code", "class_name", "year", "pi_name", "unit_name", "members", "field",
    "keywords", "abstract", "state", "grade", "completed_on", "outputs",
)


@dataclass(frozen=True)
class PublicRecord:
    """What the public may know of a project (DESIGN: never scores, reviewers or the 活页)."""

    number: str
    title: str
    class_code: str
    class_name: str
    year: int
    pi_name: str
    unit_name: str
    members: tuple
    field: str
    keywords: tuple
    abstract: str
    state: str
    grade: str
    completed_on: date | None
    outputs: tuple

    @property
    def state_label(self):
        return state_label(self.state)

    @property
    def grade_label(self):
        return grade_label(self.grade)


def public_record(record):
    return PublicRecord(
        number=record.number,
        title=record.title,
        class_code=record.class_code,
        class_name=record.class_name,
        year=record.year,
        pi_name=record.pi_name,
        unit_name=record.unit_name,
        members=tuple(name.strip() for name in record.members.split("、") if name.strip()),
        field=record.field,
        keywords=tuple(record.keywords or ()),
        abstract=record.abstract,
        state=record.state,
        grade=record.grade,
        completed_on=record.completed_on,
        outputs=tuple(record.output_list),
    )


def get_public_record(number):
    """The ``PublicRecord`` of ``number``, or 404. Only Records are read, never a Project."""
    record = Record.objects.only(*PUBLIC_FIELDS).filter(number=number).first()
    if record is None:
        raise Http404(_("No project with this number in the archive."))
    return public_record(record)


# ---- the search page ----------------------------------------------------------------


def _url(base, params):
    items = [(key, value) for key, value in params.items() if value not in (None, "")]
    return f"{base}?{urlencode(items)}" if items else base


def _current_params(params):
    """The parameters that define the result (no page), as they will appear in links."""
    current = {"q": params.query}
    for param, name in FILTER_PARAMS.items():
        if name in params.filters:
            current[param] = str(params.filters[name])
    if params.sort != "relevance":
        current["sort"] = params.sort
    return current


def _facet_groups(result, current, base, names):
    """Each facet as a group of links: a value keeps every other parameter; "all" clears it."""
    titles = {
        "year": _("Year"), "class": _("Class"), "state": _("State"),
        "unit": _("Unit"), "field": _("Field"), "grade": _("Grade"),
    }
    labels = {
        "class": lambda value: class_label(value, names),
        "state": state_label,
        "grade": grade_label,
    }
    groups = []
    for param, name in FILTER_PARAMS.items():
        values = result.facets.get(name) or []
        selected = current.get(param)
        choices = []
        for value, count in values:
            if value in (None, ""):
                continue
            text = str(value)
            choices.append({
                "value": text,
                "label": labels.get(param, str)(text),
                "count": count,
                "url": _url(base, {**current, param: text}),
                "selected": text == selected,
            })
        if not choices and not selected:
            continue
        clear_url = _url(base, {k: v for k, v in current.items() if k != param}) if selected else None
        groups.append({
            "param": param, "title": titles[param], "choices": choices[:FACET_SHOWN],
            "more": choices[FACET_SHOWN:], "clear_url": clear_url, "selected": selected,
        })
    return groups


def _page_links(result, current, base):
    def link(number):
        return _url(base, {**current, "page": number if number > 1 else None})

    window = range(max(1, result.page - 3), min(result.pages, result.page + 3) + 1)
    return {
        "previous": link(result.page - 1) if result.page > 1 else None,
        "next": link(result.page + 1) if result.page < result.pages else None,
        "pages": [{"number": n, "url": link(n), "current": n == result.page} for n in window],
    }


def _search_context(request, base):
    params, errors = parse_search_params(request.GET)
    result = params.run()
    names = class_names()
    current = _current_params(params)
    hits = [
        {
            "hit": hit,
            "class_label": class_label(hit.class_code, names),
            "state_label": state_label(hit.state),
            "grade_label": grade_label(hit.grade),
            "url": reverse("archive-project", args=[hit.number]),
        }
        for hit in result.hits
    ]
    export_query = urlencode([(k, v) for k, v in current.items() if v])
    return {
        "params": params,
        "errors": errors,
        "result": result,
        "hits": hits,
        "facet_groups": _facet_groups(result, current, base, names),
        "active_filters": {param: value for param, value in current.items() if param in FILTER_PARAMS},
        "clear_all_url": _url(base, {k: v for k, v in current.items() if k not in FILTER_PARAMS}),
        "pagination": _page_links(result, current, base),
        "first_rank": (result.page - 1) * PER_PAGE + 1,
        "export_url": reverse("archive-export") + (f"?{export_query}" if export_query else ""),
        "export_max_rows": EXPORT_MAX_ROWS,
        "sorts": [("relevance", _("Relevance")), ("year", _("Year, newest first"))],
    }


@require_GET
@limited("search", methods=["GET", "HEAD"])
def search_page(request):
    """The public archive search (成果库检索)."""
    context = _search_context(request, reverse("archive-search"))
    return render(request, "archive/search.html", context)


@require_GET
@limited("search", methods=["GET", "HEAD"])
def project_page(request, number):
    """One project as the public sees it: the public fields of its Record, nothing else."""
    return render(request, "archive/project.html", {"record": get_public_record(number)})


@require_GET
@limited("search", methods=["GET", "HEAD"])
def export(request):
    """The Records of a search result, in rank order, as the 14-column import sheet (at most 5,000)."""
    from .exports import records_workbook

    params, _errors = parse_search_params(request.GET)
    result = params.run(per_page=EXPORT_MAX_ROWS, page=1)
    numbers = [hit.number for hit in result.hits][:EXPORT_MAX_ROWS]
    by_number = {}
    for start in range(0, len(numbers), 500):  # bounded IN lists, whatever the database's limit
        chunk = numbers[start:start + 500]
        by_number.update(Record.objects.defer("search_text").filter(number__in=chunk).in_bulk(field_name="number"))
    records = [by_number[number] for number in numbers if number in by_number]
    response = HttpResponse(records_workbook(records), content_type=XLSX)
    response["Content-Disposition"] = "attachment; filename=archive.xlsx"
    return response


# ---- the secretariat's search -------------------------------------------------------


@login_required
@require_GET
def staff_search_page(request):
    """The same search for the secretariat, with each Record's source and its workflow project."""
    if not access.is_secretariat(None, request.user):
        raise PermissionDenied
    context = _search_context(request, reverse("archive-staff-search"))
    numbers = [item["hit"].number for item in context["hits"]]
    internal = {
        number: (project_id, source)
        for number, project_id, source in Record.objects.filter(number__in=numbers).values_list(
            "number", "project_id", "source")
    }
    source_labels = dict(RecordSource.choices)
    for item in context["hits"]:
        project_id, source = internal.get(item["hit"].number, (None, ""))
        item["project_url"] = reverse("project-detail", args=[project_id]) if project_id else None
        item["source_label"] = source_labels.get(source, source)
    context["staff"] = True
    return render(request, "archive/search.html", context)
