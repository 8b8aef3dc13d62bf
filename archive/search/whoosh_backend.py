"""The embedded search backend: a Whoosh index on disk under ``settings.SEARCH_INDEX_DIR``.

Every searchable text of a Record goes into one field, ``content``, analysed by
``ArchiveTokenizer`` (bigrams, characters and jieba words of each Chinese run,
see ``text.py``): it decides what matches; the title, indexed again with a
boost, and jieba's whole words only rank. The filters are ``ID`` and ``NUMERIC``
columns, which also give the facets and the year order (``Columns``). Only the
page of hits is scored (``TopCollector``). One writer at a time: a lock in
the process and Whoosh's own file lock across processes (a second writer waits
up to ``WRITE_TIMEOUT`` seconds); deployments send index updates to one Celery
worker (queue ``archive-index``, concurrency 1) so that writers rarely meet.
One searcher per process, opened lazily and replaced when the index changed.
"""

import heapq
import html
import logging
import re
import threading
from array import array
from collections import Counter
from pathlib import Path

from django.conf import settings
from whoosh import fields, index, query, writing
from whoosh.analysis import Token, Tokenizer
from whoosh.highlight import ContextFragmenter, HtmlFormatter, get_text, highlight

from . import FILTERS, Hit, SearchResult, page_bounds, sorted_facet, text

logger = logging.getLogger(__name__)

WRITE_TIMEOUT = 120  # seconds a writer waits for another process's writer
SNIPPET_CHARS = 120
BOOSTS = {"title": 3.0}  # field boosts for ranking; ``content`` alone decides what matches
ID_FILTERS = tuple(name for name in FILTERS if name != "year")


class ArchiveTokenizer(Tokenizer):
    """Whoosh's view of ``text.index_tokens``: one position per term, in index order."""

    def __eq__(self, other):
        return other.__class__ is self.__class__

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        for pos, (term, start, end) in enumerate(text.index_tokens(value)):
            token.text = term
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = term
            if positions:
                token.pos = start_pos + pos
            if chars:
                token.startchar = start_char + start
                token.endchar = start_char + end
            yield token


def schema():
    """``content`` (every searchable text, one field) decides what matches; the title adds rank."""

    def text_field(boost=1.0, stored=False):
        return fields.TEXT(analyzer=ArchiveTokenizer(), phrase=True, stored=stored, field_boost=boost)

    return fields.Schema(
        number=fields.ID(stored=True, unique=True, sortable=True),
        content=text_field(),
        title=text_field(BOOSTS["title"], stored=True),
        year=fields.NUMERIC(int, stored=True, sortable=True),
        abstract=fields.STORED(),
        pi_name=fields.STORED(),
        keyword_list=fields.STORED(),
        **{name: fields.ID(stored=True, sortable=True) for name in ID_FILTERS},
    )


def document(record):
    doc = {
        "number": record.number,
        # One text per line: a phrase never runs from one into the next (see text.py).
        "content": "\n".join(text.record_texts(record)),
        "title": record.title,
        "year": int(record.year),
        "abstract": record.abstract,
        "pi_name": record.pi_name,
        "keyword_list": tuple(record.keywords or ()),
    }
    for name in ID_FILTERS:
        value = getattr(record, name)
        if value:
            doc[name] = str(value)
    return doc


# ---- the index, its writer and the process's searcher -------------------------------------

_lock = threading.RLock()  # guards _state and serialises this process's writers and searches
_state = {"path": None, "index": None, "searcher": None, "columns": None}
_INDEX_FILE = re.compile(r"^_?MAIN_")


def _index():
    """The open index at ``SEARCH_INDEX_DIR`` (created empty when missing); call with ``_lock`` held."""
    path = Path(settings.SEARCH_INDEX_DIR)
    if _state["path"] != path or _state["index"] is None:
        _close()
        path.mkdir(parents=True, exist_ok=True)
        ix = index.open_dir(str(path)) if index.exists_in(str(path)) else None
        if ix is not None and not _schema_is_current(ix):
            logger.warning(
                "The archive search index in %s was built by an older version: it starts again empty. "
                "Run “manage.py rebuild_archive_index” to index every record.", path,
            )
            _remove_index_files(path)
            ix = None
        _state.update(path=path, index=ix or index.create_in(str(path), schema()))
    return _state["index"]


