"""The pages of the public notice: the board, the objection form, the queue, confirmation, access."""

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfWriter

from projects.models import Objection, ObjectionState
from projects.publicity import submit_objection
from tests.factories import CallClassFactory, MemberFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


def pdf_bytes():
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture
def cls(db):
    return CallClassFactory(code="B", funding=10000, call__state="decided")


def in_notice(call_class, days_ago=2, **kwargs):
    return ProjectFactory(call_class=call_class, state="publicity",
                          publicity_started_at=timezone.now() - dt.timedelta(days=days_ago), **kwargs)


def objection_of(project, client="10.9.9.9", **kwargs):
    fields = {"name": "李晓东", "contact": "li@example.org", "text": "申报书中的前期成果与事实不符。"} | kwargs
    return submit_objection(project, client_id=client, **fields)


FORM = {"name": "王建国", "contact": "13800138000", "text": "课题组成员名单与实际不符。"}


# ---- the public board and form ----------------------------------------------------------------


def test_the_board_is_public_and_lists_the_projects_in_notice(client, cls, english):
    shown = in_notice(cls, title="社区学习共同体研究")
    over = in_notice(cls, days_ago=9, title="已过公示期的课题")
    ProjectFactory(call_class=cls, state="reviewed", title="尚未公示的课题")
    response = client.get(reverse("call-publicity", args=[cls.call.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "社区学习共同体研究" in page and shown.pi.display_name in page and shown.institution.name in page
    assert "尚未公示的课题" not in page
    assert reverse("objection-submit", args=[shown.pk]) in page
    assert reverse("objection-submit", args=[over.pk]) not in page and "Notice over" in page
    assert "Confirm the projects" not in page  # the secretariat's links are for the secretariat


def test_the_board_of_a_draft_call_is_404(client):
    cls = CallClassFactory(call__state="draft")
    assert client.get(reverse("call-publicity", args=[cls.call.pk])).status_code == 404


def test_anyone_may_object_and_is_thanked(client, cls, english):
    project = in_notice(cls)
    url = reverse("objection-submit", args=[project.pk])
    assert client.get(url).status_code == 200
    upload = SimpleUploadedFile("证明材料.pdf", pdf_bytes(), content_type="application/pdf")
    response = client.post(url, FORM | {"file": upload}, REMOTE_ADDR="192.0.2.7")
    assert response.status_code == 302 and response["Location"] == reverse("objection-thanks", args=[project.pk])
    stored = Objection.objects.get()
    assert (stored.project, stored.name, stored.file_name) == (project, "王建国", "证明材料.pdf")
    assert "Thank you" in client.get(response["Location"]).content.decode()


def test_bad_input_is_shown_by_its_field_and_kept(client, cls, english):
    project = in_notice(cls)
    response = client.post(reverse("objection-submit", args=[project.pk]),
                           {"name": "王建国", "contact": "不知道", "text": ""})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Enter a valid phone number" in page and "Please write your objection." in page
    assert 'value="王建国"' in page
    assert not Objection.objects.exists()


def test_a_bad_file_is_refused_on_the_form(client, cls, english):
    project = in_notice(cls)
    fake = SimpleUploadedFile("证明.pdf", b"MZ\x90\x00" + b"\x00" * 300)
    response = client.post(reverse("objection-submit", args=[project.pk]), FORM | {"file": fake})
    assert "This type of file is not accepted." in response.content.decode()
    assert not Objection.objects.exists()


def test_the_form_answers_429_over_the_limit_and_stores_nothing(client, cls, english):
    project = in_notice(cls)
    url = reverse("objection-submit", args=[project.pk])
    for _ in range(3):
        assert client.post(url, FORM, REMOTE_ADDR="198.51.100.1").status_code == 302
    response = client.post(url, FORM, REMOTE_ADDR="198.51.100.1")
    assert response.status_code == 429
    assert "3 objections within an hour" in response.content.decode()
    assert Objection.objects.count() == 3
    assert client.post(url, FORM, REMOTE_ADDR="198.51.100.2").status_code == 302


def test_no_form_after_the_notice_or_for_other_states(client, cls, english):
    over = in_notice(cls, days_ago=8)
    response = client.post(reverse("objection-submit", args=[over.pk]), FORM)
    assert "objections are no longer taken" in response.content.decode() and "<textarea" not in response.content.decode()
    confirmed = ProjectFactory(call_class=cls, state="active", publicity_started_at=timezone.now())
    assert "is not in public notice" in client.get(reverse("objection-submit", args=[confirmed.pk])).content.decode()
    assert not Objection.objects.exists()


def test_a_project_never_in_notice_is_not_shown(client, cls):
    draft = ProjectFactory(call_class=cls, state="draft")
    assert client.get(reverse("objection-submit", args=[draft.pk])).status_code == 404
    assert client.get(reverse("objection-thanks", args=[draft.pk])).status_code == 404


# ---- the secretariat ------------------------------------------------------------------------------


def test_queue_shows_pending_first(client, cls, secretary, english):
    project = in_notice(cls)
    decided = objection_of(project, name="先到者")
    pending = objection_of(project, name="后到者")
    Objection.objects.filter(pk=decided.pk).update(state=ObjectionState.DISMISSED, decided_by=secretary,
                                                   decided_at=timezone.now(), decision_reason="不属实")
    client.force_login(secretary)
    response = client.get(reverse("objection-queue"))
    assert [o.pk for o in response.context["pending"]] == [pending.pk]
    assert [o.pk for o in response.context["decided"]] == [decided.pk]
    page = response.content.decode()
    assert page.index("后到者") < page.index("先到者")


def test_uphold_through_the_page(client, cls, secretary, english):
    project = in_notice(cls)
    pending = objection_of(project)
    client.force_login(secretary)
    url = reverse("objection-decide", args=[pending.pk])
    response = client.post(url, {"decision": "uphold", "reason": ""})
    assert "Please give a reason" in response.content.decode()
    response = client.post(url, {"decision": "uphold", "reason": "经核实成立。"})
    assert response.status_code == 302
    project.refresh_from_db()
    pending.refresh_from_db()
    assert project.state == "not_approved" and pending.state == ObjectionState.UPHELD
    again = client.post(url, {"decision": "dismiss", "reason": "改判"}, follow=True)
    assert "already decided" in again.content.decode()
    pending.refresh_from_db()
    assert pending.state == ObjectionState.UPHELD


def test_dismiss_through_the_page(client, cls, secretary):
    project = in_notice(cls)
    pending = objection_of(project)
    client.force_login(secretary)
    client.post(reverse("objection-decide", args=[pending.pk]), {"decision": "dismiss", "reason": "不属实。"})
    project.refresh_from_db()
    pending.refresh_from_db()
    assert project.state == "publicity" and pending.state == ObjectionState.DISMISSED


def test_confirm_page_shows_what_was_confirmed_and_refused(client, cls, secretary, english,
                                                           django_capture_on_commit_callbacks):
    ready = in_notice(cls, days_ago=8, title="可以立项的课题")
    objected = in_notice(cls, days_ago=8, title="有异议的课题")
    running = in_notice(cls, days_ago=1, title="公示中的课题")
    Objection.objects.create(project=objected, name="张三", contact="13800138000", text="异议",
                             submitted_at=timezone.now() - dt.timedelta(days=3))
    client.force_login(secretary)
    url = reverse("publicity-confirm", args=[cls.call.pk])
    outlook = client.get(url).content.decode()
    assert "Ready to be confirmed" in outlook and "An objection is waiting for a decision." in outlook
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url)
    page = response.content.decode()
    ready.refresh_from_db()
    assert ready.state == "active" and ready.number == f"CAEA{cls.call.year}B001"
    assert ready.number in page and reverse("approval-letter", args=[ready.pk]) in page
    assert {p.pk for p, _reason in response.context["refused"]} == {objected.pk, running.pk}
    assert "The public notice runs until" in page and "An objection is waiting for a decision." in page


# ---- access ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["objection-queue"])
def test_role_pages_are_403_for_others_and_ask_strangers_to_log_in(client, applicant, unit_admin, name):
    url = reverse(name)
    assert client.get(url).status_code == 302
    for user in (applicant, unit_admin):
        client.force_login(user)
        assert client.get(url).status_code == 403


def test_decide_and_confirm_are_403_for_others(client, cls, applicant):
    pending = objection_of(in_notice(cls))
    client.force_login(applicant)
    assert client.get(reverse("objection-decide", args=[pending.pk])).status_code == 403
    assert client.post(reverse("objection-decide", args=[pending.pk]), {"decision": "uphold", "reason": "x"}).status_code == 403
    assert client.post(reverse("publicity-confirm", args=[cls.call.pk])).status_code == 403
    pending.refresh_from_db()
    assert pending.state == ObjectionState.PENDING


def test_the_objection_file_is_for_the_secretariat_only(client, cls, secretary, applicant):
    project = in_notice(cls, pi=applicant)
    with_file = objection_of(project, upload=SimpleUploadedFile("材料.pdf", pdf_bytes()))
    without = objection_of(project, client="other")
    url = reverse("objection-file", args=[with_file.pk])
    assert client.get(url).status_code == 302  # log in first
    client.force_login(applicant)  # even the PI of the project
    assert client.get(url).status_code == 404
    client.force_login(secretary)
    response = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == pdf_bytes()
    assert "filename*=utf-8''%E6%9D%90%E6%96%99.pdf" in response["Content-Disposition"]
    assert client.get(reverse("objection-file", args=[without.pk])).status_code == 404


@pytest.fixture
def confirmed(cls, applicant, secretary):
    from projects.publicity import confirm_projects

    project = in_notice(cls, days_ago=8, pi=applicant)
    confirm_projects(cls.call, by=secretary)
    project.refresh_from_db()
    assert project.number
    return project


@pytest.mark.parametrize(("who", "status"), [("pi", 200), ("unit_admin", 200), ("secretary", 200),
                                             ("member", 404), ("stranger", 404)])
def test_the_approval_letter_is_for_the_pi_the_unit_and_the_secretariat(client, confirmed, unit_admin, secretary,
                                                                       other_unit, who, status):
    member = UserFactory(institution=confirmed.institution)
    MemberFactory(project=confirmed, user=member)
    people = {"pi": confirmed.pi, "unit_admin": unit_admin, "secretary": secretary, "member": member,
              "stranger": UserFactory(institution=other_unit)}
    client.force_login(people[who])
    response = client.get(reverse("approval-letter", args=[confirmed.pk]))
    assert response.status_code == status
    if status == 200:
        assert response["Content-Type"].startswith("application/vnd.openxmlformats")
        assert confirmed.number in response["Content-Disposition"]


def test_no_letter_before_confirmation(client, cls, applicant):
    project = in_notice(cls, pi=applicant)
    client.force_login(applicant)
    assert client.get(reverse("approval-letter", args=[project.pk])).status_code == 404


# ---- query counts (3 rows and 30) ------------------------------------------------------------------


def _queries(client, url):
    client.get(url)  # warm up (sessions, content types)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_board_query_count_does_not_grow(client, cls):
    url = reverse("call-publicity", args=[cls.call.pk])
    for _ in range(3):
        in_notice(cls)
    three = _queries(client, url)
    for _ in range(27):
        in_notice(cls)
    assert _queries(client, url) == three


def test_queue_query_count_does_not_grow(client, cls, secretary):
    client.force_login(secretary)
    projects = [in_notice(cls) for _ in range(3)]

    def add(n):
        for i in range(n):
            made = objection_of(projects[i % 3], client=f"c{Objection.objects.count()}")
            if i % 2:
                Objection.objects.filter(pk=made.pk).update(state=ObjectionState.DISMISSED, decided_by=secretary,
                                                            decided_at=timezone.now())

    add(3)
    three = _queries(client, reverse("objection-queue"))
    add(27)
    assert _queries(client, reverse("objection-queue")) == three


def test_confirm_outlook_query_count_does_not_grow(client, cls, secretary):
    client.force_login(secretary)
    url = reverse("publicity-confirm", args=[cls.call.pk])
    for _ in range(3):
        objection_of(in_notice(cls), client=f"c{Objection.objects.count()}")
    three = _queries(client, url)
    for _ in range(27):
        in_notice(cls)
    assert _queries(client, url) == three


# ---- the include templates for the project page, the call page and the dashboard ---------------------


def _render(name, user, **context):
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = user
    return render_to_string(f"projects/publicity/{name}", {"user": user, **context}, request=request)


def test_the_include_templates(confirmed, cls, secretary, other_unit, english):
    letter = reverse("approval-letter", args=[confirmed.pk])
    assert letter in _render("_project_section.html", confirmed.pi, project=confirmed)
    assert letter in _render("_project_section.html", secretary, project=confirmed)
    waiting = in_notice(cls)
    section = _render("_project_section.html", waiting.pi, project=waiting)
    assert reverse("call-publicity", args=[cls.call.pk]) in section and letter not in section
    assert reverse("objection-queue") in _render("_project_section.html", secretary, project=waiting)
    assert reverse("call-publicity", args=[cls.call.pk]) in _render("_call_link.html", secretary, call=cls.call)
    assert reverse("objection-queue") in _render("_dashboard_section.html", secretary)
    assert reverse("objection-queue") not in _render("_dashboard_section.html", UserFactory(institution=other_unit))
