"""The secretariat's round pages: access, query counts, and each button doing its job."""

import datetime as dt
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from reviews import rounds
from reviews.models import Assignment, AssignmentStatus, ReviewRound
from tests.factories import CallClassFactory
from tests.reviews.factories import ReviewRoundFactory
from tests.reviews.test_rounds import EXPERT_UNITS, make_expert, make_proposal

pytestmark = pytest.mark.django_db

DEADLINE = timezone.now() + dt.timedelta(days=21)


@pytest.fixture
def call_class(db):
    return CallClassFactory(code="B")


@pytest.fixture
def pool(db):
    return [make_expert(i, EXPERT_UNITS[i], topic=i) for i in range(6)]


@pytest.fixture
def round_(call_class, unit, pool, secretary):
    for n in range(3):
        make_proposal(call_class, unit, n, topic=n)
    return rounds.create_round(call_class, stage="application", by=secretary, deadline=DEADLINE, m=3)


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


# ---- access -------------------------------------------------------------------------------


@pytest.mark.parametrize("name, args", [("round-list", []), ("round-create", []), ("round-detail", ["ROUND"])])
def test_pages_are_for_the_secretariat(client, applicant, round_, name, args):
    url = reverse(name, args=[round_.pk if a == "ROUND" else a for a in args])
    response = client.get(url)
    assert response.status_code == 302 and "/login" in response.url
    client.force_login(applicant)
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("name", ["round-run", "round-diagnose", "round-open", "round-close", "round-add",
                                  "round-check-conflicts", "round-add-proposals"])
def test_buttons_are_for_the_secretariat(client, applicant, round_, name):
    client.force_login(applicant)
    assert client.post(reverse(name, args=[round_.pk])).status_code == 403
    assert not round_.assignments.exists() and not round_.runs.exists()


def test_unknown_objects_are_404(client, secretary, round_):
    client.force_login(secretary)
    assert client.get(reverse("round-detail", args=[round_.pk + 99])).status_code == 404
    assert client.get(reverse("round-run-detail", args=[round_.pk, 7])).status_code == 404
    other = ReviewRoundFactory()
    rounds.run_assignment(round_, by=secretary)
    assignment = round_.assignments.first()
    # An assignment reached through another round's URL is not found.
    url = reverse("round-assignment-remove", args=[other.pk, assignment.pk])
    assert client.post(url).status_code == 404
    assert Assignment.objects.get(pk=assignment.pk).status == AssignmentStatus.PROPOSED


# ---- query counts -------------------------------------------------------------------------


def _rounds(n):
    call_class = CallClassFactory(code="A")
    for _ in range(n):
        ReviewRoundFactory(call_class=call_class)


