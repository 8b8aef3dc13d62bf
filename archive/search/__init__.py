"""The one small interface through which the rest of Keti reaches archive search.

Two backends implement it, chosen by ``settings.SEARCH_BACKEND``: ``whoosh``
(the embedded default, an index on disk under ``SEARCH_INDEX_DIR``, jieba word
segmentation) and ``postgres`` (jieba-segmented text in a ``tsvector`` with the
``simple`` configuration and a GIN index, in the application's own database).
Both pass the same test suite.

    index_records(records)      add or replace these Records in the index
    remove_numbers(numbers)     drop these project numbers from the index
    search(query, filters=..., sort="relevance"|"year", page=1, per_page=20) -> SearchResult
    rebuild(progress=None)      re-index every Record (progress(done, total) is called as it goes)

``filters`` maps a name of ``FILTERS`` to one value. Facet counts in the
result cover every name of ``FILTERS`` for the whole result set (not only the page).

What a query means (the same in both backends, see ``text.py``): every run of
Chinese characters in it must occur in the record exactly as typed (学分银行
finds the records whose text contains 学分银行, however jieba cut that text),
and every other word must be a word of the record (case ignored); the record's
number, title, keywords, abstract, outputs, PI, members, unit and field are
searched. When that finds nothing, a long Chinese run is cut by jieba into words
that must all occur, in any place. An empty query lists every indexed record.
Only indexed records are found: a Record saved but never passed to
``index_records`` (or passed to ``remove_numbers``) is not listed.

Filters: an empty value is no filter; a year that is not a number matches
nothing; an unknown name raises ``ValueError``. Sort "relevance" (the default;
an empty query falls back to "year") or "year": year descending, then number.
``page`` is clamped to the pages there are; ``per_page`` to 1…``MAX_PER_PAGE``.
"""

import math
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

FILTERS = ("year", "class_code", "state", "unit_name", "field", "grade")
SORTS = ("relevance", "year")
BACKENDS = ("whoosh", "postgres")
MAX_PER_PAGE = 5000  # the export of a result (archive.views.export) asks for up to 5,000 at once


@dataclass(frozen=True)
class Hit:
    number: str
    title: str
    class_code: str
    year: int
    pi_name: str
    unit_name: str
    keywords: tuple
    state: str
    grade: str
    snippet: str  # HTML-safe, with the matched words in <mark>…</mark>
    score: float = 0.0


@dataclass(frozen=True)
class SearchResult:
    count: int
    hits: list
    facets: dict = field(default_factory=dict)  # name -> [(value, count), …], most frequent first
    page: int = 1
    pages: int = 1


def backend():
    """The module of the configured backend (``whoosh_backend`` or ``postgres_backend``)."""
    name = getattr(settings, "SEARCH_BACKEND", "whoosh")
    if name == "whoosh":
        from . import whoosh_backend

        return whoosh_backend
    if name == "postgres":
        from . import postgres_backend

        postgres_backend.check_database()
        return postgres_backend
    raise ImproperlyConfigured(f"SEARCH_BACKEND is {name!r}; use one of {', '.join(BACKENDS)}.")


def index_records(records):
    """Add or replace these Records (saved ones) in the index."""
    records = list(records)
    if records:
        backend().index_records(records)


def remove_numbers(numbers):
    """Drop these project numbers from the index (unknown numbers are ignored)."""
    numbers = [n for n in numbers if n]
    if numbers:
        backend().remove_numbers(numbers)


def search(query="", filters=None, sort="relevance", page=1, per_page=20):
    from .text import can_relax, parse_query

    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}; use one of {', '.join(SORTS)}")
    page = _positive_int(page, 1)
    per_page = min(_positive_int(per_page, 20), MAX_PER_PAGE)
    cleaned = _clean_filters(filters)
    if cleaned is None:
        return SearchResult(count=0, hits=[], facets={name: [] for name in FILTERS})
    engine = backend()
    clauses = parse_query(query)
    if not clauses:
        sort = "year"
    result = engine.search(clauses, cleaned, sort, page, per_page)
    if result.count == 0 and clauses and can_relax(query):
        result = engine.search(parse_query(query, relaxed=True), cleaned, sort, page, per_page)
    return result


def rebuild(progress=None, batch_size=500):
    """Re-index every Record; ``progress(done, total)`` is called after each batch."""
    return backend().rebuild(progress=progress, batch_size=batch_size)


# ---- shared by the backends ------------------------------------------------------------


def _positive_int(value, default):
    try:
        value = int(value)
    except (TypeError, ValueError):
        return default
    return max(value, 1)


def _clean_filters(filters):
    """{name: value} with empty values dropped and the year an int; None when nothing can match."""
    cleaned = {}
    for name, value in (filters or {}).items():
        if name not in FILTERS:
            raise ValueError(f"unknown search filter {name!r}; use one of {', '.join(FILTERS)}")
        if value is None or value == "":
            continue
        if name == "year":
            try:
                value = int(value)
            except (TypeError, ValueError):
                return None
        else:
            value = str(value)
        cleaned[name] = value
    return cleaned


def page_bounds(count, page, per_page):
    """(page, pages): the page clamped to 1…pages; an empty result has one empty page."""
    pages = max(1, math.ceil(count / per_page))
    return min(page, pages), pages


def sorted_facet(counts):
    """[(value, count)] most frequent first, then by value; blank values left out."""
    return sorted(((v, n) for v, n in counts if v not in (None, "") and n), key=lambda vn: (-vn[1], vn[0]))
