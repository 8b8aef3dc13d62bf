"""Load benchmark of the key pages against a running server: ``python bench/load.py [--host URL]``.

    .venv/bin/python bench/load.py                       # make services + load_scale: the defaults
    .venv/bin/python bench/load.py --password keti-demo-2023 --host http://127.0.0.1:8000
    .venv/bin/python bench/load.py --plan                # only show the chosen targets

Prints figures only (no pass/fail on time): for each key page the number of
requests, the errors, p50 / p95 / p99 and the throughput, and beside them the same
figures of ``/healthz`` (a view that touches no database and no template: the
framework's floor) measured in the same run, and the ratio page / floor, which is
the figure that counts: it says what our code adds to what gunicorn and Django cost
anyway on this machine. Two runs: one desk alone (the time of each page, nothing
queued before it), then ``--users`` desks at once (the same pages under load, where
the floor's time includes the wait for a free gunicorn worker).

How. The settings of the stack are read from ``var/services/env`` (written by
``make services``; ``--env`` names another file, ``export K=V`` lines) into the
environment before ``django.setup()``, so this script reads the database the server
reads; the server is SITE_URL of that file unless ``--host`` says otherwise. The
targets are chosen from the database by role and relation, never by username
pattern, so the same run works on the demo data (``--password keti-demo-2023``) and
on the scale data (``manage.py load_scale``, whose password is the default):

* call: the call open for applications, else the newest public one; home lists it;
* applicant dashboard: PIs of projects (not the secretariat), the newest project's
  title must be on the page;
* expert dashboard, dossier, review form post: experts with an assignment in an
  open round, open to them, declaration signed, with a review in draft (or, when
  there is none anywhere, with no review yet: the first post then creates the
  draft and accepts the invitation). The post is the form's "save draft" with the
  values already saved, so the reviews stay as they were; it must redirect to the
  dossier, which must then show the success message;
* secretariat queue: the formal-check queue filtered on the call with the most
  proposals waiting for it; ranking: the class ranking of the class with the most
  submitted reviews (a call under review first);
* archive search and API search: the most frequent keywords of the archive that
  find something.

The passwords are checked here against the stored hashes before any login is
tried, so that a wrong ``--password`` never sets off the login lockout.

The load is ``locust`` (bench/locustfile.py, run headless in a subprocess on this
machine): simulated desks, each with an anonymous, an applicant, an expert and a
secretary session (logged in once through the login page), loop over all pages
(shuffled, no think time) after one unrecorded warm-up pass. Each run is bounded
in count (``--solo`` / ``--samples`` loops in all, so every page gets that many
requests) and in time (``--duration`` seconds, whichever comes first). An error is
a failed connection, an unexpected status (redirects are not followed, so a lost
session is an error) or a failed content check; the percentiles are those of the
successful requests, measured by the client (so they include the client's own
scheduling: the load generator shares the machine with the server).

The server must run with the rate limits off (``RATELIMIT_ENABLE=false``, e.g.
``RATELIMIT_ENABLE=false make services``): every simulated user comes from
127.0.0.1, and the login, API and search limits are per address.
"""

import argparse
import html
import json
import os
import random
import shlex
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from math import ceil
from pathlib import Path
from urllib.parse import urlencode, urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAGES = [
    ("home", "home"),
    ("call", "call page"),
    ("dashboard", "applicant dashboard"),
    ("expert", "expert dashboard"),
    ("dossier", "dossier"),
    ("review-post", "review form post"),
    ("queue", "secretariat queue"),
    ("ranking", "ranking"),
    ("archive", "archive search"),
    ("api", "API search"),
    ("floor", "floor: /healthz"),
]
FLOOR = "floor"
SUCCESS_MESSAGE = 'class="success"'  # the messages framework's tag, in any language