def _count_queries(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_round_list_query_count_does_not_grow(client, secretary, django_assert_num_queries):
    client.force_login(secretary)
    _rounds(3)
    url = reverse("round-list")
    client.get(url)
    three = _count_queries(client, url)
    _rounds(27)
    with django_assert_num_queries(three):
        response = client.get(url)
    assert len(response.context["rounds"]) == 30


def _detail_with(call_class, unit, secretary, n, first):
    for i in range(n):
        make_proposal(call_class, unit, first + i, topic=i)
    round_ = rounds.create_round(call_class, stage="application", by=secretary, deadline=DEADLINE, k=2, m=30)
    rounds.run_assignment(round_, by=secretary)
    return round_


def test_round_detail_query_count_does_not_grow(client, secretary, unit, pool, django_assert_num_queries):
    client.force_login(secretary)
    small = _detail_with(CallClassFactory(code="A"), unit, secretary, 3, 500)
    rounds.run_assignment(small, by=secretary)
    three = _count_queries(client, reverse("round-detail", args=[small.pk]))
    large = _detail_with(CallClassFactory(code="C"), unit, secretary, 30, 600)
    rounds.run_assignment(large, by=secretary)
    with django_assert_num_queries(three):
        response = client.get(reverse("round-detail", args=[large.pk]))
    assert len(response.context["rows"]) == 30
    assert Assignment.objects.filter(round=large).count() == 60


# ---- creating ----------------------------------------------------------------------------------


def _create_data(call_class, **extra):
    deadline = timezone.localtime(timezone.now() + dt.timedelta(days=20)).strftime("%Y-%m-%dT%H:%M")
    return {"call_class": call_class.pk, "stage": "application", "name": "", "experts_per_proposal": "",
            "load_limit": "5", "deadline": deadline, "answer_within_days": "3", "form": "", **extra}


def test_create_a_round(client, secretary, call_class, unit):
    make_proposal(call_class, unit, 1)
    client.force_login(secretary)
    assert client.get(reverse("round-create")).status_code == 200
    response = client.post(reverse("round-create"), _create_data(call_class, experts_see_each_other="on"))
    round_ = ReviewRound.objects.get()
    assert response.status_code == 302 and response.url == reverse("round-detail", args=[round_.pk])
    assert round_.experts_per_proposal == 3 and round_.load_limit == 5 and round_.experts_see_each_other
    assert round_.projects.count() == 1 and round_.created_by == secretary


def test_create_refuses_a_bad_form_with_clear_messages(english, client, secretary, call_class):
    client.force_login(secretary)
    response = client.post(reverse("round-create"), _create_data(call_class, form='{"criteria": ['))
    assert response.status_code == 200
    assert "The review form is not valid JSON (line 1" in response.content.decode()
    bad = {"criteria": [{"key": "a", "name": "选题", "weight": 0}], "scale": {"min": 3, "max": 10},
           "recommendations": [{"code": "A"}, {"code": "A"}]}
    response = client.post(reverse("round-create"), _create_data(call_class, form=json.dumps(bad)))
    page = response.content.decode()
    assert "The weight of criterion 1 must be a whole number above 0." in page
    assert "Every recommendation option needs a code of its own." in page
    assert not ReviewRound.objects.exists()


# ---- the round's buttons ------------------------------------------------------------------------


def test_diagnose_run_undo_and_compare_through_the_page(english, client, secretary, round_):
    client.force_login(secretary)
    response = client.post(reverse("round-diagnose", args=[round_.pk]), follow=True)
    assert "the assigner may run" in " ".join(messages_of(response))
    response = client.post(reverse("round-run", args=[round_.pk]), follow=True)
    assert "Run 1: total affinity" in " ".join(messages_of(response))
    assert round_.assignments.count() == 9
    page = response.content.decode()
    for a in round_.assignments.select_related("expert__user"):
        assert a.expert.user.display_name in page
    response = client.get(reverse("round-run-detail", args=[round_.pk, 1]))
    assert response.status_code == 200 and len(response.context["comparison"].added) == 9
    response = client.post(reverse("round-run-undo", args=[round_.pk, 1]), follow=True)
    assert "Run 1 undone." in messages_of(response)
    assert not round_.assignments.exists()


def test_refusals_show_their_messages(english, client, secretary, round_, pool):
    client.force_login(secretary)
    response = client.post(reverse("round-open", args=[round_.pk]), follow=True)
    assert "3 proposals have fewer than 3 experts." in messages_of(response)
    project = round_.projects.first()
    client.post(reverse("round-add", args=[round_.pk]), {"project": project.pk, "expert": pool[0].pk})
    response = client.post(reverse("round-add", args=[round_.pk]), {"project": project.pk, "expert": pool[0].pk},
                           follow=True)
    assert any("already reviews" in m for m in messages_of(response))


def test_add_lock_remove_open_and_close_through_the_page(client, secretary, round_, pool, mailoutbox,
                                                         django_capture_on_commit_callbacks):
    client.force_login(secretary)
    client.post(reverse("round-run", args=[round_.pk]))
    assignment = round_.assignments.order_by("pk").first()
    client.post(reverse("round-assignment-lock", args=[round_.pk, assignment.pk]), {"locked": "1"})
    assert Assignment.objects.get(pk=assignment.pk).locked
    client.post(reverse("round-assignment-lock", args=[round_.pk, assignment.pk]), {"locked": "0"})
    assert not Assignment.objects.get(pk=assignment.pk).locked
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("round-open", args=[round_.pk]))
    round_.refresh_from_db()
    assert round_.state == "open" and mailoutbox
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("round-assignment-remove", args=[round_.pk, assignment.pk]), {"replace": "1"})
    assert Assignment.objects.get(pk=assignment.pk).status == AssignmentStatus.REMOVED
    replacement = Assignment.objects.get(replaces=assignment)
    assert replacement.status == AssignmentStatus.INVITED
    client.post(reverse("round-close", args=[round_.pk]))
    round_.refresh_from_db()
    assert round_.state == "closed"
    assert client.get(reverse("round-detail", args=[round_.pk])).status_code == 200


def test_check_conflicts_button(english, client, secretary, round_):
    client.force_login(secretary)
    response = client.post(reverse("round-check-conflicts", args=[round_.pk]), follow=True)
    assert any(m.startswith("Conflicts checked:") for m in messages_of(response))
