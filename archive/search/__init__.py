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
"""

from dataclasses import dataclass, field

FILTERS = ("year", "class_code", "state", "unit_name", "field", "grade")


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
