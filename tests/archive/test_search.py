"""Archive search, on both backends: it finds exactly the records that contain what was asked.

The reference is a plain substring test over the Records in the database: a
record is found by a Chinese word exactly when one of its searched fields
contains the word as written. ``CONTENT_FIELDS`` are what the brief calls the
record's text; ``PEOPLE_FIELDS`` are searched too (so a search for 老年大学
also finds the projects *of* 北京老年大学), which are the only "extra" hits
allowed, and the tests say so separately.
"""

import math
import random
import re

import jieba
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from archive import search
from archive.models import Record
from archive.search import FILTERS, MAX_PER_PAGE, text
from tests.archive.factories import RecordFactory

CONTENT_FIELDS = ("title", "keywords", "abstract", "outputs")
PEOPLE_FIELDS = ("members", "pi_name", "unit_name", "field")
CJK_WORD = re.compile(r"[\u4e00-\u9fff]{2,}")
NAMED_WORDS = ("学分银行", "老年大学", "乡村振兴", "社区教育")


def field_texts(record, names):
    return ["；".join(record.keywords) if name == "keywords" else getattr(record, name) or "" for name in names]


def containing(records, word, names):
    return {r.number for r in records if any(word in value for value in field_texts(r, names))}


def expected_hits(records, word):
    """(numbers whose content contains ``word``, numbers whose people/unit/field contain it)."""
    return containing(records, word, CONTENT_FIELDS), containing(records, word, PEOPLE_FIELDS)


def found(query, **kwargs):
    result = search.search(query, per_page=MAX_PER_PAGE, **kwargs)
    numbers = [hit.number for hit in result.hits]
    assert len(numbers) == len(set(numbers)) == result.count, query
    return set(numbers)


def mismatch(records, query):
    """None when ``search(query)`` finds exactly the records containing it, else what went wrong."""
    content, people = expected_hits(records, query)
    hits = found(query)
    missing = content - hits
    unexplained = hits - content - people
    not_found_in_people = (people - content) - hits
    if missing or unexplained or not_found_in_people:
        return {"query": query, "missing": sorted(missing), "unexplained": sorted(unexplained),
                "people_missing": sorted(not_found_in_people)}
    return None


def jieba_words(records):
    """Every word of ≥ 2 CJK characters jieba finds in the records' content, in any of its modes, and the keywords."""
    words = set()
    for record in records:
        for value in (record.title, *record.keywords, record.abstract, record.outputs):
            for cut in (jieba.cut(value), jieba.cut(value, HMM=False), jieba.cut(value, cut_all=True),
                        jieba.cut_for_search(value)):
                words.update(w for w in cut if CJK_WORD.fullmatch(w))
        words.update(k for k in record.keywords if CJK_WORD.fullmatch(k))
    return sorted(words)


# ---- finding words ---------------------------------------------------------------------


def test_every_jieba_word_finds_exactly_the_records_containing_it(samples):
    words = jieba_words(samples)
    assert len(words) >= 300
    failures = [m for word in words if (m := mismatch(samples, word))]
    assert failures == [], f"{len(failures)} of {len(words)} words: {failures[:5]}"


@pytest.mark.parametrize("word", NAMED_WORDS)
def test_named_words_are_found_however_jieba_cuts_them(samples, word):
    content, people = expected_hits(samples, word)
    assert content, f"the sample sheet mentions {word}"
    assert found(word) == content | people
    assert mismatch(samples, word) is None


def test_jieba_alone_would_miss_them():
    """Why the index holds bigrams: jieba cuts these words into parts (a word index would not find them whole)."""
    assert list(jieba.cut("学分银行")) == ["学分", "银行"]
    assert list(jieba.cut("乡村振兴战略")) != ["乡村振兴", "战略"]


