"""Chinese text for the archive search: jieba set-up, the index terms of a text, the query plan.

Both backends index the same terms and read queries the same way, so that they
find exactly the same records.

**Index terms.** A text is cut into runs of CJK characters and other words
(Latin letters and digits, lower-cased). A CJK run gives, in this order, its
character bigrams, its single characters, and the words of three or more
characters that ``jieba.cut_for_search`` finds in it::

    "老年大学学分银行" → 老年 年大 大学 学学 学分 分银 银行 | 老 年 大 学 学 分 银 行 | 老年大学

**Queries.** A CJK run of the query is a phrase of its bigrams: "学分银行" means
学分 分银 银行 at consecutive positions, which is exactly "the text contains
学分银行" whatever jieba made of the text (it cuts 学分银行 into 学分 / 银行,
and a word search would then miss or over-match). Consecutive bigrams only ever
sit inside one run (the single characters that close every run separate it from
the next), so a phrase never spans two runs, two fields or two keywords. A
single character matches its unigram; other words match themselves. The
clauses of a query (its runs and words) must all match. When the strict query
finds nothing, a CJK run of three or more characters is cut by jieba into words
that must all appear, anywhere (``relaxed``): "老年人数字化学习" then finds a
record with 老年人, 数字化 and 学习 apart. jieba's whole words give ranking
only: a record that contains the query run as one jieba word scores higher.

**jieba** loads its dictionary (about a second) once per process, lazily, under
a lock, with its log silenced. Servers and workers load it at start-up with
``warm_up()``, called from ``ArchiveConfig.ready()`` when the environment has
``KETI_WARM_JIEBA=1`` (set it in the gunicorn and celery start scripts; leave
it unset for management commands and tests, which then load it on first use).
"""

import logging
import re
import threading
from dataclasses import dataclass

import jieba

jieba.setLogLevel(logging.ERROR)

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
CJK_RUN = re.compile(f"[{_CJK}]+")
_TOKEN = re.compile(f"(?P<cjk>[{_CJK}]+)|(?P<word>(?:(?![{_CJK}])[^\\W_])+)")
MAX_WORD_LENGTH = 60  # longer Latin "words" (hashes, URLs) are cut; PostgreSQL allows 2047 bytes
MAX_QUERY_CLAUSES = 16

_ready = False
_lock = threading.Lock()


def warm_up():
    """Load jieba's dictionary now (once per process; later calls return at once)."""
    global _ready
    if _ready:
        return
    with _lock:
        if not _ready:
            jieba.initialize()
            _ready = True


def _jieba():
    if not _ready:
        warm_up()
    return jieba


def is_cjk(text):
    return bool(text) and CJK_RUN.fullmatch(text) is not None


def index_tokens(text):
    """[(term, start, end)] of ``text`` in index order (see the module docstring); offsets into ``text``."""
    tokens = []
    for match in _TOKEN.finditer(text or ""):
        start = match.start()
        if match.group("cjk"):
            run = match.group()
            tokens.extend((run[i : i + 2], start + i, start + i + 2) for i in range(len(run) - 1))
            tokens.extend((char, start + i, start + i + 1) for i, char in enumerate(run))
            if len(run) >= 3:
                tokens.extend(
                    (word, start + begin, start + end)
                    for word, begin, end in _jieba().tokenize(run, mode="search")
                    if len(word) >= 3
                )
        else:
            tokens.append((match.group().lower()[:MAX_WORD_LENGTH], start, match.end()))
    return tokens


def segment(text):
    """The words indexed for ``text``: bigrams, characters and jieba's words of each CJK run, other words."""
    return [term for term, _start, _end in index_tokens(text)]


def record_texts(record):
    """The searchable texts of a Record: number, title, keywords, abstract, outputs, PI, members, unit, field."""
    return [
        record.number,
        record.title,
        "；".join(record.keywords or ()),
        record.abstract,
        record.outputs,
        record.pi_name,
        record.members,
        record.unit_name,
        record.field,
    ]


def search_text(record):
    """``Record.search_text`` for the PostgreSQL backend: the words of every searchable text, joined by spaces.

    The title comes twice, so that ``ts_rank`` (which knows no fields) ranks a
    record higher when the words are in its title.
    """
    texts = [record.title, *record_texts(record)]
    return " ".join(word for value in texts for word in segment(value))


@dataclass(frozen=True)
class Clause:
    """One part of a query that a record must contain."""

    text: str  # the part as typed, lower-cased: what a snippet marks
    terms: tuple  # index terms at consecutive positions (a phrase when there are several)
    word: str = ""  # the whole CJK run, when it may be one jieba word (ranking only)


def _clause(text):
    text = text.lower()
    if is_cjk(text) and len(text) >= 2:
        bigrams = tuple(text[i : i + 2] for i in range(len(text) - 1))
        return Clause(text, bigrams, text if len(text) >= 3 else "")
    return Clause(text, (text[:MAX_WORD_LENGTH],))


def parse_query(query, relaxed=False):
    """The clauses of a query, all of which must match; [] for an empty query."""
    clauses = []
    for match in _TOKEN.finditer(query or ""):
        part = match.group()
        if relaxed and match.group("cjk") and len(part) >= 3:
            words = [w for w in _jieba().cut(part) if is_cjk(w)]
            longer = [w for w in words if len(w) >= 2]
            clauses.extend(_clause(w) for w in (longer or words))
        else:
            clauses.append(_clause(part))
    unique = list(dict.fromkeys(clauses))
    return unique[:MAX_QUERY_CLAUSES]


def can_relax(query):
    """Whether ``parse_query(query, relaxed=True)`` asks for something else than the strict query."""
    return parse_query(query, relaxed=True) != parse_query(query)


def match_spans(text, clauses):
    """Sorted, merged (start, end) of every occurrence of a clause in ``text`` (for snippets).

    A CJK clause occurs wherever its characters do; another word where a whole
    word of the text equals it, ignoring case.
    """
    text = text or ""
    spans = []
    words = [c.text for c in clauses if c.text and not is_cjk(c.text)]
    if words:
        spans.extend(
            match.span()
            for match in _TOKEN.finditer(text)
            if match.group("word") and match.group().lower()[:MAX_WORD_LENGTH] in words
        )
    for clause in clauses:
        if is_cjk(clause.text):
            at = text.find(clause.text)
            while at != -1:
                spans.append((at, at + len(clause.text)))
                at = text.find(clause.text, at + 1)
    merged = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def spaced_for_headline(text):
    """``text`` with a space around every CJK character, the original whitespace kept as U+001F.

    PostgreSQL's parser reads a CJK run as one word; spaced, every character is
    a word, so ``ts_headline`` can mark exactly the characters of a phrase.
    ``unspace_headline`` undoes it.
    """
    text = re.sub(r"\s+", "\x1f", text or "")
    return re.sub(f"([{_CJK}])", r" \1 ", text)


def unspace_headline(text):
    return text.replace(" ", "").replace("\x1f", " ")
