"""The database search backend: jieba-segmented text in the application's own PostgreSQL.

``index_records`` writes ``Record.search_text`` (the index terms of ``text.py``
joined by spaces); PostgreSQL keeps ``search_vector = to_tsvector('simple',
search_text)`` beside it, GIN-indexed (migration 0003). A query is a
``tsquery`` of phrases (``'学分' <-> '分银' <-> '银行'``), ranked by
``ts_rank``; filters are plain ``WHERE`` clauses of the ORM queryset, and the
count and every facet come from one plain aggregation of it (``GROUP BY
GROUPING SETS``); snippets come from ``ts_headline`` on the text spaced one
character a word, the spaces taken out again afterwards.

Limits of ``tsvector`` to know: positions stop at 16,383 and a term keeps at
most 256 of them, so a phrase in a record of more than about 16,000 index
terms (some 7,000 characters of text) may not be found past that point.
"""

import html

from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import BooleanField, FloatField
from django.db.models.expressions import RawSQL

from . import FILTERS, Hit, SearchResult, page_bounds, sorted_facet, text

# to_tsvector('simple', search_text), stored by PostgreSQL and GIN-indexed (see migration 0003).
VECTOR = '"archive_record"."search_vector"'
SNIPPET_WORDS = 120  # ts_headline "words": characters of Chinese text (as many as the Whoosh snippet)
START, STOP = "\ue000", "\ue001"  # private-use markers, turned into <mark> after escaping
HEADLINE_OPTIONS = (
    f"StartSel={START}, StopSel={STOP}, MaxWords={SNIPPET_WORDS}, MinWords={SNIPPET_WORDS // 2}, "
    "ShortWord=0, HighlightAll=false, MaxFragments=0"
)


def check_database():
    if connection.vendor != "postgresql":
        raise ImproperlyConfigured(
            "SEARCH_BACKEND is 'postgres' but the database is "
            f"{connection.vendor}: point DATABASE_URL at PostgreSQL, or set SEARCH_BACKEND=whoosh."
        )


def _phrase(terms):
    # Terms are runs of letters, digits or CJK characters (see text.py): nothing to escape.
    return " <-> ".join(f"'{term}'" for term in terms)


def match_query(clauses):
    return " & ".join(f"({_phrase(c.terms)})" for c in clauses)


def rank_query(clauses):
    """The match query with each whole word OR-ed in, so that a record holding it as a word ranks higher."""
    return " & ".join(f"(({_phrase(c.terms)}) | '{c.word}')" if c.word else f"({_phrase(c.terms)})" for c in clauses)


def headline_query(clauses):
    """The clauses as phrases of single characters, to match the text spaced by ``spaced_for_headline``."""
    return " & ".join(
        f"({_phrase(tuple(c.text) if text.is_cjk(c.text) else c.terms)})" for c in clauses
    )


def _matching(clauses, filters):
    from archive.models import Record

    records = Record.objects.exclude(search_text="")
    if clauses:
        records = records.filter(
            RawSQL(f"{VECTOR} @@ to_tsquery('simple'::regconfig, %s)", [match_query(clauses)],
                   output_field=BooleanField())
        )
    return records.filter(**filters)


def _count_and_facets(records):
    """The number of matches and the facets, in one pass: ``GROUP BY GROUPING SETS ((year), …, ())``."""
    sql, params = records.order_by().values(*FILTERS).query.sql_with_params()
    columns = ", ".join(connection.ops.quote_name(name) for name in FILTERS)
    flags = ", ".join(f"GROUPING({connection.ops.quote_name(name)})" for name in FILTERS)
    sets = ", ".join(f"({connection.ops.quote_name(name)})" for name in FILTERS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns}, {flags}, COUNT(*) FROM ({sql}) AS matching GROUP BY GROUPING SETS ({sets}, ())",
            params,
        )
        rows = cursor.fetchall()
    count, counts = 0, {name: [] for name in FILTERS}
    width = len(FILTERS)
    for row in rows:
        values, grouped_out, n = row[:width], row[width : 2 * width], row[-1]
        if all(grouped_out):
            count = n
            continue
        i = grouped_out.index(0)
        counts[FILTERS[i]].append((values[i], n))
    return count, {name: sorted_facet(pairs) for name, pairs in counts.items()}


