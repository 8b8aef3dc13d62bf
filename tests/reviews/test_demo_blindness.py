"""Every demo expert, crawling everything they can reach, meets no identity of the proposals they review.

The must-show test of the review issue, over the demo's own data (``load_demo``):
log in as each of expert1 … expert12, follow every link and GET form from the
expert dashboard, download every file, and look for the PI's and members'
names and units and the receipt and project numbers of every proposal the expert
was ever assigned (declined and removed ones too), and for the numbers of every
proposal of every round. The public pages every visitor sees alike are left out
of the crawl: the archive and the calls' public notice (立项公示) list approved
projects with their PIs by design (DESIGN.md, "After approval", "The archive"),
and neither holds anything of a proposal under review.
"""

from io import StringIO

import pytest
from django.core.management import call_command

from projects.models import Project
from reviews.models import Assignment, ExpertProfile, Review
from tests.reviews.test_blindness import SKIP_PREFIXES, crawl_as, identity_strings, leaks

pytestmark = [pytest.mark.django_db, pytest.mark.rolled_back]

PUBLIC_PAGES = SKIP_PREFIXES + ("/archive/", "/calls/", "/publicity/")


def test_no_demo_expert_reaches_an_identity(client):
    call_command("load_demo", stdout=StringIO())
    experts = list(ExpertProfile.objects.select_related("user").order_by("user__username"))
    assert len(experts) == 12
    assert Review.objects.filter(state="submitted").exists() and Review.objects.filter(state="draft").exists()
    in_rounds = Project.objects.filter(review_rounds__isnull=False).distinct()
    numbers = {n for p in in_rounds for n in (p.receipt_number, p.number) if n}
    for expert in experts:
        assigned = Project.objects.filter(assignments__expert=expert).distinct().select_related("pi__institution")
        secrets = identity_strings(assigned) | numbers
        client.force_login(expert.user)
        texts = crawl_as(client, skip=PUBLIC_PAGES)
        visited = [text.split("\n", 1)[0] for text in texts]
        reachable = Assignment.objects.open_to_expert().filter(expert=expert)
        assert reachable.exists(), expert.user.username
        assert sum(url.endswith("/huoye.docx") for url in visited) == reachable.count(), expert.user.username
        # The crawl did read the dossiers: each reachable proposal's title is there.
        assert all(leaks(texts, {a.project.title}) for a in reachable.select_related("project")), expert.user.username
        assert not leaks(texts, secrets), expert.user.username
        assert not leaks(texts, {f"/projects/{p.pk}/" for p in in_rounds}), expert.user.username
        client.logout()


def test_the_demo_round_gives_expert1_real_work(client):
    """A newcomer logging in as expert1 finds an open round with a draft to finish; the rest of the story is there."""
    call_command("load_demo", stdout=StringIO())
    expert1 = ExpertProfile.objects.get(user__username="expert1")
    open_work = Assignment.objects.open_to_expert().filter(expert=expert1, round__state="open")
    assert open_work.filter(review__state="draft").exists()
    assert expert1.signatures.filter(round__state="open").exists()
    assert Assignment.objects.filter(status="declined").count() == 1
    replacement = Assignment.objects.get(source="replacement")
    assert replacement.replaces.status == "declined" and replacement.status == "invited"
    assert Review.objects.filter(state="submitted").count() > 100
    client.force_login(expert1.user)
    page = client.get("/review/").content.decode()
    assert open_work.first().token in page


def test_the_demo_shows_the_decision_and_the_life_after_it():
    """The 2023 call carries its meeting, notice, letters and the records of every later stage."""
    from projects.models import CompletionReport, KickoffReport, MidtermReport, Objection, ProjectDocument
    from reviews.models import Meeting, StagedDecision

    call_command("load_demo", stdout=StringIO())
    meeting = Meeting.objects.get(call__year=2023)
    assert meeting.state == "released" and meeting.present.count() == 5
    approved = Project.objects.filter(call__year=2023, log__transition="approve").distinct()
    assert StagedDecision.objects.filter(meeting=meeting, outcome="approve").count() == approved.count()
    assert set(Objection.objects.values_list("state", flat=True)) == {"upheld", "dismissed"}
    confirmed = Project.objects.filter(call__year=2023, number__isnull=False)
    assert ProjectDocument.objects.filter(kind="approval_letter").count() == confirmed.count()
    assert KickoffReport.objects.count() == confirmed.count() and MidtermReport.objects.exists()
    completed = Project.objects.filter(call__year=2023, state="completed")
    assert completed.exists() and all(p.certificate_number for p in completed)
    assert ProjectDocument.objects.filter(kind="certificate").count() == completed.count()
    assert CompletionReport.objects.filter(grade="fail").exists()  # the project that passed at the second try
