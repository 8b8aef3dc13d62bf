"""Demo data of the review app: the pool, the 2023 rounds, reviews in every state.

Connected to ``projects.signals.demo_loaded``: it runs after the demo's calls and
projects exist and, like the rest of the demo, drives every step through the
same services the pages use (conflict check, the assigner, opening the round,
declarations, drafts, submissions, a decline and its replacement), with a
simulated clock. Idempotent: experts' profiles are found by user, rounds by
class and stage; an existing round is left alone.
"""

from datetime import timedelta
from hashlib import sha256

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from projects.demo import CALLS, at
from projects.models import Call, Project
from projects.services import TransitionRefused
from projects.workflow import ProjectState

from . import rounds, services
from .conflicts import decide_conflict
from .models import AssignmentStatus, AvoidRequest, Conflict, ConflictStatus, ExpertProfile, ReviewRound, Stage

# username -> (disciplines, research keywords, publications and projects)
PROFILES = {
    "expert1": (["成人教育学", "终身教育"], ["学分银行", "学习成果认证", "资历框架"],
                "主持国家社科基金教育学项目“国家学分银行制度建设研究”；出版专著《学习成果认证的理论与实践》。"),
    "expert2": (["老年教育", "成人教育学"], ["老年教育", "积极老龄化", "课程体系"],
                "主持全国教育科学规划课题“积极老龄化视域下的老年教育供给研究”；发表老年教育课程建设论文多篇。"),
    "expert3": (["社区教育", "教育管理"], ["社区教育", "基层治理", "学习共同体"],
                "长期从事社区教育与社会治理研究，主持省部级课题“社区教育参与基层治理的机制与路径”。"),
    "expert4": (["职业教育", "成人教育学"], ["乡村振兴", "农民培训", "县域职业教育"],
                "主持教育部人文社科项目“乡村振兴战略下新型职业农民培育研究”；出版《县域职业教育发展报告》。"),
    "expert5": (["职业教育", "继续教育"], ["职工培训", "技能型社会", "产教融合"],
                "研究方向为企业职工培训与技能人才培养，主持“技能型社会建设中的继续教育体系研究”。"),
    "expert6": (["远程教育", "终身教育"], ["开放大学", "非学历教育", "办学体系"],
                "主持开放大学体系建设研究课题多项，发表开放教育治理与质量保障论文二十余篇。"),
    "expert7": (["教育技术学", "远程教育"], ["在线学习", "人工智能", "学习分析"],
                "主持国家自然科学基金项目“成人在线学习投入的测量与干预”；研究人工智能支持的个性化学习。"),
    "expert8": (["终身教育", "比较教育"], ["终身学习", "教育体系", "学习型社会"],
                "主持国家社科基金重点项目“服务全民终身学习的教育体系构建”；出版《学习型社会建设的国际比较》。"),
    "expert9": (["成人教育学", "高等教育学"], ["成人高等教育", "学历继续教育", "教育改革"],
                "研究成人高等教育改革与学历继续教育质量，主持教育部委托课题多项。"),
    "expert10": (["成人教育学", "教师教育"], ["成人教育教师", "专业能力", "教师发展"],
                 "主持全国教育科学规划课题“成人教育教师专业标准研究”；出版《成人教育教师专业发展》。"),
    "expert11": (["终身教育", "社区教育"], ["学习型城市", "监测指标", "学习型组织"],
                 "参与联合国教科文组织学习型城市网络研究，主持“学习型城市建设评价指标体系研究”。"),
    "expert12": (["教育学原理", "社区教育"], ["家庭教育", "家校社协同", "终身学习"],
                 "研究家庭教育指导服务与家校社协同育人，主持省级重大课题“家庭教育指导服务体系研究”。"),
}


def load_review_demo(sender=None, created=None, **kwargs):
    """Receiver of ``projects.signals.demo_loaded``: the pool, then the 2023 rounds."""
    ensure_profiles(created)
    ensure_rounds(created)
    ensure_decision_history(created)


