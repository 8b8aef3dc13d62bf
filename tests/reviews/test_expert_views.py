"""The expert's pages: dashboard, declaration, dossier with the review form, 活页, answers, reopening."""

import datetime as dt
import io
import re
from urllib.parse import urlencode

import docx
import pytest
from django.contrib.staticfiles import finders
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from projects.services import perform
from reviews import services
from reviews.models import AssignmentStatus, DeclarationSignature, ExpertDeclaration, Review
from tests.factories import InstitutionFactory
from tests.reviews.factories import (
    AssignmentFactory,
    ExpertProfileFactory,
    ReviewFactory,
    ReviewRoundFactory,
    SignatureFactory,
)

COMPLETE = {
    "score-topic": "8", "score-argument": "9", "score-foundation": "7",
    "recommendation": "A",
    "comments_to_applicant": "选题紧扣指南，论证充分，建议补充样本说明。",
    "comments_to_committee": "质量较高。",
}


@pytest.fixture
def assignment(db):
    return AssignmentFactory()


@pytest.fixture
def signed(assignment):
    SignatureFactory(expert=assignment.expert, round=assignment.round)
    return assignment


@pytest.fixture
def expert(client, assignment):
    client.force_login(assignment.expert.user)
    return client


def dossier_url(assignment):
    return reverse("expert-dossier", args=[assignment.token])


def back_via_declaration(assignment):
    declaration = reverse("expert-declaration", args=[assignment.round.pk])
    return f"{declaration}?{urlencode({'next': dossier_url(assignment)})}"


def page_messages(response):
    return [str(m) for m in response.context["messages"]]


def spare_experts(n=3):
    return [ExpertProfileFactory(user__institution=InstitutionFactory(name=f"替补学院{i}")) for i in range(n)]


# ---- declaration --------------------------------------------------------------------------------


def test_the_declaration_comes_before_the_dossier(english, expert, assignment):
    response = expert.get(dossier_url(assignment))
    declaration = reverse("expert-declaration", args=[assignment.round.pk])
    assert response.status_code == 302 and response["Location"] == back_via_declaration(assignment)
    docx_response = expert.get(reverse("expert-dossier-docx", args=[assignment.token]))
    assert docx_response.status_code == 302 and docx_response["Location"].startswith(declaration)

    page = expert.get(response["Location"])
    assert "保密" in page.content.decode() and "利益冲突" in page.content.decode()
    refused = expert.post(declaration, {"next": dossier_url(assignment)})
    assert "Please tick the box" in " ".join(page_messages(refused))
    assert not DeclarationSignature.objects.exists()

    signed = expert.post(declaration, {"agree": "1", "next": dossier_url(assignment)})
    assert signed.status_code == 302 and signed["Location"] == dossier_url(assignment)
    signature = DeclarationSignature.objects.get()
    assert signature.text == services.DECLARATION_TEXT and signature.expert == assignment.expert
    assert expert.get(dossier_url(assignment)).status_code == 200


@pytest.mark.parametrize("next_url", ["https://evil.example/", "/projects/1/", "//evil.example/review/"])
def test_the_declaration_sends_nowhere_else(expert, assignment, next_url):
    response = expert.post(reverse("expert-declaration", args=[assignment.round.pk]), {"agree": "1", "next": next_url})
    assert response["Location"] == reverse("expert-dashboard")


# ---- the review form -----------------------------------------------------------------------------


def test_the_form_shows_the_rounds_criteria_and_the_live_total_script(expert, signed):
    html = expert.get(dossier_url(signed)).content.decode()
    for key, weight in (("topic", 3), ("argument", 5), ("foundation", 2)):
        assert re.search(rf'name="score-{key}"[^>]*min="3" max="10"[^>]*data-weight="{weight}"', html)
    assert 'src="/static/js/review_form.js"' in html
    script = finders.find("js/review_form.js")
    assert script is not None
    source = open(script, encoding="utf-8").read()
    assert "data-weight" in source and "data-total" in source


def test_the_script_is_served(live_server):
    """The page's script is really served (by the static files app in a running server)."""
    import urllib.request

    with urllib.request.urlopen(f"{live_server.url}/static/js/review_form.js") as answer:
        assert answer.status == 200 and b"data-weight" in answer.read()


