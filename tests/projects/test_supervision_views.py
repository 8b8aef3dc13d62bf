"""The kick-off and mid-term pages, the secretariat's mid-term queue and the include templates."""

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from docx import Document

from accounts import roles
from projects import access
from projects.models import KickoffReport, MidtermReport
from projects.services import request_change
from projects.supervision import decide_midterm, submit_midterm
from projects.views.supervision import dashboard_section
from tests.factories import MemberFactory, ProjectFactory, UserFactory, aware

pytestmark = pytest.mark.usefixtures("english")

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82")


def running(pi, **fields):
    values = dict(state="active", pi=pi, approved_at=aware(2024, 1, 10, 9, 0), start_date=dt.date(2024, 1, 10),
                  end_date=dt.date(2099, 1, 9))
    values.update(fields)
    project = ProjectFactory(**values)
    access.sync_object_permissions(project)
    return project


@pytest.fixture
def project(applicant):
    return running(applicant, number="CAEA2024A007")


def report_for(project):
    submit_midterm(project, by=project.pi, progress="完成调查。", outputs_so_far="论文一篇。", problems="", plan="撰写报告。")
    project.refresh_from_db()
    return project


# ---- access -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["project-kickoff", "project-midterm"])
def test_who_sees_the_pages(client, project, applicant, unit_admin, secretary, other_unit, name):
    member = UserFactory(institution=applicant.institution)
    MemberFactory(project=project, user=member)
    access.sync_object_permissions(project)
    address = reverse(name, args=[project.pk])
    for person, status in ((applicant, 200), (unit_admin, 200), (secretary, 200), (member, 404),
                           (UserFactory(role=roles.COMMITTEE), 404),
                           (UserFactory(institution=other_unit, role=roles.UNIT_ADMIN), 404)):
        client.force_login(person)
        assert client.get(address).status_code == status, person


def test_readers_may_not_post(client, project, unit_admin, secretary):
    for person in (unit_admin, secretary):
        client.force_login(person)
        assert client.post(reverse("project-kickoff", args=[project.pk]), {"held_on": "2024-02-01"}).status_code == 403
        assert client.post(reverse("project-midterm", args=[project.pk]),
                           {"action": "submit", "progress": "x", "plan": "y"}).status_code == 403
    assert not KickoffReport.objects.exists() and not MidtermReport.objects.exists()


def test_queue_is_for_the_secretariat(client, applicant, unit_admin):
    for person in (applicant, unit_admin):
        client.force_login(person)
        assert client.get(reverse("midterm-queue")).status_code == 403


# ---- kick-off ---------------------------------------------------------------------------------


def test_pi_records_then_corrects_the_kickoff(client, project, applicant, unit_admin):
    client.force_login(applicant)
    address = reverse("project-kickoff", args=[project.pk])
    data = {"held_on": "2024-03-01", "experts": "张明 教授", "report": "开题顺利。",
            "file": SimpleUploadedFile("开题.png", PNG, content_type="image/png")}
    assert client.post(address, data).status_code == 302
    page = client.get(address).content.decode()
    assert "开题顺利。" in page and 'value="2024-03-01"' in page and "Correct the kick-off" in page
    assert client.get(reverse("project-kickoff-file", args=[project.pk])).status_code == 200
    client.post(address, {"held_on": "2024-03-02", "experts": "张明 教授", "report": "开题顺利，已修改。"})
    assert KickoffReport.objects.get().report == "开题顺利，已修改。"
    client.force_login(unit_admin)
    page = client.get(address).content.decode()
    assert "开题顺利，已修改。" in page and "<form method=\"post\" enctype" not in page
    assert client.get(reverse("project-kickoff-file", args=[project.pk])).status_code == 200


def test_future_kickoff_is_refused_and_input_kept(client, project, applicant):
    client.force_login(applicant)
    response = client.post(reverse("project-kickoff", args=[project.pk]),
                           {"held_on": "2099-01-01", "experts": "张明 教授", "report": "计划中的开题。"})
    html = response.content.decode()
    assert response.status_code == 200 and "is in the future" in html
    assert "计划中的开题。" in html and 'value="2099-01-01"' in html
    assert not KickoffReport.objects.exists()


def test_kickoff_locked_after_the_midterm_report(client, project, applicant):
    client.force_login(applicant)
    address = reverse("project-kickoff", args=[project.pk])
    client.post(address, {"held_on": "2024-03-01", "experts": "张明 教授", "report": "开题顺利。"})
    report_for(project)
    page = client.get(address).content.decode()
    assert "can no longer be changed" in page
    response = client.post(address, {"held_on": "2024-03-05", "experts": "张明 教授", "report": "改。"})
    assert "can no longer be changed" in response.content.decode()
    assert KickoffReport.objects.get().report == "开题顺利。"


# ---- mid-term ---------------------------------------------------------------------------------


def test_pi_submits_the_midterm_report(client, project, applicant):
    client.force_login(applicant)
    address = reverse("project-midterm", args=[project.pk])
    response = client.post(address, {"action": "submit", "progress": "完成调查。", "outputs_so_far": "", "problems": "",
                                     "plan": "撰写报告。"})
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.state == "midterm_review"
    page = client.get(address).content.decode()
    assert "waiting for the secretariat" in page and "Submit the mid-term report</button>" not in page


