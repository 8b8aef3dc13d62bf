"""The application on the web: steps that save as you go, every rule's message, nothing lost."""

import datetime as dt
import io

import docx
import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from projects.models import Attachment, Project, ProjectDocument
from projects.services import perform
from tests.factories import (
    CallClassFactory,
    CallFactory,
    GuideTopicFactory,
    InstitutionFactory,
    MemberFactory,
    ProjectFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(english):
    """Messages are asserted in English: the code's language and the pages' (the default is Chinese)."""


@pytest.fixture
def call(db):
    call = CallFactory()
    CallClassFactory(call=call, code="A", funding=20000)
    CallClassFactory(call=call, code="B", funding=10000)
    GuideTopicFactory(call=call, number=1, title="老年教育高质量发展研究")
    return call


@pytest.fixture
def pi_client(client, applicant):
    client.force_login(applicant)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def step_url(project, step):
    return reverse("application-step", args=[project.pk, step])


def start(pi_client, call):
    response = pi_client.post(reverse("application-start", args=[call.pk]))
    assert response.status_code == 302
    return Project.objects.get(call=call, state="draft")


def management(prefix, total, initial=0):
    return {f"{prefix}-TOTAL_FORMS": str(total), f"{prefix}-INITIAL_FORMS": str(initial),
            f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"}


BASIC = {"call_class": None, "guide_topic": "", "is_free_topic": "on", "title": "社区老年人数字素养提升路径研究",
         "keywords": "老年教育；数字素养；社区学习", "research_type": "applied", "discipline": "成人教育学",
         "planned_end_date": "2026-12-31"}
ARGUMENT = {"basis": "人口老龄化加深。", "content": "老年人数字素养现状。", "approach": "问卷与访谈。",
            "innovation": "社区嵌入式学习。", "expected_outcomes": "研究报告。", "foundation": "课题组在***开展过调查。",
            "references": "[1] 终身学习研究.", "place_names": "杭州、西湖区"}


def fill_everything(pi_client, project, applicant):
    cls = project.call.classes.get(code="B")
    assert pi_client.post(step_url(project, "basic"), {**BASIC, "call_class": cls.pk, "continue": "1"}).status_code == 302
    pi = {"real_name": applicant.real_name, "phone": "13800000000", "email": applicant.email, "title": "教授",
          "title_level": "4"}
    assert pi_client.post(step_url(project, "pi"), pi).status_code == 302
    members = {**management("members", 2), "members-0-name": "司马静", "members-0-title": "副教授",
               "members-0-unit": "江苏开放大学", "members-0-task": "调研", "members-0-order": "1"}
    assert pi_client.post(step_url(project, "members"), members).status_code == 302
    assert pi_client.post(step_url(project, "argument"), ARGUMENT).status_code == 302
    outputs = {**management("outputs", 1), "outputs-0-kind": "report", "outputs-0-title": "研究报告",
               "outputs-0-planned_date": "2026-10-01"}
    assert pi_client.post(step_url(project, "outputs"), outputs).status_code == 302
    budget = {**management("budget", 2), "budget-0-category": "travel", "budget-0-amount": "6000",
              "budget-1-category": "publishing", "budget-1-amount": "4000"}
    assert pi_client.post(step_url(project, "budget"), budget).status_code == 302
    assert pi_client.post(step_url(project, "pledge"), {"accept": "on"}).status_code == 302


def docx_bytes(text, author="匿名"):
    document = docx.Document()
    document.add_paragraph(text)
    document.core_properties.author = author
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_applicant_fills_every_step_and_submits(pi_client, call, applicant, unit_admin,
                                                django_capture_on_commit_callbacks):
    project = start(pi_client, call)
    fill_everything(pi_client, project, applicant)
    check = pi_client.get(step_url(project, "check"))
    assert "Everything is in order" in check.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = pi_client.post(reverse("application-submit", args=[project.pk]))
    project.refresh_from_db()
    assert response.status_code == 302 and project.state == "submitted"
    assert project.receipt_number.startswith("SB")
    assert project.members.get().task == "调研" and project.budget_lines.count() == 2
    assert {d.kind for d in ProjectDocument.objects.filter(project=project)} == {"application", "anonymous"}
    assert sorted(m.to[0] for m in mail.outbox) == sorted([applicant.email, unit_admin.email])
    download = pi_client.get(reverse("project-document", args=[project.pk, "anonymous"]))
    assert download.status_code == 200 and download["Content-Type"].endswith("wordprocessingml.document")
    # Once submitted, the form is closed.
    assert pi_client.get(step_url(project, "basic")).status_code == 302


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("title", "终身学习" * 10 + "研", "The title has 41 characters; at most 40 are allowed."),
        ("title", "社区教育研究——以上海为例", "The title may not have a subtitle (no dash or colon)."),
        ("keywords", "一；二；三；四", "At most 3 keywords are allowed; you gave 4."),
    ],
)
def test_basic_step_rules_keep_the_draft(pi_client, call, field, value, message):
    project = start(pi_client, call)
    cls = call.classes.get(code="A")
    pi_client.post(step_url(project, "basic"), {**BASIC, "call_class": cls.pk})
    response = pi_client.post(step_url(project, "basic"), {**BASIC, "call_class": cls.pk, field: value})
    assert response.status_code == 200
    assert message in response.content.decode()
    project.refresh_from_db()
    assert project.title == BASIC["title"] and project.keywords == ["老年教育", "数字素养", "社区学习"]
    # What was typed is kept and shown again, even after leaving the page.
    again = pi_client.get(step_url(project, "basic")).content.decode()
    assert value in again and message in again and "has been restored" in again