def load_env(path):
    """``export K=V`` lines (shell-quoted values) into ``os.environ``, as ``. path`` would."""
    names = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        words = shlex.split(line, comments=True)
        if words[:1] == ["export"]:
            words = words[1:]
        if len(words) == 1 and "=" in words[0]:
            name, value = words[0].split("=", 1)
            os.environ[name] = value
            names.append(name)
    return names


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", help="the server (default: SITE_URL of the env file, else http://127.0.0.1:8000)")
    parser.add_argument("--env", default=str(ROOT / "var" / "services" / "env"),
                        help="settings of the stack, sourced before django.setup() if the file exists "
                             "(default: var/services/env)")
    parser.add_argument("--password", default="keti-scale",
                        help="password of the chosen accounts (scale data: keti-scale, the default; "
                             "demo data: keti-demo-2023)")
    parser.add_argument("--users", type=int, default=20, help="concurrent simulated desks (default 20)")
    parser.add_argument("--samples", type=int, default=200,
                        help="loops over all pages in all, i.e. requests per page (default 200)")
    parser.add_argument("--duration", type=int, default=300,
                        help="time bound in seconds, whatever the count (default 300)")
    parser.add_argument("--solo", type=int, default=50,
                        help="loops of a first run with one desk, for the time of each page alone (default 50; "
                             "0: none)")
    parser.add_argument("--spawn-rate", type=float, help="desks started per second (default: all within a second)")
    parser.add_argument("--no-warmup", action="store_true", help="no unrecorded first pass over the pages")
    parser.add_argument("--seed", type=int, default=20237)
    parser.add_argument("--plan", action="store_true", help="print the chosen targets and stop")
    parser.add_argument("--keep", action="store_true", help="keep the plan, samples and locust log (path printed)")
    return parser.parse_args()


# ---- targets --------------------------------------------------------------------------------


def choose_targets(args, rng):
    """The pages and accounts of the plan, from the database; (pages, roles, notes)."""
    from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Q, Value, When
    from django.utils import timezone

    from accounts import roles
    from accounts.models import User
    from archive import search
    from archive.models import Record
    from projects.models import Call, Project
    from projects.workflow import CallState, ProjectState
    from reviews.models import (BLOCKING_STATUSES, OPEN_TO_EXPERT, Assignment, Conflict, DeclarationSignature, Review,
                                ReviewRound, Stage)
    from reviews.workflow import ReviewState, RoundState

    esc = html.escape
    notes, pages, people = [], {}, {}
    now = timezone.now()

    # The call: open for applications now, else the newest public one.
    public = Call.objects.exclude(state=CallState.DRAFT)
    call = (public.filter(state=CallState.PUBLISHED, opens_at__lte=now, deadline__gte=now).first()
            or public.order_by("-year", "-opens_at").first())
    pages["floor"] = [dict(session="anon", paths=["/healthz"], markers=["ok"])]
    if call:
        pages["home"] = [dict(session="anon", paths=["/"], markers=[esc(call.title)])]
        pages["call"] = [dict(session="anon", paths=[f"/calls/{call.pk}/"], markers=[esc(call.title)])]
        notes.append(f"call: {call.title} [{call.state}], pk {call.pk}")
    else:
        pages["home"] = [dict(session="anon", paths=["/"], markers=[])]
        notes.append("no public call: the call page is left out")

    # Applicants: PIs of projects, outside the secretariat; their newest project's title on the dashboard.
    secretariat = User.objects.filter(groups__name=roles.SECRETARIAT)
    newest = {}
    for pi_id, title in (Project.objects.filter(pi__is_active=True).exclude(pi__in=secretariat)
                         .order_by("pi_id", "-created_at").values_list("pi_id", "title")):
        newest.setdefault(pi_id, title)
    chosen = rng.sample(sorted(newest), min(args.users, len(newest)))
    usernames = dict(User.objects.filter(pk__in=chosen).values_list("pk", "username"))
    people["applicant"] = [usernames[pk] for pk in chosen]
    pages["dashboard"] = [dict(session="applicant", who=usernames[pk], paths=["/dashboard/"],
                               markers=[esc(newest[pk])]) for pk in chosen]
    notes.append(f"applicants: {len(chosen)} of {len(newest)} PIs")

    # Experts: one assignment each in an open round, open to them, declaration signed, no blocking
    # conflict, with a review in draft (saved again as it is); failing any, without a review yet
    # (the first save creates the draft and accepts the invitation, the later ones save it again).
    signed = DeclarationSignature.objects.filter(expert_id=OuterRef("expert_id"), round_id=OuterRef("round_id"))
    blocked = Conflict.objects.filter(project_id=OuterRef("project_id"), expert_id=OuterRef("expert_id"),
                                      status__in=BLOCKING_STATUSES)
    open_to_them = (Assignment.objects.filter(status__in=OPEN_TO_EXPERT, round__state=RoundState.OPEN,
                                              expert__active=True, expert__user__is_active=True,
                                              expert__user__groups__name=roles.EXPERT)
                    .filter(Exists(signed)).exclude(Exists(blocked)).order_by("pk"))
    kind = "a review in draft"
    candidates = open_to_them.filter(review__state=ReviewState.DRAFT)
    if not candidates.exists():
        kind = "no review yet (the first post creates a draft)"
        candidates = open_to_them.filter(review=None)
    one_each = {}
    for pk, expert_id in candidates.values_list("pk", "expert_id"):
        one_each.setdefault(expert_id, pk)
    picked = rng.sample(sorted(one_each.values()), min(args.users, len(one_each)))
    assignments = (Assignment.objects.filter(pk__in=picked).order_by("pk")
                   .select_related("round", "project", "expert__user", "review"))
    people["expert"] = []
    for name in ("expert", "dossier", "review-post"):
        pages[name] = []
    for assignment in assignments:
        review = getattr(assignment, "review", None) or Review()
        who, token = assignment.expert.user.username, assignment.token
        dossier = f"/review/{token}/"
        people["expert"].append(who)
        pages["expert"].append(dict(session="expert", who=who, paths=["/review/"], markers=[token]))
        pages["dossier"].append(dict(session="expert", who=who, paths=[dossier],
                                     markers=[esc(assignment.project.title), "data-review-form"]))
        scores = review.scores or {}
        data = {f"score-{c['key']}": "" if scores.get(c["key"]) is None else str(scores[c["key"]])
                for c in assignment.round.form["criteria"]}
        data.update(recommendation=review.recommendation, comments_to_applicant=review.comments_to_applicant,
                    comments_to_committee=review.comments_to_committee, action="save")
        pages["review-post"].append(dict(session="expert", who=who, method="POST", paths=[dossier], data=data,
                                         status=302, location=dossier,
                                         then=dict(path=dossier, markers=[SUCCESS_MESSAGE])))
    notes.append(f"experts: {len(picked)} of the {len(one_each)} with an assignment in an open round and {kind}"
                 if picked else "no expert with an assignment open to them in an open round: expert pages left out")

    # The secretariat: the queue of the call with most proposals waiting, the ranking of a busy class.
    people["secretary"] = list(secretariat.filter(is_active=True).order_by("pk").values_list("username", flat=True))
    waiting = (Project.objects.filter(state=ProjectState.ENDORSED).values("call_id").annotate(n=Count("pk"))
               .order_by("-n", "-call_id").first())
    queue_call = waiting["call_id"] if waiting else (call.pk if call else None)
    if queue_call:
        first = (Project.objects.filter(call_id=queue_call, state=ProjectState.ENDORSED)
                 .exclude(receipt_number=None).values_list("receipt_number", flat=True).first())
        pages["queue"] = [dict(session="secretary", paths=[f"/secretariat/formal-check/?call={queue_call}"],
                               markers=[first] if first else ["<table"])]
        notes.append(f"queue: call pk {queue_call}, {waiting['n'] if waiting else 0} proposals waiting")
    reviewing_first = Case(When(call_class__call__state=CallState.REVIEWING, then=Value(0)), default=Value(1),
                           output_field=IntegerField())
    ranked = (ReviewRound.objects.filter(stage=Stage.APPLICATION)
              .annotate(n=Count("assignments__review", filter=Q(assignments__review__state=ReviewState.SUBMITTED)))
              .select_related("call_class__call")
              .order_by(reviewing_first, "-n", "-pk").first())
    if ranked:
        cls = ranked.call_class
        pages["ranking"] = [dict(session="secretary", paths=[f"/ranking/classes/{cls.pk}/"],
                                 markers=[esc(cls.call.title), 'class="ranking"'])]
        notes.append(f"ranking: class {cls.code} of {cls.call.year}, {ranked.n} submitted reviews in {ranked.name}")
    if not people["secretary"]:
        pages.pop("queue", None)
        pages.pop("ranking", None)
        notes.append("no secretariat account: queue and ranking left out")

    # Archive words: the most frequent keywords that find something.
    keywords = Counter()
    for words in Record.objects.order_by("pk").values_list("keywords", flat=True)[:5000]:
        keywords.update(w for w in words or [] if isinstance(w, str) and w.strip())
    words = [w for w, _n in keywords.most_common(30) if search.search(w, per_page=1).count][:5]
    if words:
        pages["archive"] = [dict(session="anon", paths=[f"/archive/?{urlencode({'q': w})}" for w in words],
                                 markers=['class="archive-hits"'])]
        pages["api"] = [dict(session="anon", paths=[f"/api/archive/search?{urlencode({'q': w})}" for w in words],
                             json_count=True, markers=[])]
        notes.append(f"archive words: {'、'.join(words)}")
    else:
        notes.append("no archive word finds anything: archive pages left out")
    return pages, people, notes


def check_passwords(people, password):
    """Each chosen account is active and takes the password (checked once per distinct hash)."""
    from django.contrib.auth.hashers import check_password

    from accounts.models import User

    names = {name for group in people.values() for name in group}
    hashes = defaultdict(list)
    for username, encoded, active in User.objects.filter(username__in=names).values_list(
            "username", "password", "is_active"):
        if not active:
            sys.exit(f"account {username} is inactive")
        hashes[encoded].append(username)
    for encoded, users in hashes.items():
        if not check_password(password, encoded):
            sys.exit(f"--password is not the password of {users[0]} (and {len(users) - 1} more): "
                     f"nothing was sent to the server (the login lockout counts failures)")


def build_desks(pages, people, users):
    """One desk per simulated user: a page spec for each page (its own account's where it has one)."""
    desks = []
    for i in range(users):
        desk = {"pages": []}
        for role in ("applicant", "expert", "secretary"):
            group = people.get(role) or []
            desk[role] = group[i % len(group)] if group else None
        for key, label in PAGES:
            specs = pages.get(key) or []
            if not specs:
                continue
            spec = specs[i % len(specs)]
            if spec["session"] != "anon" and spec.get("who"):
                desk[spec["session"]] = spec["who"]  # the expert of the dossier is the one who posts
            desk["pages"].append(dict(spec, name=label, method=spec.get("method", "GET")))
        desk = {k: v for k, v in desk.items() if v is not None}
        desks.append(desk)
    return desks


def dataset_size():
    from django.db import connection

    from accounts.models import User
    from archive.models import Record
    from projects.models import Project
    from reviews.models import Assignment, ExpertProfile, Review
    from reviews.workflow import ReviewState

    submitted = Review.objects.filter(state=ReviewState.SUBMITTED).count()
    return (f"{connection.vendor} {connection.settings_dict.get('NAME')}: {Project.objects.count():,} projects, "
            f"{ExpertProfile.objects.count():,} experts, {Assignment.objects.count():,} assignments, "
            f"{Review.objects.count():,} reviews ({submitted:,} submitted), {User.objects.count():,} users, "
            f"{Record.objects.count():,} archive records")


def gunicorn_workers(host):
    """'master pid P, N workers' from the processes sharing the listening socket of ``host`` (loopback only)."""
    url = urlparse(host)
    if url.hostname not in ("127.0.0.1", "localhost"):
        return "unknown (not on this machine)"
    port = url.port or 80
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    holders = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in inodes for fd in (proc / "fd").iterdir()):
                stat = (proc / "stat").read_text()
                holders[int(proc.name)] = (int(stat.rsplit(")", 1)[1].split()[1]), stat.split("(", 1)[1].split(")")[0])
        except OSError:
            continue
    if not holders:
        return "unknown"
    masters = [pid for pid, (ppid, _name) in holders.items() if ppid not in holders]
    workers = len(holders) - len(masters)
    return f"{holders[masters[0]][1]} master pid {masters[0]}, {workers} workers" if masters else "unknown"


