"""Who reaches what on the expert's side: an expert only their own open assignments, by token.

Anything else — another expert's token, a made-up one, a declined or removed
assignment (also while the expert is still on its page), a round not yet open,
the project's own pages — is 404; other roles get 403 on the role's pages;
anonymous visitors are sent to log in.
"""

import pytest
from django.urls import reverse

from accounts import roles
from reviews.models import AssignmentStatus
from tests.factories import UserFactory
from tests.reviews.factories import AssignmentFactory, ExpertProfileFactory, ReviewFactory, ReviewRoundFactory, SignatureFactory


def token_urls(token):
    return [reverse("expert-dossier", args=[token]), reverse("expert-dossier-docx", args=[token])]


def post_urls(token):
    return [reverse(name, args=[token]) for name in ("expert-accept", "expert-decline", "expert-conflict")]


@pytest.fixture
def mine(db):
    assignment = AssignmentFactory()
    SignatureFactory(expert=assignment.expert, round=assignment.round)
    return assignment


@pytest.fixture
def expert_client(client, mine):
    client.force_login(mine.expert.user)
    return client


def assert_all_404(client, token):
    for url in token_urls(token):
        assert client.get(url).status_code == 404, url
    for url in post_urls(token):
        assert client.post(url, {"reason": "x", "kind": "other", "text": "x"}).status_code == 404, url
    assert client.post(token_urls(token)[0], {"action": "save"}).status_code == 404


def test_the_expert_opens_their_own(expert_client, mine):
    for url in token_urls(mine.token):
        assert expert_client.get(url).status_code == 200, url


def test_another_experts_token_is_404(expert_client, mine):
    other = AssignmentFactory(round=mine.round, project=mine.project,
                              expert=ExpertProfileFactory(user__username="other-expert"))
    SignatureFactory(expert=other.expert, round=other.round)
    assert_all_404(expert_client, other.token)
    other.refresh_from_db()
    assert other.status == AssignmentStatus.INVITED


def test_a_made_up_token_is_404(expert_client, mine):
    assert_all_404(expert_client, "x" * 32)
    assert_all_404(expert_client, mine.token[:-1] + ("A" if mine.token[-1] != "A" else "B"))


@pytest.mark.parametrize("status", [AssignmentStatus.DECLINED, AssignmentStatus.REMOVED, AssignmentStatus.PROPOSED])
def test_a_withdrawn_or_unsent_assignment_is_404(expert_client, mine, status):
    mine.status = status
    mine.save()
    assert_all_404(expert_client, mine.token)


def test_removal_shuts_an_open_page(expert_client, mine):
    dossier = reverse("expert-dossier", args=[mine.token])
    assert expert_client.get(dossier).status_code == 200
    mine.status = AssignmentStatus.REMOVED
    mine.save()
    assert_all_404(expert_client, mine.token)
    assert mine.token not in expert_client.get(reverse("expert-dashboard")).content.decode()


def test_a_round_not_yet_open_is_404(client, db):
    assignment = AssignmentFactory(round=ReviewRoundFactory(), status=AssignmentStatus.INVITED)  # draft round
    SignatureFactory(expert=assignment.expert, round=assignment.round)
    client.force_login(assignment.expert.user)
    assert_all_404(client, assignment.token)
    assert client.get(reverse("expert-declaration", args=[assignment.round.pk])).status_code == 404


def test_the_declaration_of_a_round_without_an_assignment_is_404(expert_client, mine):
    elsewhere = AssignmentFactory(expert=ExpertProfileFactory(user__username="someone-else"))
    assert expert_client.get(reverse("expert-declaration", args=[elsewhere.round.pk])).status_code == 404
    assert expert_client.get(reverse("expert-declaration", args=[mine.round.pk])).status_code == 200


def test_the_project_itself_stays_shut(expert_client, mine):
    project = mine.project
    for url in (
        reverse("project-detail", args=[project.pk]),
        reverse("project-document", args=[project.pk, "anonymous"]),
        reverse("project-document", args=[project.pk, "application"]),
    ):
        assert expert_client.get(url).status_code == 404, url


@pytest.mark.parametrize("role", [None, roles.COMMITTEE, roles.UNIT_ADMIN])
def test_other_roles_are_refused(client, mine, role):
    client.force_login(UserFactory(username=f"not-an-expert-{role}", role=role))
    assert client.get(reverse("expert-dashboard")).status_code == 403
    assert client.get(reverse("expert-declaration", args=[mine.round.pk])).status_code == 403
    for url in token_urls(mine.token):
        assert client.get(url).status_code == 404, url


def test_anonymous_visitors_are_sent_to_log_in(client, mine):
    urls = [reverse("expert-dashboard"), reverse("expert-declaration", args=[mine.round.pk]), *token_urls(mine.token)]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), url


def test_only_the_secretariat_reopens(client, mine, secretary):
    review = ReviewFactory(assignment=mine)
    url = reverse("review-reopen", args=[review.pk])
    for user in (mine.expert.user, UserFactory(username="committee-member", role=roles.COMMITTEE)):
        client.force_login(user)
        assert client.post(url, {"reason": "请修改"}).status_code == 404
    review.refresh_from_db()
    assert review.state == "submitted"
    client.force_login(secretary)
    assert client.post(url, {"reason": "评分与评语不一致。"}).status_code == 302
    review.refresh_from_db()
    assert review.state == "draft"
