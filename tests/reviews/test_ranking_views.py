"""The ranking pages (评审结果与排序): who may see them, what they show, and what they never show."""

import pytest
from django.urls import reverse

from accounts import roles
from tests.factories import CallClassFactory, UserFactory
from tests.reviews.test_aggregation import make_expert, make_proposal, make_proposal_with, make_round


@pytest.fixture
def committee(db):
    return UserFactory(username="committee", role=roles.COMMITTEE)


@pytest.fixture
def experts(db):
    return [make_expert(n) for n in range(1, 6)]


@pytest.fixture
def ranked(experts):
    """A class with quota 1: three valid proposals and one with too few reviews."""
    call_class = CallClassFactory(quota=1)
    round = make_round(call_class)
    first = make_proposal_with(round, [90, 90, 80, 90, 90], experts, list("AAAAB"), title="终身学习成果认证研究")
    second = make_proposal_with(round, [80, 60, 70], experts, list("ABB"), title="社区教育治理研究")
    third = make_proposal_with(round, [60, 60, 60], experts, list("BBB"), title="开放大学转型研究")
    short = make_proposal_with(round, [100], experts, title="老年数字素养研究")
    return round, [first, second, third, short]


def urls(round, project):
    pk = round.call_class.pk
    return [
        reverse("ranking-index"),
        reverse("class-ranking", args=[pk]),
        reverse("class-ranking-xlsx", args=[pk]),
        reverse("class-ranking-docx", args=[pk]),
        reverse("ranking-proposal", args=[round.pk, project.pk]),
    ]


def test_applicants_and_experts_are_refused(client, ranked, applicant, experts):
    round, projects = ranked
    for user in (applicant, experts[0].user):
        client.force_login(user)
        for url in urls(round, projects[0]):
            assert client.get(url).status_code == 403, url


def test_anonymous_visitors_are_sent_to_log_in(client, ranked):
    round, projects = ranked
    for url in urls(round, projects[0]):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response["Location"]


def test_committee_and_secretariat_see_everything(client, ranked, committee, secretary):
    round, projects = ranked
    for user in (committee, secretary):
        client.force_login(user)
        for url in urls(round, projects[0]):
            assert client.get(url).status_code == 200, url


def test_unknown_objects_are_404(client, ranked, secretary):
    round, projects = ranked
    other_round = make_round()
    client.force_login(secretary)
    assert client.get(reverse("class-ranking", args=[999999])).status_code == 404
    assert client.get(reverse("ranking-proposal", args=[other_round.pk, projects[0].pk])).status_code == 404
    assert client.get(reverse("ranking-proposal", args=[999999, projects[0].pk])).status_code == 404
    assert client.get(reverse("class-ranking", args=[round.call_class.pk]) + "?stage=nonsense").status_code == 404


def test_the_ranking_page(client, english, ranked, committee):
    round, (first, second, third, short) = ranked
    client.force_login(committee)
    page = client.get(reverse("class-ranking", args=[round.call_class.pk])).content.decode()
    # In ranking order, the one with too few reviews last.
    positions = [page.index(p.title) for p in (first, second, third, short)]
    assert positions == sorted(positions)
    assert first.receipt_number in page and first.pi.display_name in page
    assert "专家1" in page and "专家5" in page
    assert "Quota line (quota: 1)" in page
    assert page.index("Quota line") < page.index(second.title)
    assert page.count(">Shortlisted<") == 2
    assert page.count(">Disagreement<") == 1  # second: spread 20 and split recommendations
    assert "Not ranked: fewer than 3 valid reviews" in page
    assert "88.00" in page and "90.00" in page  # first: the mean, and the trimmed mean without 80 and one 90


