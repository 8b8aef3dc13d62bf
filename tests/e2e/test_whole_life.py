"""The whole life of one project, in a real browser, through every role: from the call to the certificate.

The factories build only the world the story starts in: the units, the people
with their roles (a secretary who may use the admin, a unit's research
administrator, an applicant, three committee members, three experts with their
profiles). Everything else is done in Chromium, each person logging in through
the login page as themselves:

secretariat creates the call in the admin and publishes it → the applicant
fills the application and submits it (receipt number) → the unit endorses →
the formal check passes → the call closes, the review round is created, the
assigner runs, the round opens → each expert signs the declaration, reads the
dossier and submits a review → the round closes and the ranking shows the
proposal → the committee votes, the secretariat stages and releases the
decision → the public notice, with an objection from the public that is
dismissed → confirmation with the project number and the approval letter →
kick-off → mid-term report and its decision → completion materials, the unit's
endorsement, the formal check, the appraisal round and the panel's grade → the
certificate with its number.

Nobody can hand a clock to a view, so where a rule waits for time (the call's
deadline, the notice period, a year of work) the dates are moved in the
database between two acts; each such step is marked "time passes".
"""

import datetime as dt
import re
from io import BytesIO

import docx
import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from accounts import roles
from accounts.models import TitleLevel
from projects.models import Call, DocumentKind, Project, TransitionLog
from reviews.models import Review, ReviewRound
from tests.factories import InstitutionFactory, UserFactory
from tests.reviews.factories import ExpertProfileFactory

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "keti-demo-2023"  # the factories' password
TITLE = "社区老年人数字素养提升路径研究"
ARGUMENT = {
    "Rationale": "人口老龄化持续加深，老年人在数字化生活中面临明显的技能鸿沟，社区是老年人学习的主要场所。",
    "Research content": "调查社区老年人数字素养的现状与差异，分析影响因素，提出社区教育支持的提升路径。",
    "Approach and methods": "问卷调查与个案访谈相结合，辅以社区学习项目的行动研究。",
    "Innovation": "提出社区嵌入式、同伴互助的老年数字学习模式。",
    "Expected outcomes": "研究报告一份，期刊论文两篇，社区老年数字学习指导手册一册。",
    "Research foundation": "课题组在***开展过三年社区教育实验，积累了调查数据与案例。",
}
# Each expert's scores and the weighted total they make: 选题 ×3, 论证 ×5, 研究基础 ×2 for the application,
# 学术价值与应用价值 ×4, 创新程度 ×3, 完成情况 ×3 for the completion.
APPLICATION_SCORES = {"expert1": ((8, 9, 8), "85.00"), "expert2": ((9, 8, 8), "83.00"), "expert3": ((7, 8, 9), "79.00")}
COMPLETION_SCORES = {"expert1": ((8, 8, 9), "83.00"), "expert2": ((9, 8, 8), "84.00"), "expert3": ((8, 7, 8), "77.00")}
PROJECT_PATH = [
    ("submit", "draft", "submitted"),
    ("endorse", "submitted", "endorsed"),
    ("pass_formal_check", "endorsed", "eligible"),
    ("start_review", "eligible", "in_review"),
    ("close_review", "in_review", "reviewed"),
    ("approve", "reviewed", "publicity"),
    ("confirm", "publicity", "active"),
    ("submit_midterm", "active", "midterm_review"),
    ("pass_midterm", "midterm_review", "active"),
    ("submit_completion", "active", "completion_review"),
    ("appraise", "completion_review", "completed"),
]