def test_any_piece_of_text_finds_exactly_the_records_containing_it(samples):
    """300 random pieces of 2–6 characters of the records' runs, and pieces across punctuation."""
    rng = random.Random(2023)
    runs = sorted({run for r in samples for v in field_texts(r, CONTENT_FIELDS) for run in CJK_WORD.findall(v)})
    pieces = set()
    while len(pieces) < 300:
        run = rng.choice(runs)
        length = rng.randint(2, min(6, len(run)))
        start = rng.randrange(len(run) - length + 1)
        pieces.add(run[start : start + length])
    across = {a[-1] + b[0] for a, b in zip(runs, runs[1:])}  # mostly nowhere: must find nothing
    failures = [m for piece in sorted(pieces | across) if (m := mismatch(samples, piece))]
    assert failures == []


def test_absent_words_find_nothing(samples):
    for word in ("量子计算", "区块链", "银学", "zebra"):
        assert search.search(word).count == 0


def test_latin_words_and_numbers_are_found(search_backend):
    record = RecordFactory(title="AI赋能社区教育研究", abstract="基于ChatGPT的MOOC学习分析。", number="TEST2024A007")
    RecordFactory()
    search.index_records(Record.objects.all())
    assert found("ai") == found("AI") == {record.number}
    assert found("chatgpt") == found("MOOC") == {record.number}
    assert found("TEST2024A007") == {record.number}


def test_a_long_query_that_is_nowhere_whole_falls_back_to_its_words(search_backend):
    record = RecordFactory(abstract="本课题调查社区老年学习共同体的组织形态与运行机制。")
    other = RecordFactory(abstract="研究运行机制。", keywords=[], title="职工教育研究", outputs="")
    search.index_records([record, other])
    assert "学习共同体运行机制" not in record.abstract
    assert found("学习共同体运行机制") == {record.number}
    assert found("运行机制") == {record.number, other.number}


def test_single_characters_are_found(samples):
    for char in ("乡", "银", "书"):
        content, people = expected_hits(samples, char)
        assert found(char) == content | people


# ---- filters, facets, sorting, pages -------------------------------------------------------


@pytest.mark.parametrize("query", ["", "社区教育", "老年"])
def test_facets_count_and_filters_select_exactly_the_matching_records(samples, query):
    content, people = expected_hits(samples, query)
    matching = Record.objects.filter(number__in=content | people)
    result = search.search(query, per_page=MAX_PER_PAGE)
    assert result.count == matching.count() > 0
    assert set(result.facets) == set(FILTERS)
    for name in FILTERS:
        values = set(matching.exclude(**{name: ""}).values_list(name, flat=True)) if name != "year" else set(
            matching.values_list("year", flat=True))
        facet = dict(result.facets[name])
        assert set(facet) == values, name
        counts = [n for _value, n in result.facets[name]]
        assert counts == sorted(counts, reverse=True), name
        for value, count in result.facets[name]:
            expected = set(matching.filter(**{name: value}).values_list("number", flat=True))
            assert count == len(expected), (name, value)
            assert found(query, filters={name: value}) == expected, (name, value)
    for name in ("year", "class_code", "state"):
        assert sum(dict(result.facets[name]).values()) == result.count


def test_filters_combine_and_take_strings(samples):
    year = samples[0].year
    expected = set(Record.objects.filter(year=year, state="completed").values_list("number", flat=True))
    assert found("", filters={"year": str(year), "state": "completed"}) == expected
    assert found("", filters={"year": "", "grade": None}) == {r.number for r in samples}


def test_bad_filters(samples):
    assert search.search("", filters={"year": "二〇二一"}).count == 0
    with pytest.raises(ValueError, match="unknown search filter"):
        search.search("", filters={"pi": "邱涛"})
    with pytest.raises(ValueError, match="unknown sort"):
        search.search("", sort="title")


@pytest.mark.parametrize("query", ["", "教育"])
def test_sort_by_year_then_number(samples, query):
    hits = search.search(query, sort="year", per_page=MAX_PER_PAGE).hits
    assert len(hits) > 5
    assert [(-h.year, h.number) for h in hits] == sorted((-h.year, h.number) for h in hits)


