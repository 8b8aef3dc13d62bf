"""The deadline spike on the production stack's pieces: ``python bench/deadline_spike.py``.

    .venv/bin/python bench/deadline_spike.py                  # after make services: its PostgreSQL and Redis
    .venv/bin/python bench/deadline_spike.py --browsers 40 --workers 4 --tasks eager

The scenario of ``tests/projects/test_deadline_spike.py`` (``tests/projects/deadline_spike.py``):
200 applicants submit in the last minute before the deadline (20 of them clicking twice), 10
within ±0.25 s of it and 30 after it; the counts are printed and checked: every one before
the deadline stored once with its own receipt number, none after, no server error.

Where. Not in the stack's own database, whose data the load bench reads: a scratch database
``keti_spike_<pid>`` on the stack's PostgreSQL server (``DATABASE_URL`` of ``var/services/env``;
``--env`` names another file), migrated, served by a gunicorn of its own (``--workers``
processes on ``--port``) with the stack's production settings, and dropped at the end (unless
``--keep``). Side effects (documents, mail) run in a Celery worker of its own through the
stack's Redis on a database of its own (``--redis-db``, also its cache), or eagerly in the
request (``--tasks eager``). Files and mail go to a temporary directory. The processes started
here are stopped by their pid.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from load import load_env  # noqa: E402  (the same reading of var/services/env as the load bench)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default=str(ROOT / "var" / "services" / "env"),
                        help="settings of the stack (default: var/services/env)")
    parser.add_argument("--before", type=int, default=200, help="applicants in the last minute (default 200)")
    parser.add_argument("--double", type=int, default=20, help="of them clicking twice (default 20)")
    parser.add_argument("--edge", type=int, default=10, help="applicants within ±0.25 s of the deadline (default 10)")
    parser.add_argument("--after", type=int, default=30, help="applicants after the deadline (default 30)")
    parser.add_argument("--browsers", type=int, default=20, help="requests at once (default 20)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--port", type=int, default=8097, help="the scratch gunicorn's port (default 8097)")
    parser.add_argument("--tasks", choices=["worker", "eager"], default="worker",
                        help="side effects in a Celery worker (default, needs the stack's Redis) or in the request")
    parser.add_argument("--redis-db", type=int, default=13, help="Redis database of the scratch broker (default 13)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database and directory")
    return parser.parse_args()


def with_path(url, path):
    return urlunsplit(urlsplit(url)._replace(path=path))


def admin_sql(url, statement):
    import psycopg

    with psycopg.connect(with_path(url, "/postgres"), autocommit=True) as connection:
        connection.execute(statement)


def wait_for(url, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not answer within {seconds} s")


def main():
    args = parse_args()
    if Path(args.env).exists():
        load_env(args.env)
    stack_database = os.environ.get("DATABASE_URL", "")
    if not stack_database.startswith("postgres"):
        raise SystemExit("Needs the stack's PostgreSQL: run `make services` (or give --env with a postgres DATABASE_URL).")
    name = f"keti_spike_{os.getpid()}"
    scratch = Path(tempfile.mkdtemp(prefix="keti-spike-"))
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith("redis"):
        raise SystemExit("Needs the stack's Redis (CELERY_BROKER_URL): the cache of production settings lives there.")
    scratch_redis = with_path(broker, f"/{args.redis_db}")
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=with_path(stack_database, f"/{name}"),
        MEDIA_ROOT=str(scratch / "media"),
        EMAIL_URL=f"filemail://{scratch / 'mail'}",
        CACHE_URL=scratch_redis.replace("redis://", "rediscache://", 1),
        RATELIMIT_ENABLE="false",
        CELERY_BROKER_URL=scratch_redis if args.tasks == "worker" else "",
        CELERY_RESULT_BACKEND="",
        KETI_WARM_JIEBA="0",
    )
    os.environ.pop("CONN_MAX_AGE", None)
    url = f"http://127.0.0.1:{args.port}"
    print(f"scratch database {name}, gunicorn {url} ({args.workers} workers), side effects: {args.tasks}", flush=True)
    admin_sql(stack_database, f'CREATE DATABASE "{name}"')
    processes = []
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, check=True)
        log = open(scratch / "servers.log", "w")
        processes.append(subprocess.Popen(
            [str(BIN / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{args.port}", "--workers", str(args.workers),
             "--timeout", "120"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))
        if args.tasks == "worker":  # nothing left over from an interrupted run
            subprocess.run([str(BIN / "celery"), "-A", "config", "purge", "-f", "-Q", "celery,archive-index"],
                           cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
            processes.append(subprocess.Popen(
                [str(BIN / "celery"), "-A", "config", "worker", "-Q", "celery,archive-index", "-n", f"spike{os.getpid()}@%h",
                 "--concurrency", "2", "--loglevel", "WARNING"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))
        wait_for(f"{url}/healthz")

        import django

        django.setup()
        from django.conf import settings

        from tests.projects.deadline_spike import Scenario

        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # no one logs in by password
        scenario = Scenario(url, before=args.before, double=args.double, edge=args.edge, after=args.after,
                            browsers=args.browsers)
        outcome = scenario.play()
        print(outcome.summary())
        problems = verdict(scenario, outcome)
        print("\n".join(f"  FAILED: {problem}" for problem in problems) or "  all as required")
        return 1 if problems else 0
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        if args.tasks == "worker":  # tasks the worker had not reached yet: their database goes
            subprocess.run([str(BIN / "celery"), "-A", "config", "purge", "-f", "-Q", "celery,archive-index"],
                           cwd=ROOT, stdout=subprocess.DEVNULL)
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
        if args.keep:
            print(f"kept: database {name}, directory {scratch}")
        else:
            admin_sql(stack_database, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            shutil.rmtree(scratch, ignore_errors=True)


def verdict(scenario, outcome):
    """The requirement, as a list of what failed."""
    problems = []
    if outcome.server_errors or outcome.broken:
        problems.append(f"{len(outcome.server_errors)} server errors, {len(outcome.broken)} broken connections")
    if len(outcome.stored_on_time) != scenario.before:
        problems.append(f"{len(outcome.stored_on_time)} of {scenario.before} on time stored")
    if any(outcome.submit_logs.get(p.pk) != 1 for p in outcome.stored_on_time):
        problems.append("a submission logged more than once")
    if outcome.receipts != outcome.expected_receipts or outcome.numbers_given != len(outcome.receipts):
        problems.append("receipt numbers not distinct and gap-free")
    if any(p.submitted_at > outcome.deadline for p in outcome.stored_on_time + outcome.stored_on_the_edge):
        problems.append("a submission stored after the deadline")
    if outcome.stored_late:
        problems.append(f"{len(outcome.stored_late)} late submissions stored")
    if any(not a.answers[0].says_deadline_passed() for a in scenario.late):
        problems.append("a late applicant not told that the deadline has passed")
    if outcome.refused_drafts != {pk: scenario.typed[pk] for pk in outcome.refused}:
        problems.append("a refused draft changed")
    return problems


if __name__ == "__main__":
    sys.exit(main())
