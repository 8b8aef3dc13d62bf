"""The road from registration to the formal check, in a real browser, as the people walk it.

Only what exists before the story is made in the database: an open call with
its classes and a guide topic, a unit with its research administrator, and a
secretary. Everything else happens in Chromium: the applicant registers,
confirms the e-mail address, fills every step of the application and submits;
the unit endorses; the secretariat passes the formal check.

The browser speaks English (Accept-Language), so the pages are located by
their English labels and button texts; the rows of the formsets have no
labels of their own and are reached by their field names.
"""

import datetime as dt
import re

import docx
import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from accounts import roles
from accounts.models import TitleLevel, User
from projects.models import Project, TransitionLog
from tests.factories import CallClassFactory, CallFactory, GuideTopicFactory, InstitutionFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

STAFF_PASSWORD = "keti-demo-2023"  # the factories' password

APPLICANT = {
    "username": "zhanglihua",
    "real_name": "张丽华",
    "email": "zhanglihua@example.org",
    "phone": "13912345678",
    "password": "Xuexi-2026!ketI",
}
TITLE = "社区老年人数字素养提升路径研究"
MEMBERS = [
    ("陈晓东", "副教授", "南京师范大学", "问卷调查与数据分析"),
    ("刘海燕", "讲师", "苏州市社区教育中心", "个案访谈与案例整理"),
]
# The anonymous argument names no one and nothing of the team: *** stands for them.
ARGUMENT = {
    "Rationale": "人口老龄化持续加深，老年人在数字化生活中面临明显的技能鸿沟，社区是老年人学习的主要场所。",
    "Research content": "调查社区老年人数字素养的现状与差异，分析影响因素，提出社区教育支持的提升路径。",
    "Approach and methods": "问卷调查与个案访谈相结合，辅以社区学习项目的行动研究。",
    "Innovation": "提出社区嵌入式、同伴互助的老年数字学习模式。",
    "Expected outcomes": "研究报告一份，期刊论文两篇，社区老年数字学习指导手册一册。",
    "Research foundation": "课题组在***开展过三年社区教育实验，积累了调查数据与案例。",
    "References": "[1] 终身学习与老年教育研究. 北京: 教育科学出版社, 2021.",
    "Place names of the team (checked, never shown to experts)": "南京、苏州",
}


@pytest.fixture
def story(db):
    """What exists before the applicant arrives."""
    call = CallFactory(
        year=timezone.localdate().year,
        title=f"中国成人教育协会{timezone.localdate().year}年度科研课题申报指南",
        opens_at=timezone.now() - dt.timedelta(days=10),
        deadline=timezone.now() + dt.timedelta(days=20),
    )
    CallClassFactory(call=call, code="A", funding=20000)
    class_b = CallClassFactory(call=call, code="B", funding=10000)
    GuideTopicFactory(call=call, number=1, title="老年教育高质量发展研究")
    unit = InstitutionFactory(name="江苏开放大学")
    unit_admin = UserFactory(username="unitadmin", real_name="周振宇", institution=unit, role=roles.UNIT_ADMIN)
    secretary = UserFactory(
        username="secretary", real_name="何雪梅", institution=InstitutionFactory(name="中国成人教育协会研究所"),
        role=roles.SECRETARIAT,
    )
    return {"call": call, "class_b": class_b, "unit": unit, "unit_admin": unit_admin, "secretary": secretary}


@pytest.fixture
def anonymous_docx(tmp_path):
    """A small real Word file for the anonymous part, as the applicant would write it."""
    document = docx.Document()
    document.add_heading("研究设计", level=1)
    document.add_paragraph("以***所在地区的社区学习中心为样本，采用分层抽样的问卷调查与个案访谈。")
    path = tmp_path / "论证活页.docx"
    document.save(path)
    return path


@pytest.fixture
def browser_problems(page):
    """Every failed response and script error of the page, for the final check."""
    problems = []

    def failed(response):
        # The site has no favicon yet; the browser's automatic request for it is not the story's concern.
        if response.status >= 400 and not response.url.endswith("/favicon.ico"):
            problems.append(f"{response.status} {response.url}")

    page.on("response", failed)
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    return problems


def save_and_continue(page, next_heading, saved=True):
    page.get_by_role("button", name="Save and continue").click()
    if saved:
        expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    expect(page.get_by_role("heading", level=2, name=next_heading, exact=True)).to_be_visible()


def log_out(page):
    page.get_by_role("navigation", name="Main").get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Research project calls")).to_be_visible()


def log_in(page, username, password):
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Log in").click()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("main").get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1, name=re.compile(r"^Welcome"))).to_be_visible()