def test_a_draft_keeps_what_was_typed_and_stores_nothing_wrong(english, expert, signed):
    data = dict(COMPLETE, **{"score-topic": "11", "action": "save"})
    response = expert.post(dossier_url(signed), data)
    assert response.status_code == 200
    assert page_messages(response) == ["The score of “选题” must be a whole number from 3 to 10."]
    html = response.content.decode()
    assert 'name="score-topic" value="11"' in html and COMPLETE["comments_to_applicant"] in html
    review = Review.objects.get(assignment=signed)
    assert review.scores == {"argument": 9, "foundation": 7} and review.state == "draft"
    assert review.comments_to_applicant == COMPLETE["comments_to_applicant"]


def test_a_draft_is_saved_and_shown_again(english, expert, signed):
    response = expert.post(dossier_url(signed), dict(COMPLETE, action="save"))
    assert response.status_code == 302
    page = expert.get(dossier_url(signed))
    assert "Draft saved." in page_messages(page)
    html = page.content.decode()
    assert 'name="score-argument" value="9"' in html and ">83.00<" in html
    assert re.search(r'value="A" checked', html)
    signed.refresh_from_db()
    assert signed.status == AssignmentStatus.ACCEPTED


def test_submitting_an_incomplete_review_lists_everything_and_keeps_the_draft(english, expert, signed):
    response = expert.post(dossier_url(signed), {"score-topic": "8", "comments_to_committee": "草稿", "action": "submit"})
    assert response.status_code == 200
    assert page_messages(response) == [
        "Please score “论证”.",
        "Please score “研究基础”.",
        "Please choose a recommendation.",
        "Please write your comments to the applicant.",
        "Your draft is saved; nothing you typed is lost.",
    ]
    review = Review.objects.get(assignment=signed)
    assert review.state == "draft" and review.scores == {"topic": 8} and review.comments_to_committee == "草稿"


def test_a_submitted_review_is_read_only(english, expert, signed):
    response = expert.post(dossier_url(signed), dict(COMPLETE, action="submit"))
    assert response.status_code == 302
    page = expert.get(dossier_url(signed))
    html = page.content.decode()
    assert "Your review is submitted. Thank you." in page_messages(page)
    assert "data-review-form" not in html and "the secretariat may reopen it" in html
    assert ">83.00<" in html and "建议入围" in html
    again = expert.post(dossier_url(signed), dict(COMPLETE, **{"score-topic": "3", "action": "save"}), follow=True)
    assert any("can no longer be changed" in m for m in page_messages(again))
    assert Review.objects.get(assignment=signed).scores["topic"] == 8


def test_the_secretariat_reopens_a_review(english, client, signed, secretary):
    review = ReviewFactory(assignment=signed)
    client.force_login(secretary)
    url = reverse("review-reopen", args=[review.pk])
    refused = client.post(url, {"reason": ""}, follow=True)
    assert "Please give a reason for this step." in page_messages(refused)
    client.post(url, {"reason": "请核对论证部分的评分。", "next": "/review/"})
    review.refresh_from_db()
    assert review.state == "draft" and review.reopened_at is not None
    client.force_login(signed.expert.user)
    html = client.get(dossier_url(signed)).content.decode()
    assert "data-review-form" in html and 'name="score-topic" value="8"' in html


def test_a_closed_round_shows_the_review_read_only(english, expert, signed, secretary):
    perform(signed.round, "close_round", by=secretary)
    html = expert.get(dossier_url(signed)).content.decode()
    assert "data-review-form" not in html and "The review round is closed." in html
    for name in ("expert-decline", "expert-conflict", "expert-accept"):
        assert reverse(name, args=[signed.token]) not in html


# ---- the other experts' reviews --------------------------------------------------------------------


def other_review(signed, alias_number=None):
    other = AssignmentFactory(round=signed.round, project=signed.project, status=AssignmentStatus.ACCEPTED,
                              expert=ExpertProfileFactory(user__username="colleague", user__real_name="皇甫长风"))
    if alias_number:
        type(other).objects.filter(pk=other.pk).update(alias_number=alias_number)
    return ReviewFactory(assignment=other, comments_to_applicant="同行评语：研究设计尚需完善。")