def test_missing_member_task_is_named_next_to_the_field(pi_client, call):
    project = start(pi_client, call)
    MemberFactory(project=project, name="李明", task="访谈")
    data = {**management("members", 2, initial=1),
            "members-0-id": str(project.members.get().pk), "members-0-name": "李明", "members-0-title": "讲师",
            "members-0-unit": "北京老年大学", "members-0-task": "访谈", "members-0-order": "1",
            "members-1-name": "王芳", "members-1-title": "讲师", "members-1-unit": "北京老年大学", "members-1-task": ""}
    response = pi_client.post(step_url(project, "members"), data)
    assert "Required for every member." in response.content.decode()
    assert list(project.members.values_list("name", flat=True)) == ["李明"]


def test_argument_over_the_limit_is_refused(pi_client, call):
    project = start(pi_client, call)
    pi_client.post(step_url(project, "argument"), ARGUMENT)
    response = pi_client.post(step_url(project, "argument"), {**ARGUMENT, "basis": "研" * 7001})
    assert "at most 7000 are allowed" in response.content.decode()
    project.refresh_from_db()
    assert project.basis == ARGUMENT["basis"]


def test_oversize_upload_is_refused(pi_client, call, settings):
    settings.UPLOAD_MAX_BYTES = 10_000
    project = start(pi_client, call)
    big = SimpleUploadedFile("论证.docx", docx_bytes("研究" * 20000))
    response = pi_client.post(step_url(project, "attachments"), {"part": "anonymous", "file": big})
    assert "MB" in response.content.decode() and response.status_code == 200
    assert not Attachment.objects.exists()


def test_disguised_upload_is_refused(pi_client, call):
    project = start(pi_client, call)
    exe = SimpleUploadedFile("论证.docx", b"MZ\x90\x00" + b"\x00" * 500)
    response = pi_client.post(step_url(project, "attachments"), {"part": "anonymous", "file": exe})
    assert response.status_code == 200 and "error" in response.content.decode()
    assert not Attachment.objects.exists()


def test_anonymous_upload_is_cleaned_and_shows_what_was_removed(pi_client, call):
    project = start(pi_client, call)
    upload = SimpleUploadedFile("论证.docx", docx_bytes("研究设计见正文。", author="欧阳明远"))
    pi_client.post(step_url(project, "attachments"), {"part": "anonymous", "file": upload})
    attachment = Attachment.objects.get()
    with attachment.file.open("rb") as handle:
        assert "欧阳明远" not in docx.Document(handle).core_properties.author
    page = pi_client.get(step_url(project, "attachments")).content.decode()
    assert "欧阳明远" in page  # the applicant sees what was removed


def test_leak_in_an_uploaded_file_blocks_submission(pi_client, call, applicant):
    project = start(pi_client, call)
    fill_everything(pi_client, project, applicant)
    leaky = SimpleUploadedFile("论证.docx", docx_bytes("本课题组来自华东师范大学，前期成果丰富。"))
    pi_client.post(step_url(project, "attachments"), {"part": "anonymous", "file": leaky})
    check = pi_client.get(step_url(project, "check")).content.decode()
    assert "华东师范大学" in check and "论证.docx" in check
    pi_client.post(reverse("application-submit", args=[project.pk]))
    project.refresh_from_db()
    assert project.state == "draft"