def test_from_registration_to_the_formal_check(
    live_server, page, browser_problems, story, anonymous_docx, tmp_path
):
    call = story["call"]

    # 1. The applicant finds the call, registers and confirms the address ------------------------
    page.goto(live_server.url + "/")
    page.get_by_role("link", name=call.title).click()
    expect(page.get_by_role("heading", level=1, name=call.title)).to_be_visible()
    page.get_by_role("main").get_by_role("link", name="Register").click()

    page.get_by_label("Username").fill(APPLICANT["username"])
    page.get_by_label("Real name").fill(APPLICANT["real_name"])
    page.get_by_label("Email address").fill(APPLICANT["email"])
    page.get_by_label("Phone").fill(APPLICANT["phone"])
    page.get_by_label("Unit").select_option(label=story["unit"].name)
    page.get_by_label("Professional title").fill("教授")
    page.get_by_label("Title level").select_option(label="Senior")
    page.get_by_label(re.compile(r"^Password:?$")).fill(APPLICANT["password"])
    page.get_by_label("Password confirmation").fill(APPLICANT["password"])
    page.get_by_role("main").get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()

    assert [m.to for m in mail.outbox] == [[APPLICANT["email"]]]
    links = re.findall(r"https?://\S+", mail.outbox[0].body)
    assert len(links) == 1 and links[0].startswith(live_server.url + "/accounts/confirm/"), mail.outbox[0].body
    page.goto(links[0])
    expect(page.get_by_role("status").filter(has_text="Your e-mail address is confirmed")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_contain_text(APPLICANT["real_name"])
    applicant = User.objects.get(username=APPLICANT["username"])
    assert applicant.is_active and applicant.institution == story["unit"]
    assert applicant.title == "教授" and applicant.title_level == TitleLevel.SENIOR

    # 2. Back on the call page: apply, and fill every step ---------------------------------------
    page.get_by_role("link", name="Keti research projects").click()
    page.get_by_role("link", name=call.title).click()
    page.get_by_role("button", name="Apply / continue my application").click()
    expect(page.get_by_role("heading", level=2, name="Basic data")).to_be_visible()

    page.get_by_role("combobox", name="Class", exact=True).select_option(label=str(story["class_b"]))
    page.get_by_label("Free topic").check()
    page.get_by_role("textbox", name="Title", exact=True).fill(TITLE)
    page.get_by_label("Keywords").fill("老年教育；数字素养；社区学习")
    page.get_by_label("Research type").select_option(label="Applied research")
    page.get_by_label("Discipline").fill("成人教育学")
    page.get_by_label("Planned end date").fill("2027-12-31")
    save_and_continue(page, "Principal investigator")
    expect(page.get_by_role("heading", level=1, name=TITLE)).to_be_visible()

    expect(page.get_by_role("main")).to_contain_text(story["unit"].name)
    expect(page.get_by_label("Real name")).to_have_value(APPLICANT["real_name"])
    page.get_by_label("Phone").fill("025-86210000")
    expect(page.get_by_role("main")).to_contain_text(APPLICANT["email"])  # shown, changed only on the profile
    page.get_by_label("Professional title").fill("教授")
    page.get_by_label("Title level").select_option(label="Senior")
    save_and_continue(page, "Members")

    for row, (name, title, unit, task) in enumerate(MEMBERS):
        page.locator(f"[name=members-{row}-name]").fill(name)
        page.locator(f"[name=members-{row}-title]").fill(title)
        page.locator(f"[name=members-{row}-unit]").fill(unit)
        page.locator(f"[name=members-{row}-task]").fill(task)
        page.locator(f"[name=members-{row}-order]").fill(str(row + 1))
    save_and_continue(page, "Anonymous argument")

    for label, text in ARGUMENT.items():
        page.get_by_role("textbox", name=label, exact=True).fill(text)
    expected_count = sum(len(text) for label, text in ARGUMENT.items() if not label.startswith("Place names"))
    expect(page.locator("#argument-count")).to_have_text(str(expected_count))
    save_and_continue(page, "Expected outputs")

    outputs = [("report", "社区老年人数字素养提升路径研究报告", "2027-10-01"), ("paper", "期刊论文两篇", "2027-06-30")]
    for row, (kind, title, date) in enumerate(outputs):
        page.locator(f"[name=outputs-{row}-kind]").select_option(kind)
        page.locator(f"[name=outputs-{row}-title]").fill(title)
        page.locator(f"[name=outputs-{row}-planned_date]").fill(date)
    save_and_continue(page, "Budget")

    expect(page.get_by_role("main")).to_contain_text("Funding of the class: 10000.00 yuan")
    budget = [("travel", "6000", "两次实地调研"), ("publishing", "3500", "研究报告印刷")]
    for row, (category, amount, note) in enumerate(budget):
        page.locator(f"[name=budget-{row}-category]").select_option(category)
        page.locator(f"[name=budget-{row}-amount]").fill(amount)
        page.locator(f"[name=budget-{row}-note]").fill(note)
    save_and_continue(page, "Attachments")

    page.get_by_label("Part").select_option("anonymous")
    page.get_by_label(re.compile(r"^File\b")).set_input_files(anonymous_docx)
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    files = page.get_by_role("table")
    expect(files.get_by_role("link", name=anonymous_docx.name)).to_be_visible()
    expect(files).to_contain_text("Anonymous part")
    expect(page.get_by_role("button", name=f"Remove {anonymous_docx.name}")).to_be_visible()
    save_and_continue(page, "Pledge", saved=False)  # no new file: the step just moves on

    page.get_by_label("I accept the pledge above.").check()
    save_and_continue(page, "Check and submit")

    expect(page.get_by_text("Everything is in order.")).to_be_visible()
    expect(page.get_by_text("The application cannot be submitted yet")).to_have_count(0)
    page.screenshot(path=tmp_path / "check.png", full_page=True)
    page.get_by_role("button", name="Submit the application").click()

    expect(page.get_by_role("status").filter(has_text="Submitted. Your receipt number is SB")).to_be_visible()
    expect(page.get_by_role("heading", level=1, name=TITLE)).to_be_visible()
    header = page.get_by_role("main").locator("p").filter(has_text="Receipt number").first
    expect(header).to_contain_text(re.compile(r"Receipt number SB\d{9}\b"))
    expect(header).to_contain_text("Submitted")
    project = Project.objects.get(call=call, pi=applicant)
    assert project.receipt_number.startswith("SB") and project.state == "submitted"
    assert project.call_class == story["class_b"] and project.is_free_topic and project.guide_topic is None
    assert project.keywords == ["老年教育", "数字素养", "社区学习"]
    assert [(m.name, m.title, m.unit, m.task) for m in project.members.order_by("order")] == MEMBERS
    assert sum(line.amount for line in project.budget_lines.all()) == 9500
    assert project.planned_outputs.count() == 2 and project.attachments.get().part == "anonymous"

    # 3. The unit's research administrator endorses ----------------------------------------------
    log_out(page)
    log_in(page, "unitadmin", STAFF_PASSWORD)
    page.get_by_role("link", name="Open my unit's queue").click()
    expect(page.get_by_role("heading", level=1, name="My unit's applications")).to_be_visible()
    page.get_by_role("checkbox", name=TITLE).check()
    page.get_by_label("Opinion of the unit").fill("经审核，申报材料属实，同意推荐。")
    page.get_by_role("button", name="Endorse the selected applications").click()
    expect(page.get_by_role("status").filter(has_text=re.compile(r"\b1 applications? endorsed"))).to_be_visible()
    expect(page.get_by_text("Nothing is waiting.")).to_be_visible()
    endorsed_row = page.get_by_role("row").filter(has_text=TITLE)
    expect(endorsed_row).to_contain_text("Endorsed by the unit")
    expect(endorsed_row).to_contain_text(project.receipt_number)
    project.refresh_from_db()
    assert project.state == "endorsed"

    # 4. The secretariat passes the formal check ------------------------------------------------
    log_out(page)
    log_in(page, "secretary", STAFF_PASSWORD)
    page.get_by_role("link", name="Formal check queue").click()
    page.get_by_role("row").filter(has_text=TITLE).get_by_role("link", name="Check").click()
    expect(page.get_by_role("heading", level=1, name=f"Formal check: {TITLE}")).to_be_visible()
    expect(page.get_by_text("No name, unit or place of the team was found.")).to_be_visible()
    for item in (
        "The PI and the team meet the eligibility rules",
        "The topic fits the guide (or is an admissible free topic)",
        "Every part of the application is complete",
        "The anonymous part reveals no identity",
        "The data given are plausible and consistent",
    ):
        page.get_by_role("checkbox", name=item).check()
    page.get_by_role("radio", name="Pass", exact=True).check()
    page.get_by_label("Remarks to the applicant").fill("材料齐全，符合申报要求。")
    page.screenshot(path=tmp_path / "formal-check.png", full_page=True)
    page.get_by_role("button", name="Record the decision").click()
    recorded = page.get_by_role("status").filter(has_text=f"Decision recorded for {project.receipt_number}")
    expect(recorded).to_be_visible()
    expect(page.get_by_role("heading", level=1, name="Formal check")).to_be_visible()

    project.refresh_from_db()
    assert project.state == "eligible"
    assert sorted(project.formal_checklist["items"]) == sorted(
        ["eligibility", "guide", "complete", "anonymous", "truthful"]
    )
    log = TransitionLog.objects.filter(project=project).order_by("at", "pk")
    assert [(entry.transition, entry.from_state, entry.to_state, entry.actor) for entry in log] == [
        ("submit", "draft", "submitted", applicant),
        ("endorse", "submitted", "endorsed", story["unit_admin"]),
        ("pass_formal_check", "endorsed", "eligible", story["secretary"]),
    ]
    assert log.get(transition="endorse").reason == "经审核，申报材料属实，同意推荐。"
    assert browser_problems == []