def ensure_profiles(created):
    """An expert profile for every demo expert (kept as it is when it exists)."""
    profiles = []
    for user in User.objects.filter(username__in=PROFILES).select_related("institution").order_by("pk"):
        disciplines, keywords, text = PROFILES[user.username]
        profile, made = ExpertProfile.objects.get_or_create(
            user=user,
            defaults={
                "disciplines": disciplines, "keywords": keywords, "profile_text": text,
                "title": user.title, "institution": user.institution, "load_limit": 20,
            },
        )
        created["expert profiles"] += made
        profiles.append(profile)
    return profiles


# ---- the 2023 rounds ----------------------------------------------------------------------

DEMO_YEAR = 2023
OPENED = at(2023, 7, 3, 9, 0)
ASSIGNED = at(2023, 7, 1, 15, 0)
A_DEADLINE = at(2023, 8, 25, 17, 0)
A_CLOSED = at(2023, 8, 26, 10, 0)

# Comments by quality band (high, middle, low): to the applicant, then to the committee.
COMMENTS = {
    "high": ("选题紧扣指南，问题意识明确；论证逻辑严密，研究设计科学可行，前期基础扎实。建议进一步细化调研样本的选取依据。",
             "整体质量较高，建议立项。"),
    "middle": ("选题有一定价值，但研究内容较为宽泛，重点不够突出；研究方法的可操作性有待加强，建议聚焦核心问题。",
               "可作为备选，视名额情况确定。"),
    "low": ("选题意义阐述不足，与已有研究的区别不明显；研究思路与方法描述较为笼统，预期成果与研究内容衔接不够。",
            "论证不充分，不建议立项。"),
}
# Where each outcome's reviews land: proposals later approved were reviewed well.
BANDS = {
    ProjectState.NOT_APPROVED: "low",
    ProjectState.REVIEWED: "middle",
    ProjectState.IN_REVIEW: "middle",
}
DECLINE_REASON = "本人近期赴境外访学，无法按期完成评审，特此说明。"
AVOID_REASON = "该专家与课题负责人曾有学术观点分歧，申请回避。"


def _noise(*parts):
    """A stable pseudo-random number in [0, 1) from the parts (the demo must be the same every time)."""
    return int(sha256("|".join(map(str, parts)).encode()).hexdigest()[:8], 16) / 0x100000000


def _review_data(round_, assignment):
    """Scores, recommendation and comments of one demo review, in the proposal's quality band."""
    band = BANDS.get(assignment.project.state, "high")
    base = {"high": 8, "middle": 7, "low": 5}[band]
    scores = {
        criterion["key"]: min(10, max(3, base + round(3 * _noise(assignment.project.title, assignment.expert_id, criterion["key"]) - 1)))
        for criterion in round_.form["criteria"]
    }
    recommendation = "A" if band == "high" or (band == "middle" and _noise(assignment.pk, "rec") > 0.5) else "B"
    to_applicant, to_committee = COMMENTS[band]
    return {"scores": scores, "recommendation": recommendation,
            "comments_to_applicant": to_applicant, "comments_to_committee": to_committee}


def ensure_rounds(created):
    """The 2023 call's application rounds: A closed with every review in, B still open with work to do."""
    spec = next(spec for spec in CALLS if spec.year == DEMO_YEAR)
    call = Call.objects.filter(year=spec.year, title=spec.title).first()
    if call is None:
        return
    secretary = User.objects.get(username="secretary")
    now = timezone.now()
    for call_class in call.classes.order_by("code"):
        if ReviewRound.objects.filter(call_class=call_class, stage=Stage.APPLICATION).exists():
            continue
        reviewed = list(
            Project.objects.filter(call_class=call_class, log__transition="start_review").distinct().order_by("pk")
        )
        if not reviewed:
            continue
        still_open = any(p.state == ProjectState.IN_REVIEW for p in reviewed)
        deadline = now + timedelta(days=14) if still_open else A_DEADLINE
        round_ = rounds.create_round(call_class, stage=Stage.APPLICATION, by=secretary, deadline=deadline)
        round_.projects.set(reviewed)
        created["review rounds"] += 1
        _avoid_request(round_, reviewed, secretary)
        _settle_conflicts(round_, secretary)
        rounds.run_assignment(round_, by=secretary, now=ASSIGNED)
        if still_open:
            _give_expert1_work(round_, secretary)
        rounds.open_round(round_, by=secretary, now=OPENED)
        _review(round_, still_open, now, created)
        if not still_open:
            rounds.close_round(round_, by=secretary, now=A_CLOSED)