def test_the_proposal_page_shows_each_review_under_its_alias(client, english, ranked, secretary):
    round, (first, *_rest) = ranked
    client.force_login(secretary)
    page = client.get(reverse("ranking-proposal", args=[round.pk, first.pk])).content.decode()
    for alias in ("专家1", "专家2", "专家3", "专家4", "专家5"):
        assert alias in page
    assert "选题有价值，论证较充分。" in page  # to the applicant
    assert "建议入围。" in page  # confidential, to the committee
    assert "选题" in page and "研究基础" in page


def test_the_index_links_each_class(client, ranked, committee):
    round, _projects = ranked
    client.force_login(committee)
    page = client.get(reverse("ranking-index")).content.decode()
    assert reverse("class-ranking", args=[round.call_class.pk]) in page
    assert round.name in page


def test_no_reviewer_name_or_username_anywhere(client, ranked, experts, committee, secretary):
    round, projects = ranked
    for user in (committee, secretary):
        client.force_login(user)
        for url in urls(round, projects[0])[:2] + [reverse("ranking-proposal", args=[round.pk, p.pk]) for p in projects]:
            page = client.get(url).content.decode()
            for expert in experts:
                assert expert.user.real_name not in page, url
                assert expert.user.username not in page, url
                assert expert.user.email not in page, url


def build_class(experts, n):
    """A class whose round has ``n`` proposals, each with three reviews."""
    round = make_round(CallClassFactory(quota=2))
    for i in range(n):
        make_proposal_with(round, [60 + 10 * (i % 4), 80, 70], experts[i % 3:])
    make_proposal(round)  # and one without reviews
    return round


def test_ranking_page_queries_do_not_grow_with_the_proposals(client, experts, committee, django_assert_num_queries):
    small, large = build_class(experts, 3), build_class(experts, 30)
    client.force_login(committee)
    counts = []
    for round in (small, large):
        url = reverse("class-ranking", args=[round.call_class.pk])
        client.get(url)  # gives the aliases (a write, once)
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
    with django_assert_num_queries(counts[0]):
        client.get(reverse("class-ranking", args=[large.call_class.pk]))


def test_the_secretariat_may_reopen_a_review_from_the_proposal_page(client, english, ranked, secretary):
    from reviews.models import Review

    round, (first, *_rest) = ranked
    client.force_login(secretary)
    url = reverse("ranking-proposal", args=[round.pk, first.pk])
    page = client.get(url).content.decode()
    reviews = Review.objects.filter(assignment__round=round, assignment__project=first)
    for review in reviews:
        assert f'action="{reverse("review-reopen", args=[review.pk])}"' in page
    assert 'name="reason" required' in page

    review = reviews.first()
    response = client.post(reverse("review-reopen", args=[review.pk]), {"reason": "请补充", "next": url})
    assert response.status_code == 302 and response.url == url
    review.refresh_from_db()
    assert review.state == "draft"


def test_the_committee_gets_no_reopen_button(client, ranked, committee):
    round, (first, *_rest) = ranked
    client.force_login(committee)
    page = client.get(reverse("ranking-proposal", args=[round.pk, first.pk])).content.decode()
    assert "/reopen/" not in page and 'name="reason"' not in page


def test_a_long_ranking_comes_in_pages_with_the_whole_count_and_the_quota_line(client, english, experts, committee):
    from reviews.views.ranking import ROWS_PER_PAGE

    round = build_class(experts, ROWS_PER_PAGE + 1)  # and one proposal without reviews
    client.force_login(committee)
    url = reverse("class-ranking", args=[round.call_class.pk])
    first = client.get(url).content.decode()
    second = client.get(url, {"page": 2}).content.decode()
    assert f"of {ROWS_PER_PAGE + 2} proposals" in first
    assert first.count('href="/ranking/proposals/') == ROWS_PER_PAGE
    assert second.count('href="/ranking/proposals/') == 2
    assert "Quota line" in first and "Quota line" not in second
    assert "Too few valid reviews" in second and "Too few valid reviews" not in first
    assert "Page 1 of 2" in first and 'rel="next"' in first and 'rel="prev"' in second
