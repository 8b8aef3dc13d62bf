"""The deadline spike (申报截止高峰) of issue 7, as a scenario run against any server of this database.

Shared by ``tests/projects/test_deadline_spike.py`` (pytest-django's ``live_server``) and
``bench/deadline_spike.py`` (gunicorn on PostgreSQL). ``Scenario(url).play()`` builds an open
call and its applicants, each with a complete draft and a browser logged in, and has them
submit: ``before`` in the last minute (``double`` of them clicking twice), ``edge`` within
±0.25 s of the deadline and ``after`` too late; it returns an ``Outcome``: what the server
answered and what it stored.

Time is compressed. The applicants have their check page open (its form and CSRF token)
before the spike, as in the last minute of a real call. While the ``before`` applicants press
submit, ``browsers`` at a time and as fast as the server answers, the deadline is ahead; once
every one of them has its answer, the deadline is brought to a second from then: the guard
compares the server's clock with the stored deadline and nothing else, so this stands for the
rest of the minute passing. The moments on and after the deadline are real time on the
server's clock.
"""

import datetime as dt
import http.client
import re
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.core import mail
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from projects.models import Call, NumberSequence, Project, ProjectDocument, TransitionLog
from tests.factories import (
    CallClassFactory,
    CallFactory,
    InstitutionFactory,
    MemberFactory,
    ProjectFactory,
    UserFactory,
)

LAST_MINUTE = 60  # seconds
HEADROOM = 600  # seconds from the spike's start to the deadline while the ``before`` applicants are answered
EDGE_SPREAD = 0.25  # seconds either side of the deadline

RECEIPT = re.compile(r"Your receipt number is (SB\d{4}\d{5})\.")
DEADLINE_PASSED = "Beijing time) has passed."
CHECK_PAGE_REFUSING = "The application cannot be submitted yet"
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
MESSAGE = re.compile(r'<li class="[^"]*" role="status">(.*?)</li>', re.S)


# ---- a small browser: its own cookies, English pages, redirects followed ---------------------------


@dataclass
class Answer:
    statuses: list  # of every hop, redirects included
    page: str  # the body of the last one
    seconds: float
    error: str = ""  # a failure of the connection itself

    @property
    def server_error(self):
        return any(status >= 500 for status in self.statuses)

    def messages(self):
        return MESSAGE.findall(self.page)

    def receipt_numbers(self):
        return [number for message in self.messages() for number in RECEIPT.findall(message)]

    def says_deadline_passed(self):
        return any(DEADLINE_PASSED in message for message in self.messages())