# ---- run and figures --------------------------------------------------------------------------


def run_locust(plan, users, spawn_rate, duration, workdir, phase):
    """One locust run of ``users`` desks over the plan; its samples and the wall time."""
    plan_path = workdir / f"plan-{phase}.json"
    plan = dict(plan, results=str(workdir / f"samples-{phase}.json"))
    plan_path.write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")
    log = workdir / f"locust-{phase}.log"
    command = [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
               "-H", plan["host"], "-u", str(users), "-r", str(spawn_rate or users),
               "-t", f"{duration}s", "--loglevel", "WARNING", "--only-summary"]
    env = dict(os.environ, KETI_LOAD_PLAN=str(plan_path))
    started = time.time()
    with open(log, "w") as out:
        code = subprocess.call(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=str(ROOT))
    elapsed = time.time() - started
    results = Path(plan["results"])
    if code not in (0, 1) or not results.exists():
        sys.stdout.write(log.read_text()[-4000:])
        sys.exit(f"locust ended with code {code}; log: {log}")
    return json.loads(results.read_text()), elapsed


def percentile(ordered, q):
    return ordered[max(0, ceil(q * len(ordered)) - 1)] if ordered else None


def figures(samples):
    """Per page name: requests, errors, sorted times of the successes, reasons of the errors."""
    by_name = defaultdict(lambda: {"n": 0, "errors": 0, "times": [], "reasons": Counter()})
    for name, _start, ms, ok, reason in samples:
        row = by_name[name]
        row["n"] += 1
        if ok:
            row["times"].append(ms)
        else:
            row["errors"] += 1
            row["reasons"][reason] += 1
    for row in by_name.values():
        row["times"].sort()
    return by_name