def test_empty_query_lists_every_record_by_year(samples):
    result = search.search("", per_page=MAX_PER_PAGE)
    assert result.count == 40
    assert [h.number for h in result.hits] == list(Record.objects.order_by("-year", "number").values_list("number", flat=True))


def test_relevance_puts_title_matches_first(search_backend):
    in_title = RecordFactory(title="社区学习共同体培育研究", abstract="调查与对策。", keywords=[], outputs="")
    in_outputs = RecordFactory(title="职工教育研究", abstract="调查与对策。", keywords=[],
                               outputs="论文《学习共同体的理论》")
    search.index_records([in_outputs, in_title])
    hits = search.search("学习共同体").hits
    assert [h.number for h in hits] == [in_title.number, in_outputs.number]
    assert hits[0].score >= hits[1].score > 0


def test_pages(samples):
    pages = [search.search("", page=p, per_page=7) for p in range(1, 7)]
    assert [len(p.hits) for p in pages] == [7, 7, 7, 7, 7, 5]
    assert {(p.count, p.pages) for p in pages} == {(40, 6)}
    assert [p.page for p in pages] == [1, 2, 3, 4, 5, 6]
    numbers = [h.number for p in pages for h in p.hits]
    assert len(numbers) == len(set(numbers)) == 40
    last = search.search("", page=99, per_page=7)
    assert (last.page, [h.number for h in last.hits]) == (6, [h.number for h in pages[-1].hits])
    word = search.search("教育", page=2, per_page=3)
    assert (word.count, word.page, word.pages, len(word.hits)) == (len(found("教育")), 2, math.ceil(word.count / 3), 3)


# ---- snippets ------------------------------------------------------------------------------


@pytest.mark.parametrize("word", NAMED_WORDS)
def test_snippets_mark_the_word(samples, word):
    by_number = {r.number: r for r in samples}
    hits = search.search(word, per_page=MAX_PER_PAGE).hits
    marked = [h for h in hits if word in by_number[h.number].abstract or word in by_number[h.number].title]
    assert marked
    for hit in marked:
        assert f"<mark>{word}</mark>" in hit.snippet, hit.snippet


def test_snippets_are_escaped_and_plain_without_a_query(search_backend):
    record = RecordFactory(abstract="<script>alert(1)</script> 学分银行 & 终身学习档案的衔接机制研究。")
    search.index_records([record])
    snippet = search.search("学分银行").hits[0].snippet
    assert "<" not in re.sub(r"</?mark>", "", snippet)  # markup of the text is escaped (or left out)
    assert "<mark>学分银行</mark>" in snippet and "&amp;" in snippet
    plain = search.search("").hits[0].snippet
    assert "<mark>" not in plain and "&lt;script&gt;" in plain


def test_snippet_falls_back_to_the_title(search_backend):
    record = RecordFactory(title="乡村振兴背景下的农民培训研究", abstract="本课题调查农民培训的现状。")
    search.index_records([record])
    assert "<mark>乡村振兴</mark>" in search.search("乡村振兴").hits[0].snippet


# ---- keeping the index in step -------------------------------------------------------------


def test_an_edited_record_is_found_by_its_new_words_only(samples):
    record = Record.objects.get(number=samples[0].number)
    old_word = "监测指标"
    assert old_word in record.title
    record.title = "元宇宙学习空间建设研究"
    record.save()
    search.index_records([record])
    assert record.number in found("元宇宙")
    assert record.number not in found(old_word)
    assert mismatch(list(Record.objects.all()), old_word) is None


def test_removed_numbers_are_no_longer_found(samples):
    gone = samples[1]
    search.remove_numbers([gone.number, "NO-SUCH-NUMBER"])
    assert gone.number not in found("")
    assert gone.number not in found(gone.title)
    assert search.search("").count == 39


