"""The deadline spike (申报截止高峰): 200 applicants submit in the last minute before the deadline,
a few on it and some after it, through a real threaded HTTP server (``live_server``).

Every submission the server decides before the deadline is stored exactly once, with its own
receipt number (gap-free: ``SB{YYYY}00001`` …) that the applicant is shown; none after it is
stored, and those applicants are told that the deadline has passed, their draft intact; no
request gets a server error. Some applicants double-click: the second request of the pair is
refused, never stored twice, and uses up no number. How time is compressed: see
``tests/projects/deadline_spike.py``, shared with ``bench/deadline_spike.py`` (gunicorn).

The figures are printed (``-s`` shows them in a quiet run too).
"""

from django.db import connection

from tests.projects.deadline_spike import CHECK_PAGE_REFUSING, Scenario

# Browsers pressing submit at the same moment, all through the spike (the server is busy all the
# time either way). PostgreSQL: five times the requests a four-worker gunicorn serves at once.
# SQLite, the embedded default, takes one writer at a time for the whole file and does not
# serve its waiters in turn; in the one process of the test server, whose threads share one
# interpreter lock, a writer holds it the longer the more threads run, so more browsers only
# lengthen that queue, and on a starved machine a wait passes the 20 s timeout (a 500).
BROWSERS = {"postgresql": 20, "sqlite": 10}


def test_deadline_spike(live_server, capsys):
    scenario = Scenario(live_server.url, before=200, double=20, edge=10, after=30, browsers=BROWSERS[connection.vendor])
    outcome = scenario.play()
    with capsys.disabled():
        print("\n" + outcome.summary())
    deadline, logs = outcome.deadline, outcome.submit_logs

    # No server error, no broken connection.
    assert outcome.server_errors == [] and outcome.broken == [], (
        [(a.statuses, a.page[:300]) for a in outcome.server_errors], outcome.broken)

    # Before the deadline: every one stored exactly once, with its own receipt number, shown once.
    stored = outcome.stored_on_time
    assert len(stored) == 200
    assert all(p.submitted_at < deadline and logs[p.pk] == 1 for p in stored)
    assert len({p.receipt_number for p in stored}) == 200
    for applicant in scenario.on_time:
        shown = [number for answer in applicant.answers for number in answer.receipt_numbers()]
        assert shown == [outcome.project(applicant).receipt_number], (applicant.project_id, shown)
        clicks = 2 if applicant in scenario.double_clickers else 1
        assert [answer.statuses[-1] for answer in applicant.answers] == [200] * clicks
    # The numbers are real and gap-free: none given twice, none used up by a refused click.
    assert outcome.receipts == outcome.expected_receipts
    assert outcome.numbers_given == len(outcome.receipts)

    # On the deadline: stored only when the server's clock said not yet; otherwise told why.
    for applicant in scenario.on_the_edge:
        project, (answer,) = outcome.project(applicant), applicant.answers
        if project.state == "submitted":
            assert project.submitted_at <= deadline and logs[project.pk] == 1
            assert answer.receipt_numbers() == [project.receipt_number]
        else:
            assert project.receipt_number is None and project.pk not in logs
            assert answer.says_deadline_passed(), answer.messages()

    # After the deadline: none stored, each told so on the check page.
    assert outcome.stored_late == []
    for applicant in scenario.late:
        project, (answer,) = outcome.project(applicant), applicant.answers
        assert answer.statuses == [302, 200] and CHECK_PAGE_REFUSING in answer.page
        assert answer.says_deadline_passed(), answer.messages()
        assert project.receipt_number is None and project.submitted_at is None and project.pk not in logs

    # Whoever was refused lost nothing of the draft.
    assert len(outcome.refused) == 10 - len(outcome.stored_on_the_edge) + 30
    assert outcome.refused_drafts == {pk: scenario.typed[pk] for pk in outcome.refused}

    # Every stored application has its documents, built late if need be.
    assert all(a.statuses == [200] and a.page.startswith("PK") for a in outcome.documents_opened)