def _remove_index_files(path):
    for leftover in path.iterdir():
        if _INDEX_FILE.match(leftover.name):
            leftover.unlink()


def _close():
    if _state["searcher"] is not None:
        _state["searcher"].close()
    _state.update(path=None, index=None, searcher=None, columns=None)


def _searcher():
    """The process's searcher, replaced when a writer committed since it was opened.

    Not ``Searcher.refresh()``: in whoosh-reloaded 2.7.5 it reuses the open
    segment readers by segment id, so it misses documents deleted from a
    segment it already had (and keeps segments merged away).
    """
    ix = _index()
    searcher = _state["searcher"]
    if searcher is not None and not searcher.up_to_date():
        searcher.close()
        searcher = None
    if searcher is None:
        searcher = _state["searcher"] = ix.searcher()
    return searcher


def _signature(of_schema):
    return sorted(
        (name, type(f).__name__, type(f.analyzer).__name__, f.stored, f.column_type is not None, f.scorable)
        for name, f in of_schema.items()
    )


def _schema_is_current(ix):
    return _signature(ix.schema) == _signature(schema())


def index_records(records):
    with _lock:
        writer = _index().writer(timeout=WRITE_TIMEOUT)
        try:
            for record in records:
                writer.update_document(**document(record))
        except BaseException:
            writer.cancel()
            raise
        writer.commit()


def remove_numbers(numbers):
    with _lock:
        writer = _index().writer(timeout=WRITE_TIMEOUT)
        for number in numbers:
            writer.delete_by_term("number", number)
        writer.commit()


def rebuild(progress=None, batch_size=500):
    from archive.models import Record

    records = Record.objects.order_by("pk")
    total = records.count()
    if progress:
        progress(0, total)
    with _lock:
        writer = _index().writer(timeout=WRITE_TIMEOUT, limitmb=256)
        try:
            done = 0
            for record in records.iterator(chunk_size=batch_size):
                writer.add_document(**document(record))
                done += 1
                if progress and (done % batch_size == 0 or done == total):
                    progress(done, total)
        except BaseException:
            writer.cancel()
            raise
        writer.commit(mergetype=writing.CLEAR)
    return total


# ---- searching -----------------------------------------------------------------------------


def _in_field(name, clause):
    if len(clause.terms) == 1:
        return query.Term(name, clause.terms[0])
    return query.Phrase(name, list(clause.terms))


def _matching_query(clauses):
    """What must match: every clause in ``content``."""
    return query.And([_in_field("content", c) for c in clauses])


def _ranking_query(clauses):
    """Scores for the records already matched: their terms, in the content and (boosted) the title.

    Plain terms, not phrases: the matching pass already made sure of the
    phrases, and term matchers cost a fraction of phrase matchers (which
    decode positions). A record where jieba found a clause as one word gets
    that word's score on top.
    """
    parts = []
    for clause in clauses:
        for term in dict.fromkeys(clause.terms):
            parts += [query.Term("content", term), query.Term("title", term)]
        if clause.word:
            parts.append(query.Term("content", clause.word))
    return query.Or(parts)


class Columns:
    """The filter values of every document of one searcher, as small codes, and the year order.

    Counting facets and filtering from these arrays costs a fraction of
    Whoosh's ``groupedby`` (which walks its categorizers document by
    document). Built once per searcher, on its first search: some 10 ms per
    column and 20,000 documents.
    """

    def __init__(self, searcher):
        reader = searcher.reader()
        self.size = reader.doc_count_all()
        self.codes, self.values, self.code_of = {}, {}, {}
        for name in FILTERS:
            table = {}
            self.codes[name] = array("I", (table.setdefault(value, len(table)) for value in self._column(reader, name)))
            self.values[name] = list(table)
            self.code_of[name] = table
        numbers = list(self._column(reader, "number"))
        years = [self.values["year"][code] for code in self.codes["year"]]
        order = sorted(range(self.size), key=lambda doc: (-years[doc], numbers[doc]))
        self.rank = array("I", bytes(4 * self.size))
        for position, doc in enumerate(order):
            self.rank[doc] = position

    @staticmethod
    def _column(reader, name):
        """Every document's value, segment by segment (a multi-segment reader skips the segments
        that lack the column, where a segment's own reader gives its default value)."""
        for segment_reader, _offset in reader.leaf_readers():
            if segment_reader.doc_count_all():  # an empty index's reader has no columns at all
                yield from segment_reader.column_reader(name, translate=True)

    def select(self, docs, name, value):
        code = self.code_of[name].get(value)
        codes = self.codes[name]
        return {doc for doc in docs if codes[doc] == code} if code is not None else set()

    def facet(self, docs, name):
        values, counts = self.values[name], Counter(map(self.codes[name].__getitem__, docs))
        return sorted_facet((values[code], n) for code, n in counts.items())