@pytest.mark.parametrize("see_each_other", [False, True])
def test_other_reviews_only_when_the_round_allows_and_after_submitting(english, expert, signed, see_each_other):
    type(signed.round).objects.filter(pk=signed.round.pk).update(experts_see_each_other=see_each_other)
    other_review(signed, alias_number=2)
    before = expert.get(dossier_url(signed)).content.decode()
    assert "同行评语" not in before
    expert.post(dossier_url(signed), dict(COMPLETE, action="submit"))
    after = expert.get(dossier_url(signed)).content.decode()
    assert ("同行评语" in after) is see_each_other
    assert ("专家2" in after) is see_each_other
    assert "皇甫长风" not in after and "colleague" not in after


def test_a_review_without_an_alias_yet_shows_a_question_mark(expert, signed):
    type(signed.round).objects.filter(pk=signed.round.pk).update(experts_see_each_other=True)
    other_review(signed)
    expert.post(dossier_url(signed), dict(COMPLETE, action="submit"))
    assert "专家?" in expert.get(dossier_url(signed)).content.decode()


# ---- the 活页 --------------------------------------------------------------------------------------


def test_the_huoye_carries_the_rounds_criteria_and_tells_nothing(expert, signed):
    form = signed.round.form
    form["criteria"].append({"key": "innovation", "name": "创新性", "weight": 4, "points": "观点与方法的创新"})
    form["scale"] = {"min": 1, "max": 5}
    type(signed.round).objects.filter(pk=signed.round.pk).update(form=form)
    response = expert.get(reverse("expert-dossier-docx", args=[signed.token]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="huoye.docx"'
    assert not re.search(r"\d", response["Content-Disposition"])
    document = docx.Document(io.BytesIO(response.content))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    assert "创新性" in cells and "×4" in cells and "得分（1–5）" in cells
    assert "加权总分（14–70）" in cells
    properties = document.core_properties
    for name in ("author", "last_modified_by", "subject", "keywords", "comments", "category"):
        assert not getattr(properties, name), name


def test_the_pis_own_huoye_keeps_the_default_sheet(signed):
    from projects.documents import DEFAULT_CRITERIA, anonymous_form

    document = docx.Document(io.BytesIO(anonymous_form(signed.project)))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    assert [c.name for c in DEFAULT_CRITERIA] == [name for name in ("选题", "论证", "研究基础") if name in cells]
    assert "创新性" not in cells and "得分（3–10）" in cells


# ---- answering ------------------------------------------------------------------------------------


def test_accepting_from_the_dashboard(english, expert, assignment):
    url = reverse("expert-accept", args=[assignment.token])
    first = expert.post(url)
    assert first["Location"] == back_via_declaration(assignment)  # back to the dossier, not a POST address
    SignatureFactory(expert=assignment.expert, round=assignment.round)
    expert.post(url)
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.ACCEPTED


def test_declining_needs_a_reason_and_brings_a_replacement(english, expert, signed, mailoutbox):
    spare_experts()
    url = reverse("expert-decline", args=[signed.token])
    refused = expert.post(url, {"reason": ""}, follow=True)
    assert "Please give a reason for declining." in page_messages(refused)
    signed.refresh_from_db()
    assert signed.status == AssignmentStatus.INVITED
    done = expert.post(url, {"reason": "本人研究方向与该课题差距较大。"})
    assert done["Location"] == reverse("expert-dashboard")
    signed.refresh_from_db()
    assert signed.status == AssignmentStatus.DECLINED and signed.decline_reason == "本人研究方向与该课题差距较大。"
    assert signed.round.assignments.filter(replaces=signed, status=AssignmentStatus.INVITED).exists()
    assert expert.get(dossier_url(signed)).status_code == 404


def test_declaring_a_conflict_from_the_dossier(english, expert, signed):
    spare_experts()
    response = expert.post(reverse("expert-conflict", args=[signed.token]),
                           {"kind": "relative", "text": "申请书中提到的前期调查由我的配偶主持。"})
    assert response["Location"] == reverse("expert-dashboard")
    signed.refresh_from_db()
    assert signed.status == AssignmentStatus.REMOVED
    declaration = ExpertDeclaration.objects.get()
    assert declaration.project_id == signed.project_id and declaration.kind == "relative"
    assert signed.round.assignments.filter(replaces=signed).exists()


# ---- dashboard ------------------------------------------------------------------------------------


def test_the_dashboard_groups_by_round_with_status_and_time_left(english, client, db):
    now = timezone.now()
    profile = ExpertProfileFactory(user__username="busy-expert")
    soon = ReviewRoundFactory(state="open", name="第一轮评审", deadline=now + dt.timedelta(days=3))
    late = ReviewRoundFactory(state="open", name="第二轮评审", deadline=now - dt.timedelta(days=2))
    invited = AssignmentFactory(round=soon, expert=profile)
    extended = AssignmentFactory(round=late, expert=profile, status=AssignmentStatus.ACCEPTED,
                                 deadline=now + dt.timedelta(days=5))
    overdue = AssignmentFactory(round=late, expert=profile, status=AssignmentStatus.ACCEPTED)
    ReviewFactory(assignment=overdue, state="draft", submitted_at=None)
    client.force_login(profile.user)
    html = client.get(reverse("expert-dashboard")).content.decode()
    assert "第一轮评审" in html and "第二轮评审" in html
    assert "Invitations to answer" in html and reverse("expert-accept", args=[invited.token]) in html
    assert "To answer" in html and "Draft saved" in html and "Accepted" in html
    assert "Overdue by" in html and "extended for you" in html
    assert reverse("expert-dossier", args=[extended.token]) in html
    assert "/projects/" not in html


def _dashboard_load(n):
    profile = ExpertProfileFactory(user__username=f"expert-with-{n}")
    rounds = [ReviewRoundFactory(state="open"), ReviewRoundFactory(state="open")]
    for i in range(n):
        assignment = AssignmentFactory(round=rounds[i % 2], expert=profile,
                                       status=AssignmentStatus.ACCEPTED if i % 3 else AssignmentStatus.INVITED)
        if i % 3 == 1:
            ReviewFactory(assignment=assignment, state="draft" if i % 2 else "submitted")
    SignatureFactory(expert=profile, round=rounds[0])
    return profile


def test_the_dashboard_runs_the_same_queries_for_3_and_30(client, db, django_assert_num_queries):
    few = _dashboard_load(3)
    client.force_login(few.user)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("expert-dashboard")).status_code == 200
    many = _dashboard_load(30)
    client.force_login(many.user)
    with django_assert_num_queries(len(queries)):
        response = client.get(reverse("expert-dashboard"))
    assert response.content.decode().count("/review/") >= 30


# ---- the live total, in a real browser ------------------------------------------------------------


# ---- the mid-term review round ---------------------------------------------------------------------


def test_a_midterm_rounds_expert_reads_the_masked_midterm_report(db, english, client):
    from projects.models import MidtermReport
    from tests.factories import MemberFactory, ProjectFactory

    project = ProjectFactory(state="midterm_review", number="CAEA2023A007")
    MemberFactory(project=project, name="司马静", unit="江苏开放大学")
    MidtermReport.objects.create(
        project=project, progress=f"{project.pi.real_name}与司马静完成问卷调查。", outputs_so_far="江苏开放大学学报发表论文一篇。",
        problems="", plan="完成总报告。", submitted_at=timezone.now())
    assignment = AssignmentFactory(round__stage="midterm", round__state="open", round__call_class=project.call_class,
                                   project=project)
    SignatureFactory(expert=assignment.expert, round=assignment.round)
    client.force_login(assignment.expert.user)
    html = client.get(dossier_url(assignment)).content.decode()
    assert "Mid-term report (anonymous)" in html and "***与***完成问卷调查。" in html
    for secret in (project.pi.real_name, "司马静", "江苏开放大学", "CAEA2023A007"):
        assert secret not in html
    document = docx.Document(io.BytesIO(client.get(reverse("expert-dossier-docx", args=[assignment.token])).content))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "中期报告（匿名）" in text and "***学报发表论文一篇。" in text
