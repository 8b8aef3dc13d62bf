"""Archive search benchmark: ``python bench/search.py [N] [--only whoosh|postgres]`` (N defaults to 100000).

Prints figures only.

Creates N synthetic Records (numbers ``BENCH…``, words drawn from the sample
sheet) in the configured database, indexes them with every backend available
(Whoosh always, into a temporary ``SEARCH_INDEX_DIR``; PostgreSQL when the
database is PostgreSQL), times 200 searches with and without a year filter,
and the same 200 words as an ``icontains`` (LIKE) scan over title, keywords,
abstract and outputs. The BENCH records are deleted at the end, whatever
happens; nothing else in the database is changed (on PostgreSQL the other
Records' ``search_text`` is left as it is, and counted in the search).
"""

import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Q  # noqa: E402
from openpyxl import load_workbook  # noqa: E402

from archive import search  # noqa: E402
from archive.models import Record  # noqa: E402
from archive.search import text  # noqa: E402

PREFIX = "BENCH"
QUERIES = 200
BATCH = 2000
SEED = 20231
CJK_WORD = re.compile(r"[\u4e00-\u9fff]{2,}")
SHEET = ROOT / "archive" / "samples" / "historical_projects.xlsx"


def pools():
    """Word pools from the sample sheet: words of the content, keywords, people, units, fields."""
    sheet = load_workbook(SHEET, read_only=True)["课题"]
    rows = sheet.iter_rows(values_only=True)
    headers = next(rows)
    rows = [dict(zip(headers, row)) for row in rows]
    words, keywords, people, units, fields = set(), set(), set(), set(), set()
    jieba = text._jieba()
    for row in rows:
        for column in ("课题名称", "摘要", "成果"):
            words.update(w for w in jieba.cut(str(row[column] or "")) if CJK_WORD.fullmatch(w))
        keywords.update(k for k in re.split("[；;]", str(row["关键词"] or "")) if k)
        people.add(row["负责人"])
        people.update(str(row["课题组成员"] or "").split("、"))
        units.add(row["所在单位"])
        fields.add(row["学科领域"])
    return {name: sorted(x for x in pool if x) for name, pool in
            dict(words=words, keywords=keywords, people=people, units=units, fields=fields).items()}


def synthetic(i, rng, p):
    words, keywords = p["words"], p["keywords"]
    title = "".join(rng.sample(words, 3)) + rng.choice(["研究", "实践研究", "路径研究", "机制研究"])
    chosen = rng.sample(keywords, 3)
    abstract = "".join(
        f"本课题围绕{rng.choice(words)}与{rng.choice(words)}，{rng.choice(['调查', '分析', '比较', '梳理'])}"
        f"{rng.choice(words)}{rng.choice(words)}的{rng.choice(['现状', '问题', '机制', '路径'])}。"
        for _ in range(rng.randint(3, 6))
    ) + f"研究成果可为{chosen[0]}提供参考。"
    state = rng.choice(["ongoing", "completed", "completed", "terminated", "revoked"])
    return Record(
        number=f"{PREFIX}{i:07d}",
        title=title[:200],
        class_code=rng.choice("AB"),
        class_name="",
        year=rng.randint(2008, 2024),
        pi_name=rng.choice(p["people"]),
        unit_name=rng.choice(p["units"]),
        members="、".join(rng.sample(p["people"], 3)),
        field=rng.choice(p["fields"]),
        keywords=chosen,
        abstract=abstract,
        state=state,
        grade=rng.choice(["excellent", "good", "pass"]) if state == "completed" else "",
        outputs="\n".join(f"论文《{rng.choice(words)}{rng.choice(words)}研究》" for _ in range(rng.randint(1, 3))),
        source="import",
    )


def bench_records():
    return Record.objects.filter(number__startswith=PREFIX)


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def percentiles(seconds):
    ms = sorted(s * 1000 for s in seconds)
    return statistics.median(ms), ms[max(0, round(0.95 * len(ms)) - 1)]