def _avoid_request(round_, projects, secretary):
    """The first proposal's PI asked, when applying, to exclude one expert; the secretariat agreed."""
    project = projects[0]
    expert = ExpertProfile.objects.exclude(institution_id=project.institution_id).order_by("pk").last()
    AvoidRequest.objects.get_or_create(
        project=project, name=expert.user.real_name,
        defaults={"unit": expert.unit_label, "reason": AVOID_REASON},
    )


def _settle_conflicts(round_, secretary):
    """Check the round's conflicts and decide the possible ones, as the secretariat does before inviting."""
    rounds.refresh_conflicts(projects=list(round_.projects.values_list("pk", flat=True)), now=ASSIGNED)
    for conflict in Conflict.objects.filter(project__in=round_.projects.all(), status=ConflictStatus.POTENTIAL):
        confirm = conflict.reason == "named"
        reason = "申请人所述情况属实，同意回避。" if confirm else "经核实，二者并非同一单位，不构成回避。"
        decide_conflict(conflict, by=secretary, confirm=confirm, reason=reason, now=ASSIGNED)


def _give_expert1_work(round_, secretary):
    """Make sure ``expert1``, the account a newcomer tries first, has a proposal still in review.

    The secretariat swaps expert1 in by hand for one of the assigned experts, on the
    first proposal where the rules allow it (a refused swap is rolled back whole).
    """
    expert1 = ExpertProfile.objects.get(user__username="expert1")
    pending = round_.projects.filter(state=ProjectState.IN_REVIEW).order_by("pk")
    current = round_.assignments.filter(status=AssignmentStatus.PROPOSED)
    if current.filter(expert=expert1, project__in=pending).exists():
        return
    for project in pending:
        for swap in current.filter(project=project).order_by("-affinity"):
            try:
                with transaction.atomic():
                    rounds.remove_assignment(swap, by=secretary, now=ASSIGNED)
                    rounds.add_by_hand(round_, project, expert1, by=secretary, now=ASSIGNED)
                return
            except TransitionRefused:
                continue


def _review(round_, still_open, now, created):
    """Declarations, acceptances and reviews: all in for finished proposals; a mix for those still in review."""
    assignments = list(
        round_.assignments.filter(status=AssignmentStatus.INVITED).select_related("project", "expert__user").order_by("pk")
    )
    declined = False
    for index, assignment in enumerate(assignments):
        expert = assignment.expert
        in_review = assignment.project.state == ProjectState.IN_REVIEW
        if not in_review:
            moment = OPENED + timedelta(days=3 + int(30 * _noise(assignment.pk, "day")), hours=index % 7)
            services.sign_declaration(expert, round_, now=moment - timedelta(minutes=30))
            services.submit_review(assignment, _review_data(round_, assignment), by=expert.user, now=moment)
            created["reviews"] += 1
            continue
        recent = now - timedelta(days=4, hours=index)
        if expert.user.username == "expert1":
            services.sign_declaration(expert, round_, now=recent)
            data = _review_data(round_, assignment)
            data["scores"].pop(round_.form["criteria"][-1]["key"])
            data["comments_to_committee"] = ""
            services.save_review(assignment, data, by=expert.user, now=recent)
        elif not declined:
            services.decline(assignment, by=expert.user, reason=DECLINE_REASON, now=recent)
            declined = True
        elif index % 2:
            services.sign_declaration(expert, round_, now=recent)
            services.submit_review(assignment, _review_data(round_, assignment), by=expert.user, now=recent)
            created["reviews"] += 1
        else:
            services.sign_declaration(expert, round_, now=recent)
            services.accept(assignment, by=expert.user, now=recent)