def test_rebuild_indexes_every_record_and_reports_progress(samples):
    Record.objects.filter(number=samples[2].number).delete()
    fresh = RecordFactory(title="社区书院建设研究")
    calls = []
    search.rebuild(progress=lambda done, total: calls.append((done, total)), batch_size=16)
    assert calls[0] == (0, 40) and calls[-1] == (40, 40)
    assert [done for done, _total in calls] == sorted(done for done, _total in calls)
    assert search.search("").count == 40
    assert found("社区书院") == {fresh.number}
    assert samples[2].number not in found("")


def test_index_terms_keep_phrases_inside_one_run():
    terms = text.segment("学分，分银行")
    # 学分 and 分银 are both there, but never at consecutive positions: "学分银行" is not a phrase of it.
    positions = {t: i for i, t in enumerate(terms)}
    assert positions["分银"] - positions["学分"] != 1
    assert text.segment("AI赋能") == ["ai", "赋能", "赋", "能"]


def test_jieba_loads_once():
    text.warm_up()
    assert jieba.dt.initialized
    text.warm_up()


def test_postgres_backend_needs_postgresql(db, settings):
    if connection.vendor == "postgresql":
        pytest.skip("the database is PostgreSQL here")
    settings.SEARCH_BACKEND = "postgres"
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        search.search("学分银行")


def test_unknown_backend_is_refused(db, settings):
    settings.SEARCH_BACKEND = "elastic"
    with pytest.raises(ImproperlyConfigured, match="SEARCH_BACKEND"):
        search.search("学分银行")


def test_whoosh_facets_and_filters_span_segments(db, settings, tmp_path):
    """Documents in several segments, one without any grade: the columns line up with the documents."""
    from archive.search import whoosh_backend

    settings.SEARCH_BACKEND = "whoosh"
    settings.SEARCH_INDEX_DIR = tmp_path / "segments"
    graded = [RecordFactory(year=2019, grade="good", state="completed") for _ in range(3)]
    ungraded = [RecordFactory(year=2021) for _ in range(2)]
    for batch in (ungraded, graded, [RecordFactory(year=2020, grade="excellent", state="completed")]):
        with whoosh_backend._lock:
            writer = whoosh_backend._index().writer()
            for record in batch:
                writer.add_document(**whoosh_backend.document(record))
            writer.commit(merge=False)
    assert len(whoosh_backend._searcher().reader().leaf_readers()) == 3
    result = search.search("")
    assert dict(result.facets["grade"]) == {"good": 3, "excellent": 1}
    assert dict(result.facets["year"]) == {2019: 3, 2021: 2, 2020: 1}
    assert found("", filters={"grade": "good"}) == {r.number for r in graded}
    assert [h.year for h in result.hits] == [2021, 2021, 2020, 2019, 2019, 2019]


def test_an_index_of_an_older_schema_starts_again(db, settings, tmp_path, caplog):
    from whoosh import fields, index

    from archive.search import whoosh_backend

    settings.SEARCH_BACKEND = "whoosh"
    settings.SEARCH_INDEX_DIR = path = tmp_path / "old"
    path.mkdir()
    index.create_in(str(path), fields.Schema(number=fields.ID(stored=True), body=fields.TEXT))
    whoosh_backend._close()
    record = RecordFactory(title="学分银行建设研究")
    search.index_records([record])
    assert found("学分银行") == {record.number}
    assert "rebuild_archive_index" in caplog.text


def test_servers_warm_jieba_up_at_start(monkeypatch):
    from django.apps import apps

    monkeypatch.setattr(text, "_ready", False)
    monkeypatch.delenv("KETI_WARM_JIEBA", raising=False)
    apps.get_app_config("archive").ready()
    assert text._ready is False  # commands and tests load it on first use
    monkeypatch.setenv("KETI_WARM_JIEBA", "1")
    apps.get_app_config("archive").ready()
    assert text._ready is True