def _columns(searcher):
    if _state["columns"] is None or _state["columns"][0] is not searcher:
        _state["columns"] = (searcher, Columns(searcher))
    return _state["columns"][1]


def search(clauses, filters, sort, page, per_page):
    with _lock:
        searcher = _searcher()
        columns = _columns(searcher)
        if clauses:
            docs = set(searcher.docs_for_query(_matching_query(clauses)))
        else:
            docs = set(searcher.reader().all_doc_ids())
        for name, value in filters.items():
            docs = columns.select(docs, name, value)
        count = len(docs)
        page, pages = page_bounds(count, page, per_page)
        start, stop = (page - 1) * per_page, page * per_page
        if not docs:
            found = []
        elif sort == "year":
            found = [(doc, 0.0) for doc in heapq.nsmallest(stop, docs, key=columns.rank.__getitem__)[start:]]
        else:
            results = searcher.search(_ranking_query(clauses), limit=stop, filter=docs)
            found = [(hit.docnum, hit.score) for hit in results[start:stop]]
        hits = [_hit(searcher.stored_fields(doc), score, clauses) for doc, score in found]
        facets = {name: columns.facet(docs, name) for name in FILTERS}
    return SearchResult(count=count, hits=hits, facets=facets, page=page, pages=pages)


def _hit(stored, score, clauses):
    return Hit(
        number=stored["number"],
        title=stored.get("title", ""),
        class_code=stored.get("class_code", ""),
        year=stored.get("year"),
        pi_name=stored.get("pi_name", ""),
        unit_name=stored.get("unit_name", ""),
        keywords=tuple(stored.get("keyword_list", ())),
        state=stored.get("state", ""),
        grade=stored.get("grade", ""),
        snippet=snippet(stored.get("abstract", ""), stored.get("title", ""), clauses),
        score=float(score or 0.0),
    )


# ---- snippets ------------------------------------------------------------------------------

_MATCH = "\x00match"


class _Spans:
    """An "analyzer" for ``whoosh.highlight.highlight``: each match one token, every other character one too.

    The fragmenter measures its context in tokens' characters, so the text
    between matches is given character by character.
    """

    def __init__(self, spans):
        self.spans = spans

    def __call__(self, value, chars=True, **kwargs):
        def token(term, start, end):
            t = Token(chars=True)
            t.text, t.startchar, t.endchar, t.boost = term, start, end, 1.0
            return t

        at = 0
        for start, end in self.spans + [(len(value), len(value))]:
            for i in range(at, start):
                yield token(value[i], i, i + 1)
            if end > start:
                yield token(_MATCH, start, end)
            at = end


class MarkFormatter(HtmlFormatter):
    """``<mark>`` around the matches, ``…`` where the fragment cuts the text."""

    def __init__(self):
        super().__init__(tagname="mark", between="…")

    def format_token(self, text, token, replace=False):
        return f"<mark>{html.escape(get_text(text, token, replace), quote=False)}</mark>"

    def format_fragment(self, fragment, replace=False):
        body = super().format_fragment(fragment, replace)
        if fragment.startchar > 0:
            body = "…" + body
        if fragment.endchar < len(fragment.text):
            body += "…"
        return body


def snippet(abstract, title, clauses):
    """A piece of the abstract (else the title) around the matches, HTML-safe, matches in ``<mark>``."""
    for value in (abstract, title):
        spans = text.match_spans(value, clauses) if clauses else []
        if spans:
            fragmenter = ContextFragmenter(maxchars=SNIPPET_CHARS, surround=SNIPPET_CHARS // 3)
            return highlight(value, {_MATCH}, _Spans(spans), fragmenter, MarkFormatter(), top=1)
    value = abstract or title or ""
    if len(value) > SNIPPET_CHARS:
        return html.escape(value[:SNIPPET_CHARS]) + "…"
    return html.escape(value)