def print_table(by_name, window):
    def ms(value):
        return "—" if value is None else f"{value:,.1f}"

    def ratio(value, floor):
        return "—" if value is None or not floor else f"{value / floor:,.1f}x"

    floor = by_name.get(dict(PAGES)[FLOOR])
    floor_times = floor["times"] if floor else []
    f50, f95 = percentile(floor_times, 0.50), percentile(floor_times, 0.95)
    header = (f"{'page':<22} {'requests':>8} {'errors':>6} {'error %':>7} {'p50 ms':>9} {'p95 ms':>9} "
              f"{'p99 ms':>9} {'req/s':>7} {'p50/floor':>9} {'p95/floor':>9}")
    print(header)
    print("-" * len(header))
    for key, label in PAGES:
        row = by_name.get(label)
        if row is None:
            print(f"{label:<22} {'no target in the data':>30}")
            continue
        t = row["times"]
        p50, p95, p99 = percentile(t, 0.50), percentile(t, 0.95), percentile(t, 0.99)
        rate = row["n"] / window if window else 0
        print(f"{label:<22} {row['n']:>8} {row['errors']:>6} {100 * row['errors'] / row['n']:>6.1f}% "
              f"{ms(p50):>9} {ms(p95):>9} {ms(p99):>9} {rate:>7.1f} "
              f"{'' if key == FLOOR else ratio(p50, f50):>9} {'' if key == FLOOR else ratio(p95, f95):>9}")