@pytest.fixture
def world(db):
    """The people and units the story starts with; no call, no project yet."""
    unit = InstitutionFactory(name="江苏开放大学")
    secretary = UserFactory(username="secretary", real_name="何雪梅", role=roles.SECRETARIAT,
                            institution=InstitutionFactory(name="中国成人教育协会研究所"))
    secretary.is_staff = True  # the secretariat works in the admin too (calls, classes, steps)
    secretary.save(update_fields=["is_staff"])
    users = {
        "secretary": secretary,
        "unitadmin": UserFactory(username="unitadmin", real_name="周振宇", institution=unit, role=roles.UNIT_ADMIN),
        "applicant": UserFactory(username="zhanglihua", real_name="张丽华", institution=unit,
                                 title="教授", title_level=TitleLevel.SENIOR),
    }
    for username, name, unit_name in (
        ("committee1", "王建国", "天津市职工大学"),
        ("committee2", "李春梅", "上海市学习型社会建设服务指导中心"),
        ("committee3", "赵明辉", "中国成人教育协会研究所"),
    ):
        users[username] = UserFactory(username=username, real_name=name, role=roles.COMMITTEE,
                                       institution=InstitutionFactory(name=unit_name))
    for username, name, unit_name, keywords in (
        ("expert1", "陈立新", "华东师范大学", ["老年教育", "数字素养", "社区学习"]),
        ("expert2", "刘秀英", "深圳职业技术大学", ["社区教育", "学习型城市", "老年教育"]),
        ("expert3", "杨志强", "北京老年大学", ["老年教育", "终身学习", "数字化"]),
    ):
        user = UserFactory(username=username, real_name=name, role=roles.EXPERT,
                           institution=InstitutionFactory(name=unit_name))
        ExpertProfileFactory(user=user, disciplines=["成人教育学", "老年教育"], keywords=keywords)
        users[username] = user
    return users


class People:
    """One browser (context) per person, as at their own desks: each logs in once, through the login
    page, and keeps the session; ``people["secretary"]`` is the secretary's page."""

    def __init__(self, browser, base):
        self.browser, self.base = browser, base
        self.pages = {}
        self.contexts = []
        self.problems = []  # every failed response and script error, for the final check

    def open(self):
        """A fresh browser speaking English (the app picks the language from Accept-Language)."""
        context = self.browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
        self.contexts.append(context)
        context.set_default_timeout(10_000)
        page = context.new_page()

        def failed(response):
            # The admin has no favicon; the browser's own request for it is not the story's concern.
            if response.status >= 400 and not response.url.endswith("/favicon.ico"):
                self.problems.append(f"{response.status} {response.url}")

        page.on("response", failed)
        page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        return page

    def __getitem__(self, username):
        if username not in self.pages:
            page = self.open()
            page.goto(self.base + "/")
            nav(page).get_by_role("link", name="Log in").click()
            page.get_by_label("Username").fill(username)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("main").get_by_role("button", name="Log in").click()
            expect(page.get_by_role("heading", level=1, name=re.compile(r"^Welcome"))).to_be_visible()
            self.pages[username] = page
        return self.pages[username]

    def close(self):
        for context in self.contexts:
            context.close()


@pytest.fixture
def people(browser, live_server):
    people = People(browser, live_server.url)
    yield people
    people.close()


# ---- helpers --------------------------------------------------------------------------------------


def nav(page):
    return page.get_by_role("navigation", name="Main")


def status(page, text):
    """The flash message (role=status) that contains ``text``."""
    return page.get_by_role("status").filter(has_text=text)


def dashboard(page):
    """To the person's dashboard, from the site or from the admin."""
    if "/admin/" in page.url:
        page.get_by_role("link", name="View site").click()
    nav(page).get_by_role("link", name="My dashboard").click()
    expect(page.get_by_role("heading", level=1, name=re.compile(r"^Welcome"))).to_be_visible()
    return page


def save_and_continue(page, next_heading):
    page.get_by_role("button", name="Save and continue").click()
    expect(page.get_by_role("heading", level=2, name=next_heading, exact=True)).to_be_visible()