def search(clauses, filters, sort, page, per_page):
    records = _matching(clauses, filters)
    count, facets = _count_and_facets(records)
    page, pages = page_bounds(count, page, per_page)
    if sort == "relevance" and clauses:
        records = records.annotate(
            rank=RawSQL(f"ts_rank({VECTOR}, to_tsquery('simple'::regconfig, %s))", [rank_query(clauses)],
                        output_field=FloatField())
        ).order_by("-rank", "-year", "number")
    else:
        records = records.order_by("-year", "number")
    start = (page - 1) * per_page
    rows = list(records.only(
        "number", "title", "class_code", "year", "pi_name", "unit_name", "keywords", "state", "grade", "abstract",
    )[start : start + per_page]) if count else []
    snippets = _snippets(rows, clauses)
    hits = [
        Hit(
            number=r.number,
            title=r.title,
            class_code=r.class_code,
            year=r.year,
            pi_name=r.pi_name,
            unit_name=r.unit_name,
            keywords=tuple(r.keywords or ()),
            state=r.state,
            grade=r.grade,
            snippet=snippet,
            score=float(getattr(r, "rank", 0.0) or 0.0),
        )
        for r, snippet in zip(rows, snippets)
    ]
    return SearchResult(count=count, hits=hits, facets=facets, page=page, pages=pages)


def _snippets(rows, clauses):
    """The abstract (else the title) around its matches: ``ts_headline`` picks the piece, marked exactly.

    ``ts_headline`` also marks single characters of a phrase that occur apart,
    so its marks only choose the piece; the marks shown are the exact
    occurrences of the query's clauses (``text.match_spans``).
    """
    if not clauses:
        return [_plain(r.abstract or r.title) for r in rows]
    sources = []
    for r in rows:
        source = next((value for value in (r.abstract, r.title) if text.match_spans(value, clauses)), None)
        sources.append(source)
    chosen = [text.spaced_for_headline(source) for source in sources if source is not None]
    headlines = iter(())
    if chosen:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT ts_headline('simple'::regconfig, t, q, %s) "
                "FROM unnest(%s::text[]) WITH ORDINALITY AS u(t, i), to_tsquery('simple'::regconfig, %s) AS q "
                "ORDER BY i",
                [HEADLINE_OPTIONS, chosen, headline_query(clauses)],
            )
            headlines = iter([row[0] for row in cursor.fetchall()])
    return [
        _marked(next(headlines), source, clauses) if source is not None else _plain(r.abstract or r.title)
        for r, source in zip(rows, sources)
    ]


def _marked(headline, source, clauses):
    """The headline's piece of ``source`` as HTML: escaped, exact matches in <mark>, ``…`` where it was cut."""
    piece = text.unspace_headline(headline).replace(START, "").replace(STOP, "")
    flat = " ".join((source or "").split())
    spans = text.match_spans(piece, clauses)
    parts, at = [], 0
    for start, end in spans:
        parts.append(html.escape(piece[at:start], quote=False))
        parts.append(f"<mark>{html.escape(piece[start:end], quote=False)}</mark>")
        at = end
    parts.append(html.escape(piece[at:], quote=False))
    body = "".join(parts)
    if piece and not flat.startswith(piece):
        body = "…" + body
    if piece and not flat.endswith(piece):
        body += "…"
    return body


def _plain(value):
    value = value or ""
    if len(value) > SNIPPET_WORDS:
        return html.escape(value[:SNIPPET_WORDS]) + "…"
    return html.escape(value)


def index_records(records):
    from archive.models import Record

    for record in records:
        record.search_text = text.search_text(record)
    Record.objects.bulk_update(records, ["search_text"], batch_size=500)


def remove_numbers(numbers):
    from archive.models import Record

    Record.objects.filter(number__in=numbers).update(search_text="")


def rebuild(progress=None, batch_size=500):
    from archive.models import Record

    total = Record.objects.count()
    if progress:
        progress(0, total)
    done = 0
    last_pk = 0
    while True:
        batch = list(Record.objects.filter(pk__gt=last_pk).order_by("pk")[:batch_size])
        if not batch:
            break
        index_records(batch)
        done += len(batch)
        last_pk = batch[-1].pk
        if progress:
            progress(min(done, total), total)
    return done
