"""The simulated users of ``bench/load.py`` (run by it through ``locust --headless``; not on its own).

``bench/load.py`` picks the targets from the database and writes them to the JSON
plan named by ``KETI_LOAD_PLAN``. Each simulated user is a "desk": an anonymous
visitor, an applicant, an expert and a secretary, each in a session of its own
(logged in once through the login page, with the CSRF token). Once every desk has
logged in and made its warm-up pass, each desk loops over all the pages of the
plan in a shuffled order, one request per page per loop, so that every page gets
the same number of samples and the floor (``/healthz``) is measured under the same
load as the pages beside it.

Every request is checked: the expected status (redirects are not followed, so a
lost session shows as a 302 to the login page, i.e. an error), and a marker the
page must contain (the call's title, a project's title, the assignment's token…).
The review form post must redirect to the dossier, which must then show the
success message (the page after the post is fetched under an auxiliary name).

The run stops when ``samples`` loops have been started over all desks (the count
bound) or at locust's ``--run-time`` (the time bound). Each sample (name, start,
duration in ms as a float, success, reason) goes to ``results`` when locust quits;
auxiliary requests (logins, warm-up, the page after the post) have names that
start with ``~`` and are left out of the table.
"""

import json
import os
import random
import time

import gevent
from locust import events, task
from locust.contrib.fasthttp import FastHttpSession, FastHttpUser
from locust.exception import StopUser

PLAN_PATH = os.environ.get("KETI_LOAD_PLAN")
PLAN = json.loads(open(PLAN_PATH, encoding="utf-8").read()) if PLAN_PATH else None
SAMPLES = []
STATE = {"loops": 0, "desks": 0, "active": 0, "ready": 0, "stopping": False}
BARRIER_SECONDS = 120


@events.request.add_listener
def record(request_type, name, response_time, response_length, exception, start_time=None, **kwargs):
    SAMPLES.append((name, start_time or time.time(), response_time, exception is None,
                    "" if exception is None else str(exception)[:200]))


@events.quitting.add_listener
def dump(environment, **kwargs):
    if PLAN is None:
        return
    with open(PLAN["results"], "w", encoding="utf-8") as out:
        json.dump({"samples": SAMPLES, "loops": STATE["loops"], "desks": STATE["desks"]}, out)


def _quit_soon(environment):
    """Stop the whole run from outside the calling user's greenlet (which the runner kills)."""
    if not STATE["stopping"]:
        STATE["stopping"] = True
        gevent.spawn_later(0.05, environment.runner.quit)


class Desk(FastHttpUser):
    """One desk: four sessions (anonymous, applicant, expert, secretary) over the plan's pages."""

    # No think time: the users keep the server busy; the bound is the number of users.
    wait_time = staticmethod(lambda: 0)
    network_timeout = 120.0
    connection_timeout = 30.0

    def on_start(self):
        if PLAN is None:
            raise StopUser()
        self.index = STATE["desks"]
        STATE["desks"] += 1
        STATE["active"] += 1
        self.desk = PLAN["desks"][self.index % len(PLAN["desks"])]
        self.rng = random.Random(PLAN["seed"] + self.index)
        self.sessions = {"anon": self.client}
        for role in ("applicant", "expert", "secretary"):
            if not self.desk.get(role):
                continue
            session = FastHttpSession(
                base_url=self.host, request_event=self.environment.events.request, user=self,
                network_timeout=self.network_timeout, connection_timeout=self.connection_timeout,
                max_retries=0, insecure=True,
            )
            self._login(session, self.desk[role])
            self.sessions[role] = session
        if PLAN["warmup"]:
            for page in self.desk["pages"]:
                self._visit(page, warmup=True)
        # Measure only once every desk has logged in and warmed up (logins cost the server much CPU).
        STATE["ready"] += 1
        deadline = time.monotonic() + BARRIER_SECONDS
        while STATE["ready"] < PLAN["users"] and time.monotonic() < deadline:
            gevent.sleep(0.05)

    def on_stop(self):
        STATE["active"] -= 1
        if STATE["active"] <= 0:
            _quit_soon(self.environment)

    def _login(self, session, username):
        """GET the login page for the CSRF cookie, POST the form; a 302 means logged in."""
        with session.get("/accounts/login/", name="~login page", allow_redirects=False, catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"login page: status {r.status_code}")
                return
        with session.post("/accounts/login/", name="~login", allow_redirects=False, catch_response=True, data={
            "csrfmiddlewaretoken": _cookie(session, "csrftoken"),
            "username": username,
            "password": PLAN["password"],
            "next": "",
        }) as r:
            if r.status_code != 302 or not _cookie(session, "sessionid"):
                r.failure(f"login of {username} refused: status {r.status_code}")

    @task
    def loop(self):
        if STATE["loops"] >= PLAN["samples"]:
            raise StopUser()
        STATE["loops"] += 1
        pages = list(self.desk["pages"])
        self.rng.shuffle(pages)
        for page in pages:
            self._visit(page)

    def _visit(self, page, warmup=False):
        session = self.sessions[page["session"]]
        name = f"~warm-up {page['name']}" if warmup else page["name"]
        path = self.rng.choice(page["paths"])
        if page["method"] == "POST":
            data = dict(page["data"], csrfmiddlewaretoken=_cookie(session, "csrftoken"))
            request = session.post(path, data=data, name=name, allow_redirects=False, catch_response=True)
        else:
            request = session.get(path, name=name, allow_redirects=False, catch_response=True)
        with request as r:
            problem = _problem(r, page)
            if problem is None and page.get("then"):
                # The page after the post (not part of the post's time): the save must be confirmed.
                then = page["then"]
                with session.get(then["path"], name="~after " + page["name"], allow_redirects=False,
                                 catch_response=True) as after:
                    problem = _problem(after, then)
                    if problem:
                        after.failure(problem)
            if problem:
                r.failure(problem)
            else:
                r.success()


def _cookie(session, name):
    for cookie in session.cookiejar:
        if cookie.name == name:
            return cookie.value
    return ""


def _problem(response, page):
    """Why the response is an error, or None: status, redirect target, content marker, JSON count."""
    status = response.status_code
    if status != page.get("status", 200):
        where = response.headers.get("Location", "") if response.headers and 300 <= status < 400 else ""
        return f"status {status}{' to ' + where if where else ''}"
    if page.get("location") is not None:
        where = (response.headers.get("Location", "") if response.headers else "").split("?")[0]
        if not where.endswith(page["location"]):
            return f"redirected to {where!r}, not {page['location']!r}"
    text = response.text or ""
    for marker in page.get("markers", ()):
        if marker not in text:
            return f"marker missing: {marker[:40]!r}"
    if page.get("json_count"):
        try:
            if not json.loads(text).get("count"):
                return "no hit in the JSON answer"
        except ValueError:
            return "not JSON"
    return None