def admin_step(page, label):
    """On an admin change page: take the step ``label`` through its confirmation page."""
    page.locator("#workflow-steps").get_by_role("link", name=label, exact=True).click()
    page.get_by_role("button", name=label, exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text(f"Done: {label}.")


def local_input(moment):
    """A moment as a datetime-local input wants it (Beijing time)."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def download(page, link):
    """Click ``link``; the downloaded file's name and bytes."""
    with page.expect_download() as info:
        link.click()
    with open(info.value.path(), "rb") as handle:
        return info.value.suggested_filename, handle.read()


def tasks_settled():
    """On the production stack (a broker, a real worker) wait for the tasks the pages published: the
    mails and documents they send and build. Eager tasks (the default) have run already."""
    from tests import broker_worker

    if broker_worker.OUTSTANDING is not None:
        broker_worker.OUTSTANDING.wait()


def docx_text(data):
    document = docx.Document(BytesIO(data))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def run_and_open_round(page):
    """On a round's page: run the assigner, then send the invitations."""
    page.get_by_role("button", name="Run the assigner").click()
    expect(status(page, "Run 1: total affinity")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text=TITLE).first).to_contain_text("3 / 3")
    page.get_by_role("button", name="Open the round (send the invitations)").click()
    expect(status(page, "The round is open; the invitations are on their way.")).to_be_visible()


def review(page, scores, total, recommendation, comment):
    """An expert signs the round's declaration, reads the blind dossier and submits the review."""
    dashboard(page).get_by_role("link", name="My review assignments").click()
    expect(page.get_by_role("heading", level=1, name="My reviews")).to_be_visible()
    page.get_by_role("link", name="Read and sign the declaration").click()
    page.get_by_label("I have read the declaration and agree to it.").check()
    page.get_by_role("button", name="Sign the declaration").click()
    expect(status(page, "The declaration is signed")).to_be_visible()
    page.get_by_role("region", name="Invitations to answer").get_by_role("link", name=TITLE).click()
    expect(page.get_by_role("heading", level=1, name=TITLE)).to_be_visible()
    expect(page.get_by_role("region", name="Anonymous dossier")).to_contain_text("社区嵌入式")
    expect(page.get_by_role("main")).not_to_contain_text("张丽华")  # blind: neither the PI's name nor the unit
    expect(page.get_by_role("main")).not_to_contain_text("江苏开放大学")
    inputs = page.locator("[data-review-form] input[type=number]")
    for index, score in enumerate(scores):
        inputs.nth(index).fill(str(score))
    page.get_by_role("radio", name=recommendation).check()
    page.get_by_label("Comments to the applicant").fill(comment)
    page.get_by_label("Confidential comments to the committee").fill("同意。")
    expect(page.locator("output[data-total]")).to_have_text(total)  # the live total, as the expert types
    page.get_by_role("button", name="Submit", exact=True).click()
    expect(status(page, "Your review is submitted. Thank you.")).to_be_visible()
    expect(page.get_by_text("The review can no longer be changed")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="Weighted total")).to_contain_text(total)  # the server's


# ---- the story ------------------------------------------------------------------------------------