# ---- the 2023 decision and the life after it ------------------------------------------------
#
# The project machine played the 2023 history before these records existed (approve, drop,
# confirm, mid-term and completion steps are in the log). What follows adds the records those
# steps stand for, dated from the log: the meeting that decided, its votes and released
# decisions, the objections, the approval letters, kick-off, mid-term and completion reports
# with their outputs, the certificates. Documents come from the same builders the pages use.

MEETING_HELD = at(2023, 9, 10, 14, 0)
DECLINE_NOTE = "经会议评审，本课题未获立项，请参考专家意见修改完善。"
KICKOFF_EXPERTS = "张建国 教授（华东师范大学）\n李丽华 研究员（中国成人教育协会研究所）\n王志强 副教授（江苏开放大学）"
DEMO_OUTPUTS = [
    ("paper", "{focus}的现状、问题与对策", "中国成人教育", "(4)", "23-29"),
    ("report", "{title}总报告", "", "", ""),
]


def _log(project):
    """{transition: [moments]} of the project's own steps, in order."""
    steps = {}
    for name, moment in project.log.filter(content_type__model="project").order_by("at", "pk").values_list("transition", "at"):
        steps.setdefault(name, []).append(moment)
    return steps


def ensure_decision_history(created):
    """The 2023 call's meeting, notice and the records of every later stage, once."""
    from projects.models import Call

    spec = next(spec for spec in CALLS if spec.year == DEMO_YEAR)
    call = Call.objects.filter(year=spec.year, title=spec.title).first()
    if call is None or call.meetings.exists():
        return
    projects = list(call.projects.select_related("pi", "call_class", "institution").order_by("pk"))
    logs = {project.pk: _log(project) for project in projects}
    _meeting(call, projects, logs, created)
    _objections(projects, logs, created)
    for project in projects:
        log = logs[project.pk]
        if "confirm" in log:
            _after_confirmation(project, log, created)


def _meeting(call, projects, logs, created):
    from .models import DecisionOutcome, Meeting, MeetingState, StagedDecision, Vote, VoteChoice

    committee = list(User.objects.filter(username__startswith="committee").order_by("username"))
    decided = [(p, "approve" if "approve" in logs[p.pk] else "decline") for p in projects
               if "approve" in logs[p.pk] or "decline" in logs[p.pk]]
    released = min(logs[p.pk][outcome][0] for p, outcome in decided)
    meeting = Meeting.objects.create(call=call, held_on=MEETING_HELD, place="中国成人教育协会第一会议室",
                                     state=MeetingState.RELEASED, released_at=released,
                                     created_by=User.objects.get(username="secretary"))
    meeting.present.set(committee)
    for index, (project, outcome) in enumerate(decided):
        for seat, member in enumerate(committee):
            if outcome == "approve":
                choice = VoteChoice.ABSTAIN if seat == index % 5 and index % 3 == 0 else VoteChoice.APPROVE
            else:
                choice = VoteChoice.APPROVE if seat == 0 else (VoteChoice.ABSTAIN if seat == 4 else VoteChoice.REJECT)
            Vote.objects.create(meeting=meeting, project=project, member=member, choice=choice, cast_at=MEETING_HELD)
        StagedDecision.objects.create(
            meeting=meeting, project=project, outcome=DecisionOutcome(outcome),
            note="" if outcome == "approve" else DECLINE_NOTE,
            staged_by=meeting.created_by, staged_at=MEETING_HELD + timedelta(hours=3),
            released_at=logs[project.pk][outcome][0],
        )
    created["committee meetings"] += 1