def test_place_name_in_the_argument_blocks_submission(pi_client, call, applicant):
    project = start(pi_client, call)
    fill_everything(pi_client, project, applicant)
    pi_client.post(step_url(project, "argument"), {**ARGUMENT, "foundation": "课题组长期在西湖区开展社区教育实验。"})
    check = pi_client.get(step_url(project, "check")).content.decode()
    assert "西湖区" in check and "Write *** instead" in check


def test_deadline_passed_by_one_second(pi_client, call, applicant):
    project = start(pi_client, call)
    fill_everything(pi_client, project, applicant)
    call.__class__.objects.filter(pk=call.pk).update(deadline=timezone.now() - dt.timedelta(seconds=1))
    response = pi_client.post(reverse("application-submit", args=[project.pk]), follow=True)
    assert "has passed" in response.content.decode()
    project.refresh_from_db()
    assert project.state == "draft" and project.title == BASIC["title"] and project.receipt_number is None


def test_a_step_posted_after_the_session_expired_is_saved(client, pi_client, call, applicant):
    project = start(pi_client, call)
    page = pi_client.get(step_url(project, "argument")).content.decode()
    token = page.split('name="draft_token" value="')[1].split('"')[0]
    pi_client.logout()
    response = client.post(step_url(project, "argument"), {**ARGUMENT, "draft_token": token})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    project.refresh_from_db()
    assert project.basis == ARGUMENT["basis"]


def test_a_forged_draft_token_saves_nothing(client, call, applicant):
    project = ProjectFactory(call_class=call.classes.get(code="A"), pi=applicant, title="原题目")
    response = client.post(step_url(project, "basic"), {**BASIC, "call_class": "", "draft_token": "forged"})
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.title == "原题目"


@pytest.mark.parametrize("who", ["stranger", "member", "unit_admin"])
def test_only_the_pi_reaches_the_form(client, call, applicant, unit_admin, unit, who):
    project = ProjectFactory(call_class=call.classes.get(code="A"), pi=applicant, title="原题目")
    people = {"stranger": UserFactory(username="stranger", institution=InstitutionFactory(name="天津市职工大学")),
              "member": UserFactory(username="member", institution=unit), "unit_admin": unit_admin}
    MemberFactory(project=project, user=people["member"])
    client.force_login(people[who])
    assert client.get(step_url(project, "basic")).status_code == 404
    assert client.post(step_url(project, "basic"), {**BASIC, "call_class": "", "title": "被改"}).status_code == 404
    project.refresh_from_db()
    assert project.title == "原题目"


# ---- the unit ----------------------------------------------------------------------------------------


def submitted(call, pi):
    project = ProjectFactory(call_class=call.classes.get(code="B"), pi=pi)
    MemberFactory(project=project)
    perform(project, "submit", by=pi)
    return project


def test_unit_endorses_several_at_once(client, call, unit, unit_admin):
    projects = [submitted(call, UserFactory(institution=unit)) for _ in range(3)]
    client.force_login(unit_admin)
    response = client.post(reverse("unit-queue"), {"projects": [p.pk for p in projects[:2]], "opinion": "同意推荐"})
    assert response.status_code == 302
    states = sorted(Project.objects.filter(pk__in=[p.pk for p in projects]).values_list("state", flat=True))
    assert states == ["endorsed", "endorsed", "submitted"]
    assert projects[0].log.last().reason == "同意推荐"


def test_unit_cannot_endorse_another_units_application(client, call, unit_admin, other_unit):
    foreign = submitted(call, UserFactory(institution=other_unit))
    client.force_login(unit_admin)
    page = client.get(reverse("unit-queue")).content.decode()
    assert foreign.title not in page
    client.post(reverse("unit-queue"), {"projects": [foreign.pk], "opinion": "同意"})
    foreign.refresh_from_db()
    assert foreign.state == "submitted"


def test_unit_queue_query_count_is_flat(client, call, unit, unit_admin):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(unit_admin)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("unit-queue")).status_code == 200
        return len(ctx)

    submitted(call, UserFactory(institution=unit))
    one = count()
    for _ in range(3):
        submitted(call, UserFactory(institution=unit))
    assert count() == one


def test_queues_refuse_other_roles(client, applicant):
    client.force_login(applicant)
    assert client.get(reverse("unit-queue")).status_code == 403
    assert client.get(reverse("formal-check-queue")).status_code == 403
    assert client.get(reverse("formal-check-export")).status_code == 403


