"""The completion pages: the PI's form, the unit's and the secretariat's actions, the queues, the documents."""

import datetime as dt
import io
from urllib.parse import quote

import docx
import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from projects.access import sync_object_permissions
from projects.completion import waiting_counts
from projects.models import CompletionReport, Output
from reviews.models import ReviewRound
from tests.factories import ProjectFactory, UserFactory
from tests.projects.test_completion import BOOK, MATERIALS, NOW, PAPER, completion_round, make_pi, make_project

DAY = dt.timedelta(days=1)


@pytest.fixture
def pi(unit):
    return make_pi(unit)


@pytest.fixture
def project(pi):
    """The pages run on the real clock: the project's period runs a year beyond today."""
    project = make_project(pi)
    project.end_date = timezone.localdate() + dt.timedelta(days=365)
    project.save(update_fields=["end_date"])
    return project


def page(project):
    return reverse("project-completion", args=[project.pk])


def form_data(outputs=(PAPER,), avoid=(), **fields):
    data = {**MATERIALS, **fields, "action": "submit"}
    for prefix, rows in (("outputs", outputs), ("avoid", avoid)):
        data.update({f"{prefix}-TOTAL_FORMS": str(len(rows)), f"{prefix}-INITIAL_FORMS": "0",
                     f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"})
        for index, row in enumerate(rows):
            data.update({f"{prefix}-{index}-{key}": value for key, value in row.items()})
    return data


def texts(response):
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def submitted(project, pi, client, django_capture_on_commit_callbacks):
    client.force_login(pi)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(page(project), form_data(outputs=(PAPER, BOOK)))
    client.logout()
    return CompletionReport.objects.get(project=project)


# ---- the PI ----------------------------------------------------------------------------------------


def test_the_pi_fills_the_form_and_submits(client, project, pi, english, django_capture_on_commit_callbacks):
    client.force_login(pi)
    response = client.get(page(project))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Apply for completion" in body and 'name="outputs-0-title"' in body and 'name="avoid-1-name"' in body
    avoid = ({"name": "李明", "unit": "江苏开放大学", "reason": "观点分歧"}, {"name": "", "unit": "", "reason": ""})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(page(project), form_data(outputs=(PAPER, {"kind": "paper"}, BOOK), avoid=avoid),
                               follow=True)
    assert "The completion materials were submitted to your unit." in texts(response)
    project.refresh_from_db()
    report = CompletionReport.objects.get(project=project)
    assert (project.state, report.state, report.attempt) == ("completion_review", "submitted", 1)
    assert [o.title for o in project.outputs.all()] == [PAPER["title"], BOOK["title"]]
    assert list(project.avoid_requests.values_list("name", "stage")) == [("李明", "completion")]


def test_a_refused_submission_keeps_what_was_typed(client, project, pi, english):
    client.force_login(pi)
    typed = "课题组走访了十二个社区学习点，完成问卷二千份。"
    response = client.post(page(project), form_data(outputs=({"title": "只有题名"},), work_report=typed))
    assert response.status_code == 200
    assert texts(response) == ["Output 1: the authors are missing."]
    body = response.content.decode()
    assert typed in body and "只有题名" in body
    project.refresh_from_db()
    assert project.state == "active" and not CompletionReport.objects.exists() and not Output.objects.exists()


def test_a_name_in_the_summary_is_flagged_at_submission(client, project, pi, english):
    client.force_login(pi)
    response = client.post(page(project), form_data(summary_report="周海燕主持完成。"), follow=True)
    [warning] = [m for m in texts(response) if m.startswith("The formal check will return")]
    assert "周海燕" in warning
    assert CompletionReport.objects.filter(project=project).exists()  # a warning, not a refusal


def test_returned_materials_come_back_to_the_pi_to_correct(client, project, pi, unit_admin, submitted, english):
    client.force_login(unit_admin)
    client.post(page(project), {"action": "return", "reason": "请补充经费使用说明。"})
    client.force_login(pi)
    body = client.get(page(project)).content.decode()
    assert "Correct and submit again" in body and MATERIALS["work_report"] in body and PAPER["title"] in body
    response = client.post(page(project), form_data(outputs=(BOOK,), work_report="补充了经费说明。"), follow=True)
    submitted.refresh_from_db()
    assert (submitted.state, submitted.attempt, submitted.work_report) == ("submitted", 1, "补充了经费说明。")
    assert "The completion materials were submitted to your unit." in texts(response)


# ---- the unit and the secretariat ------------------------------------------------------------------


def test_unit_endorses_secretariat_checks_and_appraises(client, project, pi, unit_admin, secretary, submitted,
                                                        english, django_capture_on_commit_callbacks):
    client.force_login(unit_admin)
    body = client.get(page(project)).content.decode()
    assert "Endorse the completion" in body and "Pass the formal check" not in body
    response = client.post(page(project), {"action": "accept", "reason": ""}, follow=True)
    assert texts(response) == ["“Pass the formal check” is not possible while the record is “Waiting for the unit”."]
    client.force_login(secretary)
    response = client.post(page(project), {"action": "endorse"}, follow=True)
    assert texts(response) == ["You are not allowed to do “Endorse the completion” here."]
    client.force_login(unit_admin)
    client.post(page(project), {"action": "endorse", "reason": "同意结题。"})
    submitted.refresh_from_db()
    assert submitted.state == "endorsed"

    client.force_login(secretary)
    body = client.get(page(project)).content.decode()
    assert "No name, unit or place of the team was found." in body
    client.post(page(project), {"action": "accept"})
    submitted.refresh_from_db()
    assert submitted.state == "accepted"
    response = client.post(page(project), {"action": "appraise", "grade": ""})
    assert response.status_code == 200
    assert any(m.startswith("No appraisal round has reviewed these materials yet.") for m in texts(response))
    completion_round(project, ["good", "excellent", "good"], opened_at=timezone.now())
    body = client.get(page(project)).content.decode()
    assert "3 valid reviews" in body and "<strong>Good</strong>" in body
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(page(project), {"action": "appraise", "grade": ""}, follow=True)
    assert "The appraisal is recorded: the project is “Completed”." in texts(response)
    project.refresh_from_db()
    assert (project.state, project.grade) == ("completed", "good") and project.certificate_number

    client.force_login(pi)
    body = client.get(page(project)).content.decode()
    assert project.certificate_number in body
    response = client.get(reverse("completion-document", args=[project.pk, "certificate"]))
    assert response.status_code == 200 and quote("结题证书") in response["Content-Disposition"]
    certificate = docx.Document(io.BytesIO(b"".join(response.streaming_content)))
    assert any(project.certificate_number in p.text for p in certificate.paragraphs)
    assert client.get(reverse("completion-document", args=[project.pk, "appraisal_opinion"])).status_code == 200
    assert client.get(reverse("completion-document", args=[project.pk, "application"])).status_code == 404


def test_a_missing_document_is_built_on_demand(client, pi, secretary):
    project = ProjectFactory(state="completed", pi=pi, number="CAEA2023A009", grade="pass", closed_at=NOW,
                             certificate_number="CAEA-JT20250009")
    sync_object_permissions(project)
    client.force_login(pi)
    response = client.get(reverse("completion-document", args=[project.pk, "certificate"]))
    assert response.status_code == 200
    assert client.get(reverse("completion-document", args=[project.pk, "appraisal_opinion"])).status_code == 404


# ---- access ---------------------------------------------------------------------------------------


def test_strangers_see_nothing(client, project, other_unit, submitted):
    stranger = UserFactory(username="stranger", institution=other_unit)
    other_admin = UserFactory(username="other-admin", institution=other_unit, role=roles.UNIT_ADMIN)
    for user in (stranger, other_admin):
        client.force_login(user)
        assert client.get(page(project)).status_code == 404
        assert client.post(page(project), {"action": "endorse"}).status_code == 404
        assert client.get(reverse("completion-document", args=[project.pk, "certificate"])).status_code == 404
    submitted.refresh_from_db()
    assert submitted.state == "submitted"
    client.logout()
    assert client.get(page(project)).status_code == 302


def test_queues_are_for_their_roles(client, pi, unit_admin, secretary):
    unit_url, secretariat_url = reverse("unit-completion-queue"), reverse("completion-queue")
    client.force_login(pi)
    assert client.get(unit_url).status_code == 403
    assert client.get(secretariat_url).status_code == 403
    client.force_login(unit_admin)
    assert client.get(unit_url).status_code == 200
    assert client.get(secretariat_url).status_code == 403
    client.force_login(secretary)
    assert client.get(secretariat_url).status_code == 200
    assert client.get(unit_url).status_code == 403


# ---- queues and their queries ------------------------------------------------------------------------


def make_reports(n, unit, state, *, with_round=False):
    reports = []
    for _ in range(n):
        project = ProjectFactory(state="completion_review", pi=UserFactory(institution=unit), institution=unit,
                                 number=f"CAEA2023B{CompletionReport.objects.count() + 1:03d}")
        reports.append(CompletionReport.objects.create(project=project, state=state, submitted_at=NOW,
                                                       endorsed_at=NOW, checked_at=NOW, **MATERIALS))
        if with_round:
            completion_round(project, [], opened_at=NOW + DAY)
    return reports


def queries_of(client, url):
    client.get(url)  # warm the session and the content types
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries), response


def test_unit_queue_queries_do_not_grow(client, unit, unit_admin):
    client.force_login(unit_admin)
    make_reports(3, unit, "submitted")
    few, response = queries_of(client, reverse("unit-completion-queue"))
    assert len(response.context["waiting"]) == 3
    make_reports(27, unit, "submitted")
    many, response = queries_of(client, reverse("unit-completion-queue"))
    assert len(response.context["waiting"]) == 30
    assert few == many


def test_secretariat_queue_queries_do_not_grow(client, unit, secretary):
    client.force_login(secretary)
    make_reports(3, unit, "endorsed")
    make_reports(3, unit, "accepted", with_round=True)
    few, response = queries_of(client, reverse("completion-queue"))
    assert len(response.context["appraisals"]) == 3
    make_reports(27, unit, "endorsed")
    make_reports(27, unit, "accepted", with_round=True)
    many, response = queries_of(client, reverse("completion-queue"))
    assert len(response.context["formal_checks"]) == 30 and len(response.context["appraisals"]) == 30
    assert few == many
    assert "结题鉴定" in response.content.decode()


def test_the_secretariat_creates_a_completion_round(client, unit, secretary, english):
    [report] = make_reports(1, unit, "accepted")
    client.force_login(secretary)
    body = client.get(reverse("completion-queue")).content.decode()
    assert "1 project ready" in body
    response = client.post(reverse("completion-queue"), {
        "call_class": report.project.call_class_id, "deadline": "2030-06-30T17:00"})
    round_ = ReviewRound.objects.get(stage="completion")
    assert response.status_code == 302 and response["Location"] == reverse("round-detail", args=[round_.pk])
    assert list(round_.projects.all()) == [report.project]


# ---- the include templates ---------------------------------------------------------------------------


def test_the_include_templates_render(project, pi, unit, unit_admin, secretary, english):
    section = render_to_string("projects/completion/_project_section.html", {"project": project, "user": pi})
    assert reverse("project-completion", args=[project.pk]) in section and "Apply for completion" in section
    make_reports(2, unit, "submitted")
    make_reports(1, unit, "endorsed")
    dashboard = render_to_string("projects/completion/_dashboard_section.html",
                                 {"user": unit_admin, "completions_waiting": waiting_counts(unit_admin)})
    assert "2 completions waiting for your unit" in dashboard
    dashboard = render_to_string("projects/completion/_dashboard_section.html",
                                 {"user": secretary, "completions_waiting": waiting_counts(secretary)})
    assert "1 formal check of completion materials" in dashboard
    assert render_to_string("projects/completion/_dashboard_section.html",
                            {"user": pi, "completions_waiting": waiting_counts(pi)}).strip() == ""


def test_the_secretariat_records_the_panel_s_grade_never_a_typed_one(client, english, project, submitted,
                                                                      unit_admin, secretary,
                                                                      django_capture_on_commit_callbacks):
    client.force_login(unit_admin)
    client.post(page(project), {"action": "endorse"})
    client.force_login(secretary)
    client.post(page(project), {"action": "accept"})
    body = client.get(page(project)).content.decode()
    assert 'name="grade"' not in body and 'value="appraise"' not in body  # no round: nothing to record
    completion_round(project, ["pass", "pass", "fail"], opened_at=timezone.now())
    body = client.get(page(project)).content.decode()
    assert 'name="grade"' not in body and "Record the panel's result" in body
    with django_capture_on_commit_callbacks(execute=True):
        client.post(page(project), {"action": "appraise", "grade": "excellent", "reason": "同意专家组意见。"})
    project.refresh_from_db()
    assert (project.state, project.grade) == ("completed", "pass")