def _objections(projects, logs, created):
    """An upheld objection behind every dropped project, and a dismissed one against a confirmed project."""
    from projects.models import Objection, ObjectionState

    secretary = User.objects.get(username="secretary")
    dismissed_done = False
    for project in projects:
        log = logs[project.pk]
        if "drop" in log:
            reason = project.log.filter(transition="drop").values_list("reason", flat=True).first()
            Objection.objects.create(
                project=project, name="赵志明", contact="13912345678",
                text="该课题负责人近三年有未结题项目，不符合申报条件，请核实。",
                submitted_at=log["approve"][0] + timedelta(days=2), state=ObjectionState.UPHELD,
                decided_by=secretary, decided_at=log["drop"][0], decision_reason=reason or "经核实，异议成立。",
            )
            created["objections"] += 1
        elif "confirm" in log and not dismissed_done:
            Objection.objects.create(
                project=project, name="孙晓燕", contact="sxy@example.org",
                text="认为本课题与往年立项课题选题重复。",
                submitted_at=log["approve"][0] + timedelta(days=3), state=ObjectionState.DISMISSED,
                decided_by=secretary, decided_at=log["approve"][0] + timedelta(days=5),
                decision_reason="经核实，两课题研究对象与内容不同，不构成重复，异议不成立。",
            )
            dismissed_done = True
            created["objections"] += 1


def _after_confirmation(project, log, created):
    """Letter, kick-off, mid-term and completion records of one confirmed project, as its log tells."""
    from projects.completion import issue_certificate
    from projects.completion_documents import build_completion_documents
    from projects.letters import build_approval_letter
    from projects.models import KickoffReport, MidtermReport

    build_approval_letter(project.pk)
    created["approval letters"] += 1
    confirmed = log["confirm"][0]
    held = timezone.localdate(confirmed) + timedelta(days=35)
    KickoffReport.objects.create(project=project, held_on=held, experts=KICKOFF_EXPERTS,
                                 report="开题论证专家一致认为，本课题研究目标明确，研究设计科学合理，同意开题。",
                                 submitted_at=confirmed + timedelta(days=38), submitted_by=project.pi)
    created["kick-off reports"] += 1
    decisions = dict(zip(("pass_midterm", "fail_midterm"), ("pass", "fail")))
    for moment in log.get("submit_midterm", []):
        decided = next(((name, m) for name in decisions for m in log.get(name, []) if m > moment), None)
        MidtermReport.objects.create(
            project=project, progress="已完成文献梳理和两地实地调研，形成调研报告初稿。",
            outputs_so_far="发表阶段性论文1篇。", problems="部分调研数据尚待补充。", plan="下一阶段完成模型构建与实践检验。",
            submitted_at=moment, decision=decisions[decided[0]] if decided else "",
            decided_at=decided[1] if decided else None,
            decided_by=User.objects.get(username="secretary") if decided else None,
            decision_reason="" if not decided or decided[0] == "pass_midterm" else "研究进度明显滞后，限期整改。",
        )
        created["mid-term reports"] += 1
    if log.get("submit_completion"):
        _completion_records(project, log, created)
        if project.state == "completed":
            issue_certificate(project, now=project.closed_at)
            build_completion_documents(project.pk)
            created["certificates"] += 1


def _completion_records(project, log, created):
    from projects.models import CompletionReport, CompletionState, Output

    focus = project.title.removesuffix("研究")
    for order, (kind, title, venue, issue, pages) in enumerate(DEMO_OUTPUTS):
        Output.objects.create(project=project, kind=kind, title=title.format(focus=focus, title=project.title),
                              authors=project.pi.real_name + "等", venue=venue, year=log["submit_completion"][0].year,
                              volume_issue=issue, pages=pages, order=order)
    appraisals = log.get("appraise", [])
    for attempt, moment in enumerate(log["submit_completion"], start=1):
        appraised = next((m for m in appraisals if m > moment), None)
        last = attempt == len(log["submit_completion"])
        grade = (project.grade if last and project.grade else "fail") if appraised else ""
        CompletionReport.objects.create(
            project=project, attempt=attempt,
            state=CompletionState.APPRAISED if appraised else CompletionState.ACCEPTED,
            work_report="课题组按计划完成了各项研究任务，形成系列研究成果。",
            summary_report=f"本成果围绕{focus}，系统分析了现状与问题，构建了实施框架，提出了推进策略与政策建议。",
            self_assessment="研究目标基本实现，成果具有一定的理论价值与实践意义。",
            submitted_at=moment, endorsed_at=moment + timedelta(days=3), checked_at=moment + timedelta(days=8),
            grade=grade, appraised_at=appraised,
        )
        created["completion reports"] += 1
    from archive.tasks import sync_record

    sync_record(project.pk, index=False)