def test_one_project_from_the_call_to_the_certificate(live_server, people, world):
    base = live_server.url
    year = timezone.localdate().year
    call_title = f"中国成人教育协会{year}年度科研课题申报指南"

    # 1. The secretariat writes the call in the admin, with its class, and publishes it --------------
    secretary = people["secretary"]
    nav(secretary).get_by_role("link", name="Administration").click()
    secretary.get_by_role("link", name="Calls", exact=True).click()
    secretary.get_by_role("link", name="Add call").click()
    secretary.get_by_label("Year").fill(str(year))
    secretary.get_by_label("Title").fill(call_title)
    secretary.get_by_label("Notice text").fill("各有关单位：现将本年度科研课题申报工作通知如下。")
    now = timezone.now()
    for field, moment in (("opens_at", now - dt.timedelta(days=1)), ("deadline", now + dt.timedelta(days=20))):
        moment = timezone.localtime(moment)
        secretary.locator(f"#id_{field}_0").fill(moment.strftime("%Y-%m-%d"))
        secretary.locator(f"#id_{field}_1").fill(moment.strftime("%H:%M:%S"))
    secretary.get_by_text("Add another Call class").click()
    for field, value in (("code", "B"), ("name", "专项课题"), ("quota", "2"), ("experts_per_proposal", "3"),
                         ("duration_months", "24"), ("funding", "10000")):
        secretary.locator(f"[name=classes-0-{field}]").fill(value)
    secretary.get_by_role("button", name="Save and continue editing").click()
    expect(secretary.locator(".messagelist")).to_contain_text("was added successfully")
    expect(secretary.locator("#workflow-steps")).to_contain_text("Current state: Draft")
    admin_step(secretary, "Publish")
    expect(secretary.locator("#workflow-steps")).to_contain_text("Current state: Published")
    call = Call.objects.get(title=call_title)
    assert call.state == "published" and list(call.classes.values_list("code", "quota")) == [("B", 2)]

    # 2. The applicant finds the call on the home page, fills every step and submits -----------------
    applicant = people["zhanglihua"]
    applicant.get_by_role("link", name="Keti research projects").click()
    applicant.get_by_role("link", name=call_title).click()
    applicant.get_by_role("button", name="Apply / continue my application").click()
    expect(applicant.get_by_role("heading", level=2, name="Basic data")).to_be_visible()
    applicant.get_by_role("combobox", name="Class", exact=True).select_option(label="B 专项课题")
    applicant.get_by_label("Free topic").check()
    applicant.get_by_role("textbox", name="Title", exact=True).fill(TITLE)
    applicant.get_by_label("Keywords").fill("老年教育；数字素养；社区学习")
    applicant.get_by_label("Research type").select_option(label="Applied research")
    applicant.get_by_label("Discipline").fill("成人教育学")
    applicant.get_by_label("Planned end date").fill(f"{year + 2}-06-30")
    save_and_continue(applicant, "Principal investigator")
    applicant.get_by_label("Phone").fill("025-86210000")
    save_and_continue(applicant, "Members")
    for field, value in (("name", "刘海燕"), ("title", "讲师"), ("unit", "苏州市社区教育中心"),
                         ("task", "个案访谈与案例整理"), ("order", "1")):
        applicant.locator(f"[name=members-0-{field}]").fill(value)
    save_and_continue(applicant, "Anonymous argument")
    for label, text in ARGUMENT.items():
        applicant.get_by_role("textbox", name=label, exact=True).fill(text)
    save_and_continue(applicant, "Expected outputs")
    applicant.locator("[name=outputs-0-kind]").select_option("report")
    applicant.locator("[name=outputs-0-title]").fill("社区老年人数字素养提升路径研究报告")
    applicant.locator("[name=outputs-0-planned_date]").fill(f"{year + 2}-03-31")
    save_and_continue(applicant, "Budget")
    applicant.locator("[name=budget-0-category]").select_option("travel")
    applicant.locator("[name=budget-0-amount]").fill("6000")
    applicant.locator("[name=budget-0-note]").fill("两次实地调研")
    save_and_continue(applicant, "Attachments")
    save_and_continue(applicant, "Pledge")
    applicant.get_by_label("I accept the pledge above.").check()
    save_and_continue(applicant, "Check and submit")
    expect(applicant.get_by_text("Everything is in order.")).to_be_visible()
    applicant.get_by_role("button", name="Submit the application").click()
    expect(status(applicant, "Submitted. Your receipt number is SB")).to_be_visible()
    project = Project.objects.get(call=call, pi=world["applicant"])
    receipt = project.receipt_number
    expect(applicant.get_by_role("main").locator("p").filter(has_text="Receipt number").first).to_contain_text(receipt)

    # 3. The unit endorses ---------------------------------------------------------------------------
    unit = people["unitadmin"]
    unit.get_by_role("link", name="Open my unit's queue").click()
    unit.get_by_role("checkbox", name=TITLE).check()
    unit.get_by_label("Opinion of the unit").fill("经审核，申报材料属实，同意推荐。")
    unit.get_by_role("button", name="Endorse the selected applications").click()
    expect(status(unit, re.compile(r"\b1 applications? endorsed"))).to_be_visible()

    # 4. The secretariat passes the formal check ------------------------------------------------------
    dashboard(secretary).get_by_role("link", name="Formal check queue").click()
    secretary.get_by_role("row").filter(has_text=TITLE).get_by_role("link", name="Check").click()
    expect(secretary.get_by_text("No name, unit or place of the team was found.")).to_be_visible()
    for item in (
        "The PI and the team meet the eligibility rules",
        "The topic fits the guide (or is an admissible free topic)",
        "Every part of the application is complete",
        "The anonymous part reveals no identity",
        "The data given are plausible and consistent",
    ):
        secretary.get_by_role("checkbox", name=item).check()
    secretary.get_by_role("radio", name="Pass", exact=True).check()
    secretary.get_by_role("button", name="Record the decision").click()
    expect(status(secretary, f"Decision recorded for {receipt}")).to_be_visible()

    # Time passes: the call's deadline goes by.
    Call.objects.filter(pk=call.pk).update(deadline=timezone.now() - dt.timedelta(hours=1))

    # 5. The secretariat closes the call (admin), creates the review round, runs the assigner, opens it -
    nav(secretary).get_by_role("link", name="Administration").click()
    secretary.get_by_role("link", name="Calls", exact=True).click()
    secretary.get_by_role("link", name=call_title).click()
    admin_step(secretary, "Close applications")
    admin_step(secretary, "Start the review")
    expect(secretary.locator("#workflow-steps")).to_contain_text("Current state: Reviewing")
    dashboard(secretary).get_by_role("link", name="Review rounds").first.click()
    secretary.get_by_role("link", name="New round").click()
    secretary.get_by_role("combobox", name="Class", exact=True).select_option(label="B 专项课题")
    secretary.get_by_label("Stage").select_option(label="Application review")
    secretary.get_by_label("Deadline for reviews").fill(local_input(timezone.now() + dt.timedelta(days=14)))
    secretary.get_by_role("button", name="Create the round").click()
    expect(status(secretary, "Round created with 1 proposals.")).to_be_visible()
    run_and_open_round(secretary)

    # 6. Each expert signs the declaration, reads the blind dossier and submits a review --------------
    for username, (scores, total) in APPLICATION_SCORES.items():
        review(people[username], scores, total, "A 建议入围", "选题有价值，论证较充分，建议立项。")

    # 7. The secretariat closes the round; the ranking shows the proposal on the shortlist -------------
    secretary.reload()
    expect(secretary.get_by_role("row").filter(has_text=TITLE).first).to_contain_text("review submitted")
    secretary.get_by_role("button", name="Close the round").click()
    expect(status(secretary, "The round is closed.")).to_be_visible()
    secretary.get_by_role("link", name="Ranking of the class").click()
    ranked = secretary.locator("table.ranking").get_by_role("row").filter(has_text=TITLE)
    expect(ranked).to_contain_text(receipt)
    expect(ranked).to_contain_text("82.33")  # (85 + 83 + 79) / 3
    expect(ranked).to_contain_text("Shortlisted")

    # 8. The committee meeting: the secretariat convenes it, the members present vote -----------------
    dashboard(secretary).get_by_role("link", name="All meetings").click()
    secretary.get_by_role("link", name="New meeting").click()
    secretary.get_by_label("Call").select_option(label=call_title)
    secretary.get_by_label("Date and time").fill(local_input(timezone.now()))
    secretary.get_by_label("Place").fill("协会会议室")
    for username in ("committee1", "committee2", "committee3"):
        member = world[username]
        secretary.get_by_label(f"{member.real_name} – {member.institution.name}").check()
    secretary.get_by_role("button", name="Create the meeting").click()
    expect(status(secretary, "Meeting created; the members present can now vote.")).to_be_visible()
    for username in ("committee1", "committee2", "committee3"):
        member = people[username]
        member.get_by_role("link", name=re.compile(call_title)).click()
        proposal = member.locator(f"section#p{project.pk}")
        proposal.get_by_role("radio", name="Approve").check()
        proposal.get_by_role("button", name="Vote").click()
        expect(status(member, f"Your vote on {TITLE} is recorded.")).to_be_visible()

    # 9. The secretariat stages the approval and releases the decisions --------------------------------
    secretary.reload()
    proposal = secretary.locator(f"section#p{project.pk}")
    expect(proposal).to_contain_text("Approve 3 · reject 0 · abstain 0")
    expect(proposal).to_contain_text("Recommended")
    proposal.get_by_label("Note to the applicant (optional)").fill("经学术委员会审议，同意立项。")
    proposal.get_by_role("button", name="Stage: approve").click()
    expect(status(secretary, "nobody is told before the release")).to_be_visible()
    secretary.get_by_role("button", name="Release the decisions").click()
    expect(status(secretary, "1 decisions released")).to_be_visible()

    # 10. The public notice: anyone reads it and may object; the secretariat dismisses the objection ---
    public = people.open()  # a visitor, not logged in
    public.goto(base + "/")
    public.get_by_role("link", name=call_title).click()
    public.get_by_role("link", name="Public notice of the proposed projects (立项公示)").click()
    notice = public.get_by_role("row").filter(has_text=TITLE)
    expect(notice).to_contain_text("张丽华")
    notice.get_by_role("link", name="Object").click()
    public.get_by_label("Your name").fill("王芳")
    public.get_by_label("Phone or e-mail").fill("wangfang@example.org")
    public.get_by_label("Objection").fill("认为该选题与已有课题重复。")
    public.get_by_role("button", name="Send the objection").click()
    expect(public.get_by_role("heading", level=1, name="Thank you: your objection was received")).to_be_visible()
    dashboard(secretary).get_by_role("link", name="Objections to projects in public notice").click()
    secretary.get_by_role("row").filter(has_text=TITLE).get_by_role("link", name="Decide").click()
    secretary.get_by_role("radio", name=re.compile("^Dismiss")).check()
    secretary.get_by_label("Reason").fill("经核实，选题与已有课题不重复。")
    secretary.get_by_role("button", name="Record the decision").click()
    expect(status(secretary, "The objection was dismissed.")).to_be_visible()

    # Time passes: the notice period (the call's notice_days) is over.
    project.refresh_from_db()
    Project.objects.filter(pk=project.pk).update(
        publicity_started_at=project.publicity_started_at - dt.timedelta(days=call.notice_days + 1))

    # 11. Confirmation: the project number and period; the PI downloads the approval letter -------------
    secretary.get_by_role("link", name="Keti research projects").click()
    secretary.get_by_role("link", name=call_title).click()
    secretary.get_by_role("link", name="Public notice of the proposed projects (立项公示)").click()
    expect(secretary.get_by_role("row").filter(has_text=TITLE)).to_contain_text("Notice over")
    secretary.get_by_role("link", name="Confirm the projects whose notice is over").click()
    expect(secretary.get_by_role("row").filter(has_text=TITLE)).to_contain_text("Ready to be confirmed")
    secretary.get_by_role("button", name="Confirm the ready projects").click()
    expect(status(secretary, "1 projects confirmed.")).to_be_visible()
    project.refresh_from_db()
    assert project.state == "active" and re.fullmatch(rf"CAEA{year}B\d{{3}}", project.number)
    expect(secretary.get_by_role("row").filter(has_text=TITLE)).to_contain_text(project.number)
    nav(secretary).get_by_role("link", name="Administration").click()
    secretary.get_by_role("link", name="Calls", exact=True).click()
    secretary.get_by_role("link", name=call_title).click()
    admin_step(secretary, "Record the decision")  # 立项决定: the call is decided
    tasks_settled()  # the approval letter is built after the confirmation

    dashboard(applicant).get_by_role("link", name=TITLE).click()
    expect(applicant.get_by_role("main")).to_contain_text(f"Project number {project.number}")
    name, data = download(applicant, applicant.get_by_role("link", name="Download the approval letter (立项通知书, Word)"))
    assert name == f"{project.number}-立项通知书.docx"
    letter = docx_text(data)
    assert project.number in letter and TITLE in letter and "张丽华" in letter

    # Time passes: the project has been under way for over a year (its start moves back by as much).
    started = timezone.localdate() - dt.timedelta(days=400)
    Project.objects.filter(pk=project.pk).update(start_date=started)

    # 12. The PI records the kick-off and submits the mid-term report ---------------------------------
    applicant.reload()
    applicant.locator("#supervision").get_by_role("link", name="Kick-off").click()
    applicant.get_by_label("Date of the kick-off meeting").fill((started + dt.timedelta(days=30)).isoformat())
    applicant.get_by_label("Experts present").fill("张教授（华东师范大学）\n李研究员（中国成人教育协会研究所）")
    applicant.get_by_label("Kick-off report").fill("开题论证会认为研究设计合理可行，建议加强个案跟踪。")
    applicant.get_by_role("button", name="Save the kick-off").click()
    expect(status(applicant, "The kick-off has been recorded.")).to_be_visible()
    applicant.get_by_role("link", name=TITLE).click()
    applicant.locator("#supervision").get_by_role("link", name="Mid-term check").click()
    applicant.get_by_label("Progress").fill("完成了三个社区的问卷调查与十二个个案访谈。")
    applicant.get_by_label("Outputs so far").fill("发表论文1篇。")
    applicant.get_by_label("Plan for the rest").fill("下一阶段完成数据分析并撰写研究报告。")
    applicant.get_by_role("button", name="Submit the mid-term report").click()
    expect(status(applicant, "The mid-term report has been submitted.")).to_be_visible()

    # 13. The secretariat decides the mid-term check: pass ----------------------------------------------
    dashboard(secretary).get_by_role("link", name="Mid-term reports waiting for a decision").click()
    secretary.get_by_role("row").filter(has_text=TITLE).get_by_role("link", name="Decide").click()
    secretary.get_by_role("radio", name="Pass", exact=True).check()
    secretary.get_by_label("Opinion or reason").fill("进展符合计划，中期检查合格。")
    secretary.get_by_role("button", name="Record the decision").click()
    expect(status(secretary, "The mid-term decision has been recorded.")).to_be_visible()
    expect(secretary.get_by_role("main").locator("p").first).to_contain_text("Result: Pass")
    name, data = download(secretary, secretary.get_by_role("link", name="Mid-term check form (Word)"))
    assert TITLE in docx_text(data)

    # 14. The PI applies for completion with the outputs and their citation data ------------------------
    applicant.get_by_role("link", name=TITLE).click()
    applicant.get_by_role("link", name="Apply for completion").click()
    applicant.get_by_label("Work report").fill("课题组按计划完成了调查、访谈与行动研究，经费按预算使用。")
    applicant.get_by_label("Summary report").fill("本成果揭示了社区老年人数字素养的现状与差异，提出了同伴互助的提升路径。")
    applicant.get_by_label("Self-assessment").fill("完成了预期目标。")
    applicant.locator("[name=outputs-0-kind]").select_option("paper")
    for field, value in (("title", "社区老年人数字素养的现状与提升路径"), ("authors", "课题组"),
                         ("venue", "中国成人教育"), ("year", str(year)), ("volume_issue", f"{year}(3)")):
        applicant.locator(f"[name=outputs-0-{field}]").fill(value)
    applicant.get_by_role("button", name="Submit the completion materials").click()
    expect(status(applicant, "The completion materials were submitted to your unit.")).to_be_visible()

    # 15. The unit endorses the completion -----------------------------------------------------------
    dashboard(unit).get_by_role("link", name=re.compile("completion waiting for your unit's endorsement")).click()
    unit.get_by_role("row").filter(has_text=TITLE).get_by_role("link", name=TITLE).click()
    unit.get_by_label("Opinion, or the reason for returning").fill("同意申请结题。")
    unit.get_by_role("button", name="Endorse the completion").click()
    expect(status(unit, "Done:")).to_be_visible()

    # 16. The secretariat passes the formal check of the materials and creates the appraisal round ------
    dashboard(secretary).get_by_role("link", name=re.compile(r"formal checks? of completion materials")).click()
    secretary.get_by_role("row").filter(has_text=TITLE).get_by_role("link", name=TITLE).click()
    expect(secretary.get_by_text("No name, unit or place of the team was found.")).to_be_visible()
    secretary.get_by_role("button", name="Pass the formal check").click()
    expect(status(secretary, "Done:")).to_be_visible()
    dashboard(secretary).get_by_role("link", name=re.compile(r"formal checks? of completion materials")).click()
    secretary.get_by_role("combobox", name="Class", exact=True).select_option(label="B 专项课题")
    secretary.get_by_label("Deadline for reviews").fill(local_input(timezone.now() + dt.timedelta(days=14)))
    secretary.get_by_role("button", name="Create the round").click()
    expect(status(secretary, "was created with 1 projects")).to_be_visible()
    run_and_open_round(secretary)

    # 17. The appraisal experts review the completion materials -----------------------------------------
    for username, (scores, total) in COMPLETION_SCORES.items():
        review(people[username], scores, total, "good 良好", "成果较好地完成了研究任务。")

    # 18. The secretariat records the panel's grade (completed, certificate number), closes the round ---
    dashboard(secretary).get_by_role("link", name=re.compile(r"formal checks? of completion materials")).click()
    secretary.get_by_role("row").filter(has_text=TITLE).get_by_role("link", name=TITLE).click()
    expect(secretary.get_by_text("The panel's result: Good")).to_be_visible()
    secretary.get_by_role("button", name="Record the panel's result").click()
    expect(status(secretary, "The appraisal is recorded: the project is “Completed”.")).to_be_visible()
    project.refresh_from_db()
    assert project.state == "completed" and project.grade == "good"
    assert re.fullmatch(rf"CAEA-JT{year}\d{{4}}", project.certificate_number)
    expect(secretary.get_by_role("main").locator("p").first).to_contain_text(
        f"Certificate number {project.certificate_number}")
    tasks_settled()  # the certificate is built and mailed after the appraisal
    dashboard(secretary).get_by_role("link", name="Review rounds").first.click()
    secretary.get_by_role("row").filter(has_text="Completion appraisal").get_by_role("link").first.click()
    secretary.get_by_role("button", name="Close the round").click()
    expect(status(secretary, "The round is closed.")).to_be_visible()

    # 19. The PI finds the certificate number on the project page and downloads the certificate --------
    dashboard(applicant).get_by_role("link", name=TITLE).click()
    completion = applicant.get_by_role("main").locator("section.card").filter(
        has=applicant.get_by_role("heading", name="Completion", exact=True))
    expect(completion).to_contain_text(f"Certificate number {project.certificate_number}")
    name, data = download(applicant, completion.get_by_role("link", name="结题证书 (Word)"))
    certificate = docx_text(data)
    assert project.certificate_number in certificate and project.number in certificate and TITLE in certificate

    # The log tells the whole life, step by step, each taken by its own person.
    log = TransitionLog.objects.filter(project=project, content_type__model="project").order_by("at", "pk")
    assert [(e.transition, e.from_state, e.to_state) for e in log] == PROJECT_PATH
    actors = {e.transition: e.actor.username for e in log}
    assert actors["submit"] == actors["submit_midterm"] == actors["submit_completion"] == "zhanglihua"
    assert actors["endorse"] == "unitadmin"
    assert {actors[name] for name in ("pass_formal_check", "start_review", "close_review", "approve", "confirm",
                                      "pass_midterm", "appraise")} == {"secretary"}
    assert project.documents.filter(kind=DocumentKind.CERTIFICATE).exists()
    assert ReviewRound.objects.filter(projects=project, state="closed").count() == 2
    assert Review.objects.filter(assignment__project=project, state="submitted").count() == 6
    tasks_settled()
    # Everyone was told by mail along the way: each expert invited to both rounds, the PI of the number
    # and of the certificate.
    experts = [world[name].email for name in APPLICATION_SCORES]
    invited = [m.to[0] for m in mail.outbox if m.to[0] in experts]
    assert sorted(invited) == sorted(experts * 2)
    to_pi = [m.body for m in mail.outbox if m.to == [world["applicant"].email]]
    assert any(project.number in body for body in to_pi)
    assert any(project.certificate_number in body for body in to_pi)
    assert people.problems == []
