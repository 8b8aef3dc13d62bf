"""How long the Word documents take: one 申请书 and one 活页, then both for a whole call.

Run after ``manage.py migrate && manage.py load_demo``:

    .venv/bin/python bench/documents.py

Prints figures only; nothing here passes or fails.
"""

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db.models import Count  # noqa: E402

from projects.demo import CALLS  # noqa: E402
from projects.documents import anonymous_form, application_form  # noqa: E402
from projects.models import Call, Project  # noqa: E402

RUNS = 30
YEAR = 2023


def with_everything(queryset):
    """Projects with every row their documents read, in a fixed number of queries."""
    return queryset.select_related(
        "call", "call_class", "guide_topic", "pi", "institution", "pi__institution"
    ).prefetch_related("members", "budget_lines", "planned_outputs", "attachments")


def timed(build, project, runs=RUNS):
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        build(project)
        seconds.append(time.perf_counter() - start)
    return seconds


def describe(label, seconds):
    median = statistics.median(seconds) * 1000
    p90 = statistics.quantiles(seconds, n=10)[-1] * 1000
    print(f"{label}: median {median:.1f} ms, p90 {p90:.1f} ms ({len(seconds)} runs)")


def main():
    spec = next(spec for spec in CALLS if spec.year == YEAR)
    call = Call.objects.filter(year=spec.year, title=spec.title).first()
    if call is None:
        print(f"The {YEAR} demo call ({spec.title}) is not in the database: run manage.py load_demo first.")
        return 1
    projects = with_everything(Project.objects.filter(call=call))
    # The demo project with the largest team: the longest tables of the 申请书.
    sample = projects.annotate(team=Count("members")).order_by("-team", "pk").first()
    if sample is None:
        print(f"The {YEAR} demo call has no projects: run manage.py load_demo again.")
        return 1
    print(f"Sample project: {sample.pk} ({len(sample.members.all())} members); documents built from memory")
    describe("申请书 (application_form)", timed(application_form, sample))
    describe("活页 (anonymous_form)", timed(anonymous_form, sample))

    start = time.perf_counter()
    sizes = {"申请书": [], "活页": []}
    for project in with_everything(Project.objects.filter(call=call)):
        sizes["申请书"].append(len(application_form(project)))
        sizes["活页"].append(len(anonymous_form(project)))
    total = time.perf_counter() - start
    count = len(sizes["活页"])
    print(f"All projects of {call.title}: {count} projects, both documents in {total:.2f} s "
          f"({total / count * 1000:.1f} ms a project, queries included)")
    for kind, values in sizes.items():
        print(f"  {kind}: average {statistics.mean(values) / 1024:.1f} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