def report(title, result, elapsed, samples_bound, duration):
    """The table of one phase, and what went wrong in it."""
    samples = result["samples"]
    measured = [s for s in samples if not s[0].startswith("~")]
    logins = [s for s in samples if s[0] == "~login"]
    window = (max(s[1] + s[2] / 1000 for s in measured) - min(s[1] for s in measured)) if measured else 0
    bound = "count" if result["loops"] >= samples_bound and elapsed < duration else "time"
    print()
    print(f"{title}: {elapsed:.0f} s with the logins and the warm-up, stopped by the {bound} bound; "
          f"{len(measured):,} measured requests in {window:.1f} s = {len(measured) / window if window else 0:,.1f} "
          f"req/s; {len(logins)} logins, {sum(1 for s in logins if not s[3])} refused")
    by_name = figures(samples)
    print_table(by_name, window)
    for _key, label in PAGES:
        row = by_name.get(label)
        if row and row["reasons"]:
            reasons = "; ".join(f"{n} × {reason}" for reason, n in row["reasons"].most_common(3))
            print(f"  errors of {label}: {reasons}")
    login_errors = Counter(s[4] for s in samples if s[0].startswith("~login") and not s[3])
    for reason, n in login_errors.most_common(3):
        print(f"  login errors: {n} × {reason}")