def test_refused_midterm_keeps_the_input(client, applicant):
    project = running(applicant, state="active")
    client.force_login(applicant)
    response = client.post(reverse("project-midterm", args=[project.pk]),
                           {"action": "submit", "progress": "完成调查。", "plan": "撰写报告。",
                            "file": SimpleUploadedFile("a.exe", b"MZ not a file")})
    html = response.content.decode()
    assert response.status_code == 200 and "This type of file is not accepted" in html and "完成调查。" in html
    assert not MidtermReport.objects.exists()


def test_secretariat_decides_and_downloads_the_form(client, project, secretary, applicant):
    report_for(project)
    client.force_login(secretary)
    address = reverse("project-midterm", args=[project.pk])
    page = client.get(address).content.decode()
    assert "Record the decision" in page and "?stage=midterm" in page
    response = client.post(address, {"action": "decide", "decision": "fail", "reason": ""})
    assert "Please give a reason for this step." in response.content.decode()
    project.refresh_from_db()
    assert project.state == "midterm_review"
    response = client.post(address, {"action": "decide", "decision": "fail", "reason": "进度滞后。",
                                     "rectification_deadline": "2099-03-01"})
    assert response.status_code == 302
    project.refresh_from_db()
    assert (project.state, project.midterm_result, project.rectification_deadline) == ("active", "fail", dt.date(2099, 3, 1))
    download = client.get(reverse("project-midterm-form", args=[project.pk]))
    assert download.status_code == 200
    doc = Document(io.BytesIO(download.content))
    cells = "\n".join(c.text for t in doc.tables for r in t.rows for c in r.cells)
    assert "不合格，限期整改" in cells and "进度滞后。" in cells and "CAEA2024A007" in cells
    client.force_login(applicant)
    assert "Fail, to be rectified" in client.get(address).content.decode()


def test_no_form_before_a_report(client, project, applicant):
    client.force_login(applicant)
    assert client.get(reverse("project-midterm-form", args=[project.pk])).status_code == 404


def test_closed_round_results_are_shown(client, project, secretary):
    from tests.reviews.factories import ReviewRoundFactory

    report_for(project)
    round_ = ReviewRoundFactory(call_class=project.call_class, stage="midterm", state="open", name="2024年中期检查评审")
    round_.projects.add(project)
    client.force_login(secretary)
    address = reverse("project-midterm", args=[project.pk])
    assert "still running" in client.get(address).content.decode()
    type(round_).objects.filter(pk=round_.pk).update(state="closed", closed_at=aware(2024, 6, 1, 9, 0))
    page = client.get(address).content.decode()
    assert "2024年中期检查评审" in page and "Valid reviews" in page
    decide_midterm(project, by=secretary, decision="pass")


def test_midterm_queue_and_its_query_count(client, secretary):
    def add(n):
        for _i in range(n):
            report_for(running(UserFactory()))

    add(3)
    client.force_login(secretary)
    address = reverse("midterm-queue")
    with CaptureQueriesContext(connection) as small:
        page = client.get(address)
    assert page.content.decode().count(">Decide<") == 3
    add(27)
    with CaptureQueriesContext(connection) as large:
        page = client.get(address)
    assert page.content.decode().count(">Decide<") == 30
    assert len(small) == len(large)


# ---- the include templates ----------------------------------------------------------------------


def _render(template, user, **context):
    request = RequestFactory().get("/")
    request.user = user
    return render_to_string(template, {"user": user, **context}, request=request)


def test_project_section_shows_only_to_its_people(project, applicant, unit_admin, secretary, other_unit):
    request_change(project, "output_form", by=applicant, explanation="调整。", new_output_form="专著")
    for person in (applicant, unit_admin, secretary):
        html = _render("projects/supervision/_project_section.html", person, project=project)
        assert reverse("project-kickoff", args=[project.pk]) in html
        assert reverse("project-changes", args=[project.pk]) in html and "Waiting for the unit" in html
    for person in (UserFactory(institution=applicant.institution), UserFactory(institution=other_unit, role=roles.UNIT_ADMIN)):
        assert reverse("project-kickoff", args=[project.pk]) not in _render(
            "projects/supervision/_project_section.html", person, project=project)


def test_dashboard_section(project, applicant, unit_admin, secretary):
    request_change(project, "output_form", by=applicant, explanation="调整。", new_output_form="专著")
    html = _render("projects/supervision/_dashboard_section.html", unit_admin, supervision=dashboard_section(unit_admin))
    assert reverse("unit-change-queue") in html and ": 1" in html
    html = _render("projects/supervision/_dashboard_section.html", secretary, supervision=dashboard_section(secretary))
    assert reverse("supervision-sweep") in html and reverse("change-queue") in html
    assert dashboard_section(applicant) == {}
    assert _render("projects/supervision/_dashboard_section.html", applicant, supervision={}).strip() == ""


def test_a_decision_posted_for_an_active_project_is_refused_not_a_500(client, project, secretary):
    client.force_login(secretary)
    response = client.post(reverse("project-midterm", args=[project.pk]),
                           {"action": "decide", "decision": "terminate", "reason": "其他原因"})
    assert response.status_code == 200
    assert "is not possible while the record is" in response.content.decode()
    project.refresh_from_db()
    assert project.state == "active" and not MidtermReport.objects.filter(project=project).exists()