# ---- the secretariat -------------------------------------------------------------------------------------


@pytest.fixture
def endorsed(call, unit, unit_admin):
    project = submitted(call, UserFactory(institution=unit))
    perform(project, "endorse", by=unit_admin)
    return project


ALL_ITEMS = ["eligibility", "guide", "complete", "anonymous", "truthful"]


def test_formal_check_pass_needs_the_whole_checklist(client, secretary, endorsed):
    client.force_login(secretary)
    url = reverse("formal-check", args=[endorsed.pk])
    response = client.post(url, {"decision": "pass_formal_check", "checklist": ALL_ITEMS[:3]})
    assert "Tick every item of the checklist" in response.content.decode()
    client.post(url, {"decision": "pass_formal_check", "checklist": ALL_ITEMS})
    endorsed.refresh_from_db()
    assert endorsed.state == "eligible" and endorsed.formal_checklist["items"] == ALL_ITEMS


def test_formal_check_rejection_needs_a_reason_from_the_list(client, secretary, endorsed):
    client.force_login(secretary)
    url = reverse("formal-check", args=[endorsed.pk])
    response = client.post(url, {"decision": "reject_formal"})
    assert "Choose the reason for the rejection." in response.content.decode()
    client.post(url, {"decision": "reject_formal", "rejection_reason": "identity", "remarks": "活页第二部分出现单位名称"})
    endorsed.refresh_from_db()
    assert endorsed.state == "ineligible"
    assert endorsed.log.last().reason == "Identity in the anonymous part：活页第二部分出现单位名称"


def test_formal_check_return_for_revision(client, secretary, endorsed):
    client.force_login(secretary)
    client.post(reverse("formal-check", args=[endorsed.pk]), {"decision": "return_for_revision", "remarks": "补充预算说明"})
    endorsed.refresh_from_db()
    assert endorsed.state == "draft"


def test_formal_check_filters_and_export(client, secretary, endorsed, call, other_unit):
    from openpyxl import load_workbook

    other = submitted(call, UserFactory(institution=other_unit))
    client.force_login(secretary)
    page = client.get(reverse("formal-check-queue"), {"state": "submitted"}).content.decode()
    assert other.title in page and endorsed.title not in page
    export = client.get(reverse("formal-check-export"), {"state": "endorsed"})
    sheet = load_workbook(io.BytesIO(export.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][0] == endorsed.receipt_number and rows[1][1] == endorsed.title


def test_formal_check_queue_query_count_is_flat(client, secretary, call, unit, unit_admin):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(secretary)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("formal-check-queue")).status_code == 200
        return len(ctx)

    perform(submitted(call, UserFactory(institution=unit)), "endorse", by=unit_admin)
    one = count()
    for _ in range(3):
        perform(submitted(call, UserFactory(institution=unit)), "endorse", by=unit_admin)
    assert count() == one


def test_withdraw_from_the_project_page(pi_client, call, applicant):
    project = submitted(call, applicant)
    pi_client.post(reverse("project-step", args=[project.pk, "withdraw"]))
    project.refresh_from_db()
    assert project.state == "withdrawn"


def test_formal_check_runs_the_identity_scan_again(client, secretary, endorsed):
    """A leak that reached the formal check (e.g. a member added later) blocks passing."""
    Project.objects.filter(pk=endorsed.pk).update(foundation=f"负责人{endorsed.pi.real_name}长期从事该研究。")
    client.force_login(secretary)
    url = reverse("formal-check", args=[endorsed.pk])
    page = client.get(url).content.decode()
    assert endorsed.pi.real_name in page
    response = client.post(url, {"decision": "pass_formal_check", "checklist": ALL_ITEMS})
    assert "The anonymous part reveals the team" in response.content.decode()
    endorsed.refresh_from_db()
    assert endorsed.state == "endorsed"


def test_formal_check_steps_are_not_bare_buttons(client, secretary, endorsed):
    """The project page links to the formal check page; a direct post of its step is refused."""
    client.force_login(secretary)
    page = client.get(reverse("project-detail", args=[endorsed.pk])).content.decode()
    assert reverse("formal-check", args=[endorsed.pk]) in page
    assert reverse("project-step", args=[endorsed.pk, "pass_formal_check"]) not in page
    client.post(reverse("project-step", args=[endorsed.pk, "pass_formal_check"]))
    endorsed.refresh_from_db()
    assert endorsed.state == "endorsed"