def dir_size(path):
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def run_backend(name, queries, years):
    settings.SEARCH_BACKEND = name
    pks = list(bench_records().order_by("pk").values_list("pk", flat=True))

    def build():
        for start in range(0, len(pks), BATCH):
            search.index_records(Record.objects.filter(pk__in=pks[start : start + BATCH]))

    build_s = timed(build)
    if name == "postgres":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE archive_record")  # statistics, and the GIN pending list merged
            cursor.execute("SELECT pg_relation_size('archive_record_search_gin')")
            size = cursor.fetchone()[0]
            cursor.execute("SELECT sum(octet_length(search_text)) FROM archive_record WHERE number LIKE 'BENCH%%'")
            text_bytes = cursor.fetchone()[0]
        size_note = f"GIN index {size:,} bytes (pg_relation_size); search_text {text_bytes:,} bytes"
    else:
        size_note = f"index directory {dir_size(settings.SEARCH_INDEX_DIR):,} bytes on disk"
    search.search(queries[0])  # open the searcher / warm the caches
    plain = [timed(lambda q=q: search.search(q)) for q in queries]
    filtered = [timed(lambda q=q, y=y: search.search(q, filters={"year": y})) for q, y in zip(queries, years)]
    counts = [search.search(q, per_page=1).count for q in queries[:50]]
    print(f"[{name}] index build: {build_s:.1f} s for {len(pks)} records ({len(pks) / build_s:,.0f}/s)")
    print(f"[{name}] index size: {size_note}")
    print(f"[{name}] query (count + 6 facets + page of 20 with snippets): p50 %.1f ms, p95 %.1f ms" % percentiles(plain))
    print(f"[{name}] query with a year filter: p50 %.1f ms, p95 %.1f ms" % percentiles(filtered))
    print(f"[{name}] hits per query (first 50 words): median {statistics.median(counts):.0f}, max {max(counts)}")
    return percentiles(plain)


def like_scan(queries):
    def one(word):
        records = bench_records().filter(
            Q(title__icontains=word) | Q(keywords__icontains=word) | Q(abstract__icontains=word)
            | Q(outputs__icontains=word)
        )
        records.count()
        list(records.order_by("-year", "number").values_list("number", "title")[:20])

    one(queries[0])
    return percentiles([timed(lambda q=q: one(q)) for q in queries])


def main():
    args = sys.argv[1:]
    only = args[args.index("--only") + 1] if "--only" in args else None
    numbers = [a for a in args if a.isdigit()]
    n = int(numbers[0]) if numbers else 100_000
    rng = random.Random(SEED)
    p = pools()
    queries = [rng.choice(p["words"] + p["keywords"]) for _ in range(QUERIES)]
    years = [rng.randint(2008, 2024) for _ in range(QUERIES)]
    index_dir = tempfile.mkdtemp(prefix="keti-bench-index-")
    settings.SEARCH_INDEX_DIR = index_dir
    print(f"database: {connection.vendor}; {n} synthetic records; {QUERIES} queries "
          f"({len(p['words'])} words, {len(p['keywords'])} keywords in the pools)")
    bench_records().delete()
    try:
        made = timed(lambda: [
            Record.objects.bulk_create([synthetic(i, rng, p) for i in range(start, min(start + BATCH, n))])
            for start in range(0, n, BATCH)
        ])
        print(f"created {n} records in {made:.1f} s")
        backends = ["whoosh"] + (["postgres"] if connection.vendor == "postgresql" else [])
        backends = [b for b in backends if only in (None, b)]
        results = {name: run_backend(name, queries, years) for name in backends}
        like50, like95 = like_scan(queries)
        print(f"[like] icontains scan over title/keywords/abstract/outputs (count + page of 20): "
              f"p50 {like50:.1f} ms, p95 {like95:.1f} ms")
        for name, (p50, p95) in results.items():
            print(f"[like/{name}] ratio: p50 {like50 / p50:.1f}x, p95 {like95 / p95:.1f}x")
    finally:
        deleted, _ = bench_records().delete()
        shutil.rmtree(index_dir, ignore_errors=True)
        print(f"deleted {deleted} BENCH records and the temporary index")


if __name__ == "__main__":
    main()