def main():
    args = parse_args()
    env_names = load_env(args.env) if Path(args.env).exists() else []
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    host = (args.host or os.environ.get("SITE_URL") or "http://127.0.0.1:8000").rstrip("/")

    import django

    django.setup()
    from django.conf import settings

    rng = random.Random(args.seed)
    pages, people, notes = choose_targets(args, rng)
    desks = build_desks(pages, people, args.users)
    print(f"server: {host} ({gunicorn_workers(host)})")
    print(f"settings: {args.env if env_names else 'the environment'}; DEBUG={settings.DEBUG}, "
          f"search backend {settings.SEARCH_BACKEND}")
    print(f"data: {dataset_size()}")
    for note in notes:
        print(f"  {note}")
    if os.environ.get("RATELIMIT_ENABLE", "true").lower() in ("1", "true", "yes", "on"):
        print("  warning: RATELIMIT_ENABLE is not false in these settings; if the server limits too, "
              "logins, the API and the search pages will answer 429 (errors below)")
    if args.plan:
        print(json.dumps(desks[:2], ensure_ascii=False, indent=1))
        return
    check_passwords(people, args.password)

    workdir = Path(tempfile.mkdtemp(prefix="keti-load-"))
    plan = {"host": host, "password": args.password, "seed": args.seed, "warmup": not args.no_warmup,
            "desks": desks}
    print(f"each desk: an anonymous, an applicant, an expert and a secretary session; {len(desks[0]['pages'])} "
          f"pages per loop, shuffled, no think time, after an unrecorded warm-up pass")
    print("times: measured by the client, successful requests only; floor = /healthz in the same run "
          "(no database, no template); error = failed connection, unexpected status or failed content check")
    sys.stdout.flush()
    if args.solo:
        solo = dict(plan, samples=args.solo, users=1, desks=desks[:1])
        result, elapsed = run_locust(solo, 1, 1, args.duration, workdir, "solo")
        report(f"1 desk, one request at a time ({args.solo} loops): the time of each page alone", result,
               elapsed, args.solo, args.duration)
        sys.stdout.flush()
    load = dict(plan, samples=args.samples, users=args.users)
    result, elapsed = run_locust(load, args.users, args.spawn_rate, args.duration, workdir, "load")
    report(f"{args.users} desks at once ({args.samples} loops in all, at most {args.duration} s): under load",
           result, elapsed, args.samples, args.duration)
    print("  under load every request, the floor's too, waits for a free gunicorn worker; the one-desk table "
          "gives each page's own cost")
    if args.keep:
        print(f"plans, samples and locust logs kept in {workdir}")
    else:
        for path in workdir.iterdir():
            path.unlink()
        workdir.rmdir()


if __name__ == "__main__":
    main()