@dataclass
class Browser:
    host: str
    port: int
    cookies: dict = field(default_factory=dict)

    def copy(self):
        return Browser(self.host, self.port, dict(self.cookies))

    def get(self, path):
        return self._go("GET", path, None)

    def post(self, path, form):
        return self._go("POST", path, form)

    def _go(self, method, path, form):
        started, statuses, page = time.monotonic(), [], ""
        try:
            for _hop in range(6):
                status, location, page = self._one(method, path, form)
                statuses.append(status)
                if status not in (301, 302, 303) or not location:
                    return Answer(statuses, page, time.monotonic() - started)
                method, form = "GET", None
                parts = urlsplit(location)
                path = parts.path + (f"?{parts.query}" if parts.query else "")
            return Answer(statuses, page, time.monotonic() - started, error="too many redirects")
        except (OSError, http.client.HTTPException) as error:
            return Answer(statuses, page, time.monotonic() - started, error=f"{type(error).__name__}: {error}")

    def _one(self, method, path, form):
        headers = {"Accept-Language": "en", "Connection": "close"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        http_connection = http.client.HTTPConnection(self.host, self.port, timeout=120)
        try:
            http_connection.request(method, path, body=body, headers=headers)
            response = http_connection.getresponse()
            page = response.read().decode("utf-8", "replace")
            for header in response.headers.get_all("Set-Cookie") or []:
                self._keep(header)
            return response.status, response.headers.get("Location"), page
        finally:
            http_connection.close()

    def _keep(self, header):
        """Keep cookies as a browser does (Secure aside: the servers here speak plain HTTP)."""
        for name, morsel in SimpleCookie(header).items():
            if morsel["max-age"] == "0" or "1970" in morsel["expires"]:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = morsel.value


# ---- the applicants -------------------------------------------------------------------------------


@dataclass(eq=False)
class Applicant:
    project_id: int
    email: str
    browser: Browser
    csrf: str = ""
    answers: list = field(default_factory=list)

    def open_check_page(self):
        """The check page: everything in order, the submit form and its CSRF token."""
        answer = self.browser.get(reverse("application-step", args=[self.project_id, "check"]))
        if answer.statuses != [200] or "Everything is in order" not in answer.page:
            raise AssertionError(f"the check page of project {self.project_id}: {answer.statuses} {answer.error}")
        self.csrf = CSRF_FIELD.findall(answer.page)[-1]

    def submit(self, browser=None, barrier=None):
        """Press "Submit the application" (with ``barrier``: at the same moment as another click)."""
        if barrier is not None:
            barrier.wait(timeout=120)
        answer = (browser or self.browser).post(reverse("application-submit", args=[self.project_id]),
                                                {"csrfmiddlewaretoken": self.csrf})
        self.answers.append(answer)
        return answer


def drafts(project_ids):
    """What the applicants typed, to prove that a refused submission lost nothing."""
    projects = Project.objects.filter(pk__in=project_ids).prefetch_related("members")
    return {
        p.pk: (p.state, p.title, p.basis, p.content, p.foundation, list(p.keywords), p.pledge_accepted_at,
               [(m.name, m.title, m.unit, m.task) for m in p.members.all()])
        for p in projects
    }


def wait_until(moment):
    """Real time must pass here: the server decides on its own clock."""
    delay = (moment - timezone.now()).total_seconds()
    if delay > 0:
        time.sleep(delay)


# ---- the scenario -----------------------------------------------------------------------------------


@dataclass
class Scenario:
    url: str
    before: int = 200
    double: int = 20
    edge: int = 10
    after: int = 30
    browsers: int = 20

    def play(self):
        began = time.monotonic()
        self._prepare()
        prepared = time.monotonic()
        self._spike()
        self._edge_and_after()
        outcome = Outcome(self)
        outcome.prepare_seconds = prepared - began
        outcome.total_seconds = time.monotonic() - began
        return outcome

    def _prepare(self):
        year = timezone.localdate().year
        self.year = year
        self.call = CallFactory(year=year, title=f"中国成人教育协会{year}年度科研课题申报指南",
                                opens_at=timezone.now() - dt.timedelta(days=30),
                                deadline=timezone.now() + dt.timedelta(days=1))
        CallClassFactory(call=self.call, code="A", funding=20000)
        CallClassFactory(call=self.call, code="B", funding=10000)
        applicants = self._applicants(self.before + self.edge + self.after)
        self.on_time = applicants[:self.before]
        self.on_the_edge = applicants[self.before:self.before + self.edge]
        self.late = applicants[self.before + self.edge:]
        self.double_clickers = self.on_time[:: max(self.before // max(self.double, 1), 1)][:self.double]
        with ThreadPoolExecutor(self.browsers) as pool:
            list(pool.map(Applicant.open_check_page, applicants))
        self.typed = drafts([a.project_id for a in self.on_the_edge + self.late])

    def _applicants(self, count):
        """``count`` applicants of several units, each with a complete draft and a browser logged in."""
        server = urlsplit(self.url)
        units = [InstitutionFactory() for _ in range(8)]
        classes = list(self.call.classes.order_by("code"))
        tag = f"{self.call.pk}x"
        people = []
        with transaction.atomic():
            for i in range(count):
                pi = UserFactory(username=f"spike{tag}{i:03d}", institution=units[i % len(units)])
                project = ProjectFactory(call_class=classes[i % len(classes)], pi=pi, title=f"社区教育数字化转型研究之{i}")
                MemberFactory(project=project)
                people.append((pi, project))
        applicants = []
        for pi, project in people:
            client = Client()
            client.force_login(pi)
            cookies = {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}
            applicants.append(Applicant(project.pk, pi.email, Browser(server.hostname, server.port, cookies)))
        return applicants

    def _set_deadline(self, moment):
        self.deadline = moment
        Call.objects.filter(pk=self.call.pk).update(deadline=moment)

    def _spike(self):
        """The last minute: the deadline is ahead and the ``before`` applicants press submit."""
        self.spike_start = timezone.now()
        self._set_deadline(self.spike_start + dt.timedelta(seconds=HEADROOM))
        with ThreadPoolExecutor(self.browsers) as pool:
            clicks = []
            for applicant in self.on_time:
                if applicant in self.double_clickers:
                    barrier = threading.Barrier(2)
                    clicks += [pool.submit(applicant.submit, applicant.browser.copy(), barrier) for _ in range(2)]
                else:
                    clicks.append(pool.submit(applicant.submit))
            for click in clicks:
                click.result()
        self.spike_end = timezone.now()
        if self.spike_end >= self.deadline:
            raise AssertionError(f"the spike outlasted the headroom of {HEADROOM} s")

    def _edge_and_after(self):
        # Every one of them has its answer: the rest of the minute passes, the deadline is a second away.
        self._set_deadline(self.spike_end + dt.timedelta(seconds=1))
        spread = [2 * EDGE_SPREAD * i / max(self.edge - 1, 1) - EDGE_SPREAD for i in range(self.edge)]

        def on_its_moment(offset, applicant):
            wait_until(self.deadline + dt.timedelta(seconds=offset))
            return applicant.submit()

        with ThreadPoolExecutor(max(self.edge, 1)) as pool:
            list(pool.map(on_its_moment, spread, self.on_the_edge))
        wait_until(self.deadline + dt.timedelta(seconds=2 * EDGE_SPREAD))
        with ThreadPoolExecutor(self.browsers) as pool:
            list(pool.map(Applicant.submit, self.late))
        connection.close()  # the server wrote: read afresh


class Outcome:
    """What the server answered and stored."""

    def __init__(self, scenario):
        self.scenario = s = scenario
        self.deadline = s.deadline
        self.applicants = s.on_time + s.on_the_edge + s.late
        answers = [answer for applicant in self.applicants for answer in applicant.answers]
        self.server_errors = [a for a in answers if a.server_error]
        self.broken = [a.error for a in answers if a.error]
        self.projects = Project.objects.filter(call=s.call).in_bulk()
        self.submit_logs = {}
        for project_id in TransitionLog.objects.filter(project__call=s.call, transition="submit").values_list(
                "project_id", flat=True):
            self.submit_logs[project_id] = self.submit_logs.get(project_id, 0) + 1
        self.stored_on_time = [self.project(a) for a in s.on_time if self.project(a).state == "submitted"]
        self.stored_on_the_edge = [self.project(a) for a in s.on_the_edge if self.project(a).state == "submitted"]
        self.stored_late = [self.project(a) for a in s.late if self.project(a).state != "draft"]
        self.receipts = sorted(p.receipt_number for p in self.projects.values() if p.receipt_number)
        self.expected_receipts = [f"SB{s.year}{n:05d}" for n in range(1, len(self.receipts) + 1)]
        sequence = NumberSequence.objects.filter(key=f"SB{s.year}").first()
        self.numbers_given = sequence.last if sequence else 0
        self.refused = [a.project_id for a in s.on_the_edge + s.late if self.project(a).state == "draft"]
        self.refused_drafts = drafts(self.refused)
        self.spike_seconds = (s.spike_end - s.spike_start).total_seconds()
        self.latencies = sorted(answer.seconds for applicant in s.on_time for answer in applicant.answers)
        # The side effects: the documents are built after the commit, or else when first opened.
        stored = self.stored_on_time + self.stored_on_the_edge
        built = set(ProjectDocument.objects.filter(project__call=s.call).values_list("project_id", flat=True))
        by_project = {applicant.project_id: applicant for applicant in self.applicants}
        self.documents_built = sum(1 for p in stored if p.pk in built)
        self.documents_opened = [by_project[p.pk].browser.get(reverse("project-document", args=[p.pk, "application"]))
                                 for p in stored if p.pk not in built]
        told = {address for message in getattr(mail, "outbox", []) for address in message.to}
        self.applicants_told = sum(1 for a in self.applicants if a.email in told and self.project(a).receipt_number)

    def project(self, applicant):
        return self.projects[applicant.project_id]

    def summary(self):
        s = self.scenario
        stored = len(self.stored_on_time) + len(self.stored_on_the_edge)
        distinct = len({p.receipt_number for p in self.stored_on_time})
        extra_logs = sum(self.submit_logs.get(p.pk, 0) - 1 for p in self.stored_on_time)
        latencies = self.latencies
        mail_line = f"; applicants told by mail: {self.applicants_told}" if hasattr(mail, "outbox") else ""
        return (
            f"deadline spike on {connection.vendor}, {s.browsers} browsers at once:\n"
            f"  {s.before} before the deadline ({s.double} double clicks: {len(latencies)} requests in "
            f"{self.spike_seconds:.1f} s, {'within' if self.spike_seconds < LAST_MINUTE else 'NOT within'} a minute; "
            f"p50 {statistics.median(latencies or [0]):.2f} s, "
            f"p95 {(latencies or [0])[int(len(latencies) * 0.95)]:.2f} s, max {max(latencies or [0]):.2f} s)\n"
            f"    → {len(self.stored_on_time)} stored, {distinct} receipt numbers "
            f"({' … '.join(self.receipts[:1] + self.receipts[-1:]) or 'none'}), "
            f"{len(self.stored_on_time) - distinct} duplicates, "
            f"{extra_logs} extra submit log rows\n"
            f"  {s.edge} within ±{EDGE_SPREAD} s of the deadline → {len(self.stored_on_the_edge)} stored, "
            f"{s.edge - len(self.stored_on_the_edge)} refused\n"
            f"  {s.after} after the deadline → {len(self.stored_late)} stored\n"
            f"  documents built after the commit for {self.documents_built} of {stored} stored "
            f"(the rest when first opened: {len(self.documents_opened)}){mail_line}\n"
            f"  5xx: {len(self.server_errors)}; connection errors: {len(self.broken)}; "
            f"{self.total_seconds:.0f} s in all ({self.prepare_seconds:.0f} s to prepare)"
        )
