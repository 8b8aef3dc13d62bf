"""National-scale data (issue 7): three calls, 20,000 projects, 3,000 experts, 100,000 reviews, in minutes.

``manage.py load_scale`` (a thin wrapper around :func:`load_scale`) builds what a
national association holds after three years: the oldest call decided two years
ago, its projects under way, completed, terminated or revoked; the middle call
decided last year, its projects in supervision; the newest call in expert review
*now* (a round open, reviews partly submitted, drafts, invitations unanswered).

The demo (``projects.demo``) drives a few hundred steps through ``services.perform``;
at this size that would take hours, so this module plans every record in memory and
writes it with ``bulk_create``. It keeps the promises of ``perform`` and of the signals
by other means:

- a project's history is planned step by step through the real machine: each step is
  looked up in django-fsm's transition table (``services.transitions_of``), so the log
  rows, the milestone fields (what the transition methods write) and the final state
  come from one path the machine allows. Steps that would fall after *now* are not
  taken: every history ends in the past;
- what ``perform`` and the signals would leave behind is written as well: guardian's
  object permissions (the table of ``access.OBJECT_RIGHTS``), the number counters
  (``NumberSequence``), the aliases of the reviews (专家1, 专家2 … in the order of
  submission, as ``aggregation.ensure_aliases`` gives them), the archive's Records
  (``archive.tasks._fill``) and the search index (``archive.search.rebuild``), and the
  conflict table (``reviews.conflicts.refresh_conflicts``, the real one);
- the review follows its rules: k experts per proposal from k different units, none of
  them of a unit of the team (回避), at most m proposals per expert and round; scores
  on the round's form; the committee approves the top of the real ranking
  (``aggregation.ranking_key`` on the real trimmed means and z-scores) up to the quota;
  a completion appraisal's grade is the one most of its panel gave.

Not built: uploaded files and the Word documents built from them (approval letters,
certificates), change requests, reminders, supervision warnings, mid-term rounds.

Everyone shares one password, hashed once. A second load is refused
(:class:`ScaleDataPresent`): the data are meant for a database of their own.
"""

import math
import random
import resource
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import numpy as np
from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts import roles
from accounts.models import Institution, InstitutionType, User

from projects import demo
from reviews import demo as review_demo
from projects.models import (
    BudgetLine,
    Call,
    CallClass,
    CompletionReport,
    GuideTopic,
    KickoffReport,
    Member,
    MidtermReport,
    NumberSequence,
    Objection,
    ObjectionState,
    Output,
    Project,
    ProjectGroupObjectPermission,
    ProjectUserObjectPermission,
    TransitionLog,
)
from projects.rules import rule
from projects.services import transitions_of
from projects.workflow import CompletionState
from projects.workflow import ProjectState as S

SECRETARY = "scale-secretary"
DEFAULT_PROJECTS = 20_000
DEFAULT_EXPERTS = 3_000
DEFAULT_REVIEWS_PER_PROJECT = 5
DEFAULT_SEED = 7
DEFAULT_PASSWORD = "keti-scale"

BATCH = 2_000  # rows per INSERT
CALL_SHARES = (0.30, 0.34, 0.36)  # of the projects, oldest call first
A_SHARE = 0.4  # of a call's projects in class A
APPROVAL_SHARE = 0.3  # of the valid proposals of a class: the quota
PROJECTS_PER_UNIT = 66  # 20,000 projects → 300 units
MAX_UNITS = 300
COMMITTEE_SIZE = 5
COMPLETION_EXPERTS = 3  # the appraisal panel of a completion (结题鉴定)
SHANGHAI = demo.SHANGHAI


class ScaleError(Exception):
    """The data set cannot be built with these parameters, or a planned step is not one of the machine."""


class ScaleDataPresent(ScaleError):
    """The scale data are already in this database."""


def scale_present():
    return User.objects.filter(username=SECRETARY).exists()


# ---- words ------------------------------------------------------------------------------------

CITIES = [
    ("北京", "北京"), ("上海", "上海"), ("天津", "天津"), ("重庆", "重庆"), ("南京", "江苏"), ("苏州", "江苏"),
    ("无锡", "江苏"), ("常州", "江苏"), ("徐州", "江苏"), ("杭州", "浙江"), ("宁波", "浙江"), ("温州", "浙江"),
    ("绍兴", "浙江"), ("嘉兴", "浙江"), ("合肥", "安徽"), ("芜湖", "安徽"), ("福州", "福建"), ("厦门", "福建"),
    ("泉州", "福建"), ("南昌", "江西"), ("赣州", "江西"), ("济南", "山东"), ("青岛", "山东"), ("烟台", "山东"),
    ("潍坊", "山东"), ("郑州", "河南"), ("洛阳", "河南"), ("武汉", "湖北"), ("宜昌", "湖北"), ("襄阳", "湖北"),
    ("长沙", "湖南"), ("株洲", "湖南"), ("岳阳", "湖南"), ("广州", "广东"), ("深圳", "广东"), ("佛山", "广东"),
    ("东莞", "广东"), ("珠海", "广东"), ("南宁", "广西"), ("柳州", "广西"), ("桂林", "广西"), ("海口", "海南"),
    ("成都", "四川"), ("绵阳", "四川"), ("贵阳", "贵州"), ("遵义", "贵州"), ("昆明", "云南"), ("大理", "云南"),
    ("西安", "陕西"), ("宝鸡", "陕西"), ("兰州", "甘肃"), ("天水", "甘肃"), ("西宁", "青海"), ("银川", "宁夏"),
    ("乌鲁木齐", "新疆"), ("拉萨", "西藏"), ("呼和浩特", "内蒙古"), ("包头", "内蒙古"), ("哈尔滨", "黑龙江"),
    ("长春", "吉林"), ("沈阳", "辽宁"), ("大连", "辽宁"), ("石家庄", "河北"), ("保定", "河北"), ("太原", "山西"),
]
UNIT_KINDS = [
    ("开放大学", InstitutionType.OPEN_UNIVERSITY),
    ("职业技术学院", InstitutionType.VOCATIONAL),
    ("社区学院", InstitutionType.COMMUNITY),
    ("老年大学", InstitutionType.SENIOR),
    ("教育科学研究院", InstitutionType.RESEARCH),
]
RESEARCH_UNITS = {InstitutionType.RESEARCH}

SURNAMES = demo.SURNAMES + "邹石熊孟秦阎薛侯雷白龙段郝孔邵史毛常万顾赖武康贺严尹钱施牛洪龚"
# Given names of applicants, members and staff, and (disjoint) of the experts: no expert
# is the namesake of anyone on a team, which the 回避 rules would flag as a possible conflict.
TEAM_GIVEN = demo.GIVEN_NAMES + [
    "志刚", "海涛", "丽娟", "建军", "晓明", "红英", "文华", "国华", "玉梅", "秀兰",
    "宏亮", "子轩", "梓涵", "欣怡", "雨桐", "思琪", "家豪", "俊熙", "嘉伟", "晓光",
]
EXPERT_GIVEN = [name for name in [
    "怀瑾", "明远", "致远", "守正", "知行", "敬之", "景行", "修远", "弘毅", "如松",
    "立言", "慎思", "博文", "崇德", "清源", "望舒", "启明", "观澜", "文渊", "书恒",
    "向荣", "泽民", "砚秋", "墨林", "思齐", "鸿儒", "锦程", "海川", "问渠", "亦舟",
] if name not in TEAM_GIVEN]

SENIOR_TEACHING = ["教授", "副教授"]
SENIOR_RESEARCH = ["研究员", "副研究员"]
MIDDLE_TEACHING = ["副教授", "讲师", "讲师"]
MIDDLE_RESEARCH = ["副研究员", "助理研究员", "助理研究员"]
TITLE_LEVELS = demo.TITLE_LEVELS

# Per guide topic (demo.TOPICS_2023, in order): the subjects its proposals are about.
SUBJECTS = [
    ["学分银行", "学习成果认证", "资历框架", "学分互认", "学分转换"],
    ["老年教育", "积极老龄化", "老年大学", "老年人数字素养", "养教结合"],
    ["社区教育", "基层治理", "学习共同体", "社区学院", "居民终身学习"],
    ["乡村振兴", "高素质农民", "农村成人教育", "县域职业教育", "返乡创业培训"],
    ["职业技能培训", "技能型社会", "产教融合", "职工培训", "新业态从业人员培训"],
    ["开放大学", "非学历教育", "开放教育", "办学体系", "学习支持服务"],
    ["数字化学习", "在线学习", "人工智能教育", "终身学习平台", "数字教育资源"],
    ["终身学习", "终身教育体系", "学历继续教育", "继续教育", "成人高等教育"],
    ["成人教育教师", "社区教育专兼职教师", "教师专业发展", "教学能力", "双师型教师"],
    ["学习型城市", "学习型组织", "学习型企业", "家庭教育指导", "学习型乡村"],
]
FRAMES = ["", "", "", "新时代", "数字化转型背景下", "乡村振兴视域下", "终身学习视角下", "高质量发展背景下",
          "共同富裕目标下", "积极老龄化视域下", "人工智能时代", "城乡融合发展中的"]
ASPECTS = ["治理机制", "质量评价体系", "课程体系建设", "资源共建共享机制", "师资队伍建设", "服务供给模式",
           "协同发展路径", "政策执行与优化", "供需匹配", "数字化转型", "评价指标体系", "运行机制",
           "实践路径", "实施成效", "影响因素与提升策略", "模式创新"]
SUFFIXES = ["研究", "研究", "研究", "实证研究", "比较研究", "行动研究"]
GOALS = ["提出具有可操作性的政策建议", "构建可推广的实践模式", "形成系统的评价工具", "为相关部门决策提供参考",
         "丰富终身教育理论并指导实践"]
JOURNALS = ["中国成人教育", "成人教育", "中国远程教育", "职业技术教育", "开放教育研究", "教育发展研究", "职教论坛"]
MEMBER_TITLES = demo.MEMBER_TITLES
MEMBER_TASKS = demo.MEMBER_TASKS

APPLICATION_COMMENTS = review_demo.COMMENTS  # band -> (to the applicant, to the committee)
COMPLETION_COMMENTS = {
    "excellent": "成果系统深入，观点新颖，实证资料翔实，具有较高的理论价值和推广价值。",
    "good": "成果完成了预定研究任务，结构合理，论证较充分，具有一定的应用价值。",
    "pass": "成果基本完成研究任务，但理论提炼不够，部分结论的论据有待加强。",
    "fail": "成果与预期目标差距较大，研究报告论证不充分，实证数据不足，建议修改完善后重新申请鉴定。",
}
GRADE_ORDER = ("fail", "pass", "good", "excellent")
GRADE_BASE = {"excellent": 9.2, "good": 8.0, "pass": 6.6, "fail": 4.6}
REJECT_REASONS = [
    demo.REASONS["reject_formal"],
    "申请书未附所在单位经费管理承诺，预算表填写不完整，材料不全，不予受理。",
    "活页“研究基础”部分多处出现课题负责人姓名及所在单位，违反匿名评审要求，不予受理。",
]
WITHDRAW_REASON = demo.REASONS["withdraw"]
DECLINE_REASONS = ["本人近期赴境外访学，无法按期完成评审，特此说明。", "近期承担学校评估工作，时间冲突，无法参加本轮评审。",
                   "该课题研究领域与本人专长差距较大，建议另请专家。"]
KICKOFF_EXPERTS = "李明远 教授（外单位）\n王守正 研究员（外单位）\n张致远 副教授（外单位）"


# ---- time -------------------------------------------------------------------------------------


def at(year, month, day, hour=10, minute=0):
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def office(moment):
    """The moment in office hours (9:00–16:59 Beijing time), moved to Monday from a weekend."""
    local = moment.astimezone(SHANGHAI)
    day = local.date()
    while day.weekday() >= 5:
        day += timedelta(days=1)
    hour = min(max(local.hour, 9), 16)
    return datetime(day.year, day.month, day.day, hour, local.minute, tzinfo=SHANGHAI)


def local_date(moment):
    return moment.astimezone(SHANGHAI).date()


def evening_or_day(moment, rng):
    """An applicant's moment: any day, between 8:00 and 23:00."""
    local = moment.astimezone(SHANGHAI)
    return datetime(local.year, local.month, local.day, rng.randint(8, 22), rng.randint(0, 59), tzinfo=SHANGHAI)


def first_working_day_after_month_of(moment):
    local = moment.astimezone(SHANGHAI)
    day = date(local.year, local.month, 1) + relativedelta(months=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return at(day.year, day.month, day.day, 9, 0)


# ---- the plan ---------------------------------------------------------------------------------


@dataclass(eq=False)
class Unit:
    name: str
    kind: str
    province: str
    pk: int = None
    group_id: int = None
    admin_id: int = None  # user pk of its research administrator


@dataclass(eq=False)
class Expert:
    index: int
    unit: int
    name: str
    title: str
    disciplines: list
    keywords: list
    leniency: float
    user_id: int = None
    pk: int = None  # ExpertProfile pk


@dataclass(eq=False)
class CallPlan:
    year: int
    newest: bool
    title: str
    milestones: dict
    share: float
    pk: int = None
    classes: dict = field(default_factory=dict)  # code -> CallClass
    topics: list = field(default_factory=list)  # GuideTopic pks, by number - 1
    projects: list = field(default_factory=list)
    steps: list = field(default_factory=list)  # (name, from, to, at)
    shortlists: dict = field(default_factory=dict)  # code -> the plans on the committee's agenda


@dataclass(eq=False)
class Plan:
    """One project as planned: who, what, and its path through the machine."""

    index: int  # 1-based; the PI is scale-pi{index}
    call: CallPlan
    code: str
    unit: int
    topic: int  # 0-based into demo.TOPICS_2023
    title: str
    keywords: list
    quality: float
    drafted: datetime
    members: list = field(default_factory=list)  # (name, title, unit index, task, PI index of an account or None)
    state: str = S.DRAFT.value
    steps: list = field(default_factory=list)  # (name, from, to, at, actor, reason)
    stopped: bool = False
    values: dict = field(default_factory=dict)  # milestone fields written by the transitions
    first_submit: datetime = None
    receipt: str = None
    number: str = None
    certificate: str = None
    kickoff: tuple = None  # (held_on, submitted_at)
    midterms: list = field(default_factory=list)  # dicts
    reports: list = field(default_factory=list)  # CompletionReport plans (dicts)
    objection: tuple = None  # (state, submitted_at, decided_at, reason)
    pi_id: int = None
    pk: int = None

    @property
    def team_units(self):
        return {self.unit} | {m[2] for m in self.members}

    @property
    def last_moment(self):
        return self.steps[-1][3] if self.steps else self.drafted


@dataclass(eq=False)
class RoundPlan:
    call: CallPlan
    code: str
    stage: str
    name: str
    k: int
    form: dict
    created: datetime
    opened: datetime
    deadline: datetime
    closed: datetime  # None while open
    projects: list = field(default_factory=list)
    grades: dict = field(default_factory=dict)  # completion: project index -> the panel's grade
    assignments: list = field(default_factory=list)
    by_project: dict = field(default_factory=lambda: defaultdict(list))  # project index -> its assignments
    signatures: dict = field(default_factory=dict)  # expert index -> signed at
    pk: int = None


@dataclass(eq=False)
class AssignmentPlan:
    round: RoundPlan
    project: Plan
    expert: int
    status: str
    invited_at: datetime
    source: str = "solver"
    replaces: "AssignmentPlan" = None
    responded_at: datetime = None
    decline_reason: str = ""
    review: str = None  # None, "draft" or "submitted"
    review_at: datetime = None
    scores: dict = None
    total: Decimal = None
    recommendation: str = ""
    comments: tuple = ("", "")
    alias: int = None
    affinity: float = 0.0
    parts: dict = None
    pk: int = None


@dataclass(eq=False)
class World:
    rng: random.Random
    now: datetime
    projects_total: int
    experts_total: int
    k: int
    password_hash: str
    report: object
    counts: Counter = field(default_factory=Counter)
    units: list = field(default_factory=list)
    experts: list = field(default_factory=list)
    pis: list = field(default_factory=list)  # (name, title, unit) by index - 1
    pis_by_unit: dict = field(default_factory=lambda: defaultdict(list))  # unit -> PI indexes (0-based)
    pi_ids: list = field(default_factory=list)
    secretary_id: int = None
    committee: list = field(default_factory=list)  # (user pk, institution pk)
    calls: list = field(default_factory=list)
    plans: list = field(default_factory=list)
    rounds: list = field(default_factory=list)
    completion_rounds: dict = field(default_factory=dict)  # (call year, code, opened) -> RoundPlan
    sequences: dict = field(default_factory=dict)  # NumberSequence key -> last number used
    taken_numbers: set = None  # project numbers the archive or the workflow already holds
    weights: dict = field(default_factory=dict)  # call class pk -> affinity weights
    content_types: dict = field(default_factory=dict)


# ---- entry point ------------------------------------------------------------------------------


def load_scale(*, projects=DEFAULT_PROJECTS, experts=DEFAULT_EXPERTS, reviews_per_project=DEFAULT_REVIEWS_PER_PROJECT,
               seed=DEFAULT_SEED, password=DEFAULT_PASSWORD, now=None, check_conflicts=True, report=None):
    """Build the data set in one transaction, then the search index; return the row counts created.

    ``report(line)`` receives a progress line after each phase. Raises ``ScaleDataPresent``
    when the data are there already, ``ScaleError`` for parameters that cannot work.
    """
    if projects < 30:
        raise ScaleError(_("Give at least 30 projects."))
    if not 3 <= reviews_per_project <= 10:
        raise ScaleError(_("Give between 3 and 10 reviews per project."))
    if experts < 4 * reviews_per_project:
        raise ScaleError(_("Give at least %(n)d experts for %(k)d reviews per project.")
                         % {"n": 4 * reviews_per_project, "k": reviews_per_project})
    if scale_present():
        raise ScaleDataPresent(_("Scale data are already present (the user “%(user)s” exists); "
                                 "load them into an empty database.") % {"user": SECRETARY})
    world = World(
        rng=random.Random(seed), now=now or timezone.now(), projects_total=projects, experts_total=experts,
        k=reviews_per_project, password_hash=make_password(password), report=report or (lambda line: None),
    )
    started = time.monotonic()
    with translation.override(settings.LANGUAGE_CODE), transaction.atomic():
        _phase(world, _("Units and people"), build_people)
        _phase(world, _("Calls"), build_calls)
        _phase(world, _("Planning (projects per state)"), plan_everything)
        _phase(world, _("Projects and their histories"), write_projects)
        _phase(world, _("Review rounds and reviews"), write_rounds)
        _phase(world, _("Committee decisions"), write_decisions)
        _phase(world, _("Supervision and completion"), write_supervision)
        _phase(world, _("Number series"), write_sequences)
        _phase(world, _("Archive records"), write_records)
        if check_conflicts:
            _phase(world, _("Conflict check (回避)"), check_conflict_table)
    _phase(world, _("Search index"), rebuild_index)
    world.report(_("Done in %(seconds).1f s.") % {"seconds": time.monotonic() - started})
    return world.counts


def _phase(world, label, function):
    started = time.monotonic()
    before = Counter(world.counts)
    function(world)
    made = ", ".join(f"{what} {n - before.get(what, 0):,}" for what, n in world.counts.items()
                     if n - before.get(what, 0))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    world.report(f"{label}: {made or '—'} ({time.monotonic() - started:.1f} s, {peak} MB)")


def _insert(world, model, rows, label=None):
    """bulk_create in batches; returns the rows (with their pks)."""
    rows = list(rows)
    for start in range(0, len(rows), BATCH):
        model.objects.bulk_create(rows[start:start + BATCH])
    world.counts[label or str(model._meta.verbose_name_plural)] += len(rows)
    return rows


@contextmanager
def own_dates(*models):
    """Let rows keep the dates we give them: ``auto_now``/``auto_now_add`` are switched off meanwhile."""
    fields = [f for model in models for f in model._meta.concrete_fields
              if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]
    saved = [(f, f.auto_now, f.auto_now_add) for f in fields]
    for f in fields:
        f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


# ---- people -----------------------------------------------------------------------------------


def person_name(rng, given=TEAM_GIVEN):
    return rng.choice(SURNAMES) + rng.choice(given)


def phone(rng):
    return f"1{rng.choice('3589')}{rng.randint(0, 9)}{rng.randint(0, 10**8 - 1):08d}"


def unit_count(world):
    return max(world.k + 8, min(MAX_UNITS, world.projects_total // PROJECTS_PER_UNIT))


def unit_names(count, taken):
    names = []
    i = 0
    while len(names) < count:
        if i >= len(CITIES) * len(UNIT_KINDS):
            raise ScaleError(_("Not enough unit names for %(n)d units.") % {"n": count})
        city, province = CITIES[i % len(CITIES)]
        suffix, kind = UNIT_KINDS[(i // len(CITIES) + i) % len(UNIT_KINDS)]
        name = f"{city}{suffix}"
        if name not in taken:
            names.append((name, kind, province))
        i += 1
    return names


def build_people(world):
    rng = world.rng
    roles.ensure_role_groups()
    taken = set(Institution.objects.values_list("name", flat=True))
    world.units = [Unit(name, kind, province) for name, kind, province in unit_names(unit_count(world), taken)]
    groups = _insert(world, Group, [Group(name=f"unit-admins:{u.name}") for u in world.units], _("groups"))
    institutions = _insert(world, Institution, [
        Institution(name=u.name, type=u.kind, province=u.province, admin_group_id=g.pk)
        for u, g in zip(world.units, groups)
    ], _("institutions"))
    for unit, group, institution in zip(world.units, groups, institutions):
        unit.pk, unit.group_id = institution.pk, group.pk

    def user(username, name, unit=None, title="", **extra):
        return User(username=username, password=world.password_hash, real_name=name, last_name=name[0],
                    first_name=name[1:], email=f"{username}@example.org", phone=phone(rng),
                    institution_id=world.units[unit].pk if unit is not None else None,
                    title=title, title_level=TITLE_LEVELS.get(title, 0), **extra)

    staff = [user(SECRETARY, person_name(rng), 0, "副研究员", is_staff=True)]
    staff += [user(f"scale-committee{n}", person_name(rng), n % len(world.units), "教授")
              for n in range(1, COMMITTEE_SIZE + 1)]
    admins = [user(f"scale-unitadmin{i + 1}", person_name(rng), i, "助理研究员") for i in range(len(world.units))]
    world.pis = _plan_pis(world)
    for i, (_name, _title, unit) in enumerate(world.pis):
        world.pis_by_unit[unit].append(i)
    pis = [user(f"scale-pi{i + 1}", name, unit, title) for i, (name, title, unit) in enumerate(world.pis)]
    world.experts = _plan_experts(world)
    experts = [user(f"scale-expert{e.index + 1}", e.name, e.unit, e.title) for e in world.experts]
    _insert(world, User, staff + admins + pis + experts, _("users"))
    world.secretary_id = staff[0].pk
    world.committee = [(u.pk, u.institution_id) for u in staff[1:]]
    for unit, admin in zip(world.units, admins):
        unit.admin_id = admin.pk
    world.pi_ids = [u.pk for u in pis]
    for expert, account in zip(world.experts, experts):
        expert.user_id = account.pk

    role = {name: Group.objects.get(name=name).pk for name in roles.ROLE_NAMES}
    Membership = User.groups.through
    memberships = [Membership(user_id=staff[0].pk, group_id=role[roles.SECRETARIAT])]
    memberships += [Membership(user_id=u.pk, group_id=role[roles.COMMITTEE]) for u in staff[1:]]
    for unit, admin in zip(world.units, admins):
        memberships += [Membership(user_id=admin.pk, group_id=role[roles.UNIT_ADMIN]),
                        Membership(user_id=admin.pk, group_id=unit.group_id)]
    memberships += [Membership(user_id=u.pk, group_id=role[roles.EXPERT]) for u in experts]
    _insert(world, Membership, memberships, _("role memberships"))

    from reviews.models import ExpertProfile

    profiles = _insert(world, ExpertProfile, [
        ExpertProfile(user_id=e.user_id, disciplines=e.disciplines, keywords=e.keywords,
                      profile_text=_profile_text(e, rng), title=e.title, institution_id=world.units[e.unit].pk,
                      load_limit=rule("EXPERT_LOAD_LIMIT"), active=True)
        for e in world.experts
    ], _("expert profiles"))
    for expert, profile in zip(world.experts, profiles):
        expert.pk = profile.pk


def _plan_pis(world):
    """(name, title, unit) of PI i (of project i): the titles a class asks for (A: 副高级 and up)."""
    rng, units = world.rng, world.units
    pis = []
    for _i in range(world.projects_total):
        unit = rng.randrange(len(units))
        research = units[unit].kind in RESEARCH_UNITS
        titles = (SENIOR_RESEARCH if research else SENIOR_TEACHING) + (MIDDLE_RESEARCH if research else MIDDLE_TEACHING)
        pis.append((person_name(rng), rng.choice(titles), unit))
    return pis


def _plan_experts(world):
    rng = world.rng
    disciplines = sorted({topic[2] for topic in demo.TOPICS_2023})
    experts = []
    for i in range(world.experts_total):
        unit = i % len(world.units)
        research = world.units[unit].kind in RESEARCH_UNITS
        own = [rng.choice(disciplines)]
        if rng.random() < 0.4:
            other = rng.choice(disciplines)
            if other not in own:
                own.append(other)
        topics = [n for n, topic in enumerate(demo.TOPICS_2023) if topic[2] in own]
        keywords = list(dict.fromkeys(rng.choice(SUBJECTS[rng.choice(topics)]) for _ in range(3)))
        title = rng.choice(SENIOR_RESEARCH if research else SENIOR_TEACHING)
        experts.append(Expert(i, unit, person_name(rng, EXPERT_GIVEN), title, own, keywords, rng.gauss(0, 0.5)))
    return experts


def _profile_text(expert, rng):
    first, *rest = expert.keywords
    lines = [f"主持省部级课题“{first}{rng.choice(ASPECTS)}研究”。",
             f"在《{rng.choice(JOURNALS)}》等期刊发表{'、'.join(expert.keywords)}相关论文{rng.randint(8, 40)}篇。"]
    if rest:
        lines.append(f"出版专著《{rest[0]}的理论与实践》。")
    return "\n".join(lines)


# ---- calls ------------------------------------------------------------------------------------


def call_milestones(year):
    """The calendar of a decided call (the association's usual year)."""
    return {
        "published": at(year, 2, 20), "opens": at(year, 3, 1, 9), "deadline": at(year, 5, 31, 17),
        "closed": at(year, 6, 1, 9), "formal_from": at(year, 6, 3, 9), "formal_to": at(year, 6, 28, 16),
        "round_created": at(year, 6, 29), "round_opened": at(year, 7, 3, 9), "start_reviewing": at(year, 7, 3, 8, 30),
        "round_deadline": at(year, 8, 25, 17), "round_closed": at(year, 8, 28, 10),
        "meeting_created": at(year, 9, 1), "meeting_held": at(year, 9, 10, 14), "released": at(year, 9, 12, 10),
        "confirmed": at(year, 9, 20, 10), "decided": at(year, 9, 28, 10),
    }


def newest_milestones(now):
    """The calendar of the call in review now: its round opened 20 days ago and runs three more weeks."""
    year = local_date(now).year
    opens = min(at(year, 3, 1, 9), now - timedelta(days=120))
    last = local_date(min(at(year, 5, 31, 17), now - timedelta(days=45)))
    deadline = at(last.year, last.month, last.day, 17)
    opened_day = local_date(now - timedelta(days=20))
    opened = at(opened_day.year, opened_day.month, opened_day.day, 9)
    due = local_date(now + timedelta(days=21))
    formal_to = min(deadline + timedelta(days=30), opened - timedelta(days=3))
    return {
        "published": opens - timedelta(days=9), "opens": opens, "deadline": deadline,
        "closed": deadline + timedelta(hours=16), "formal_from": deadline + timedelta(days=2), "formal_to": formal_to,
        "round_created": formal_to + timedelta(hours=20), "round_opened": opened,
        "start_reviewing": opened - timedelta(minutes=30), "round_deadline": at(due.year, due.month, due.day, 17),
        "round_closed": None,
    }


def build_calls(world):
    year = local_date(world.now).year
    world.calls = [
        CallPlan(year - 2, False, f"全国成人教育科研规划{year - 2}年度课题", call_milestones(year - 2), CALL_SHARES[0]),
        CallPlan(year - 1, False, f"全国成人教育科研规划{year - 1}年度课题", call_milestones(year - 1), CALL_SHARES[1]),
        CallPlan(year, True, f"全国成人教育科研规划{year}年度课题", newest_milestones(world.now), CALL_SHARES[2]),
    ]
    with own_dates(Call):
        rows = _insert(world, Call, [
            Call(year=c.year, title=c.title, description=demo.DESCRIPTION_2023.replace("2023", str(c.year)),
                 opens_at=c.milestones["opens"], deadline=c.milestones["deadline"],
                 state="reviewing" if c.newest else "decided",
                 created_at=c.milestones["published"] - timedelta(days=10))
            for c in world.calls
        ])
    for plan, row in zip(world.calls, rows):
        plan.pk = row.pk
    classes = _insert(world, CallClass, [
        CallClass(call_id=c.pk, code=code, name=name, quota=0, experts_per_proposal=world.k,
                  duration_months=months, funding=funding)
        for c in world.calls for code, name, _quota, _experts, months, funding in demo.CLASSES
    ])
    for row in classes:
        next(c for c in world.calls if c.pk == row.call_id).classes[row.code] = row
    topics = _insert(world, GuideTopic, [
        GuideTopic(call_id=c.pk, number=number, title=title)
        for c in world.calls for number, title, _discipline, _context in demo.TOPICS_2023
    ])
    for row in topics:
        next(c for c in world.calls if c.pk == row.call_id).topics.append(row.pk)
    for c in world.calls:
        m = c.milestones
        c.steps = [("publish", "draft", "published", m["published"]), ("close", "published", "closed", m["closed"]),
                   ("start_reviewing", "closed", "reviewing", m["start_reviewing"])]
        if not c.newest:
            c.steps.append(("decide", "reviewing", "decided", m["decided"]))
    world.content_types = {
        model: ContentType.objects.get_for_model(model).pk for model in (Call, Project, CompletionReport)
    }
    logs = [
        TransitionLog(content_type_id=world.content_types[Call], object_id=c.pk, transition=name, from_state=source,
                      to_state=target, actor_id=world.secretary_id, at=moment)
        for c in world.calls for name, source, target, moment in c.steps
    ]
    _insert(world, TransitionLog, logs, _("log rows"))


# ---- planning ---------------------------------------------------------------------------------


_TABLES = {}


def _table(model):
    if model not in _TABLES:
        _TABLES[model] = transitions_of(model)
    return _TABLES[model]


def next_state(model, name, source, target=None):
    """The state the machine of ``model`` reaches by ``name`` from ``source`` (``target`` when it may choose)."""
    transition = _table(model).get(name, {}).get(source)
    if transition is None:
        raise ScaleError(f"{model.__name__}: “{name}” is not a step from “{source}”.")
    allowed = getattr(transition.target, "allowed_states", None)
    if allowed is not None:
        if target not in [str(state) for state in allowed]:
            raise ScaleError(f"{model.__name__}: “{name}” from “{source}” cannot end in “{target}”.")
        return target
    return str(transition.target)


def step(world, plan, name, moment, *, actor="secretary", reason="", target=None, grade=None):
    """Take one step of the project's machine at ``moment``; False (and no later step) when it would be in the future."""
    if plan.stopped:
        return False
    if plan.steps and moment <= plan.steps[-1][3]:
        moment = plan.steps[-1][3] + timedelta(minutes=world.rng.randint(5, 90))
    if moment > world.now:
        plan.stopped = True
        return False
    source = plan.state
    plan.state = next_state(Project, name, source, target)
    plan.steps.append((name, source, plan.state, moment, actor, reason))
    _effects(world, plan, name, moment, grade)
    return True


def _effects(world, plan, name, moment, grade):
    """What the transition methods of ``ProjectWorkflow`` write, for the step just taken."""
    values = plan.values
    if name == "submit":
        values["submitted_at"] = moment
        plan.first_submit = plan.first_submit or moment
    elif name == "endorse":
        values["endorsed_at"] = moment
    elif name == "approve":
        values["publicity_started_at"] = moment
    elif name == "confirm":
        call_class = plan.call.classes[plan.code]
        values["approved_at"] = moment
        values["start_date"] = local_date(moment)
        values["end_date"] = _planned_end(plan) or local_date(moment) + relativedelta(months=call_class.duration_months)
    elif name == "pass_midterm":
        values["midterm_result"], values["rectification_deadline"] = "pass", None
    elif name == "fail_midterm":
        values["midterm_result"] = "fail"
        months = rule("RECTIFICATION_MONTHS", plan.call.classes[plan.code])
        values["rectification_deadline"] = local_date(moment) + relativedelta(months=months)
    elif name == "submit_completion":
        values["completion_submitted_at"] = moment
    elif name == "appraise":
        if grade != "fail":
            values["grade"], values["closed_at"] = grade, moment
        else:
            values["appraisal_failures"] = values.get("appraisal_failures", 0) + 1
            if plan.state == S.REVOKED:
                values["grade"], values["revoked_at"], values["closed_at"] = grade, moment, moment
    elif name == "terminate":
        values["closed_at"] = moment
    elif name == "revoke_project":
        values["revoked_at"] = values["closed_at"] = moment


def _planned_end(plan):
    months = plan.call.classes[plan.code].duration_months
    return date(plan.call.year + months // 12, 9, 30)


def plan_everything(world):
    index = 0
    for call_number, call in enumerate(world.calls):
        count = (world.projects_total - index if call_number == len(world.calls) - 1
                 else round(world.projects_total * call.share))
        for _n in range(count):
            index += 1
            call.projects.append(_new_plan(world, call, index))
        for plan in call.projects:
            plan_application(world, plan)
    world.plans = [plan for call in world.calls for plan in call.projects]
    _give_receipt_numbers(world)
    for call in world.calls:
        for code in call.classes:
            round_ = _application_round(world, call, code)
            if round_.projects:
                world.rounds.append(round_)
                simulate_round(world, round_)
                if round_.closed is not None:
                    decide_class(world, call, code, round_)
                else:
                    call.classes[code].quota = max(1, round(APPROVAL_SHARE * len(round_.projects)))
    for call in world.calls:
        if not call.newest:
            confirm_call(world, call)
    for round_ in sorted(world.completion_rounds.values(), key=lambda r: r.opened):
        world.rounds.append(round_)
        simulate_round(world, round_)
    _give_certificate_numbers(world)
    states = Counter(plan.state for plan in world.plans)
    world.counts.update({f"state {state}": n for state, n in sorted(states.items())})


def _new_plan(world, call, index):
    rng = world.rng
    name, title_of_pi, unit = world.pis[index - 1]
    senior = TITLE_LEVELS[title_of_pi] >= 3
    code = "A" if senior and rng.random() < A_SHARE / 0.6 else "B"
    topic = rng.randrange(len(SUBJECTS))
    subject, other = rng.sample(SUBJECTS[topic], 2)
    aspect = rng.choice(ASPECTS)
    title = f"{rng.choice(FRAMES)}{subject}{aspect}{rng.choice(SUFFIXES)}"
    m = call.milestones
    span = (m["deadline"] - m["opens"]).total_seconds()
    drafted = evening_or_day(m["opens"] + timedelta(seconds=rng.uniform(0, 0.8) * span), rng)
    plan = Plan(index=index, call=call, code=code, unit=unit, topic=topic, title=title,
                keywords=[subject, aspect, other], quality=rng.gauss(0, 1),
                drafted=max(drafted, m["opens"] + timedelta(minutes=rng.randint(5, 600))))
    plan.members = _plan_members(world, plan)
    return plan


def _plan_members(world, plan):
    """A registered colleague of the PI's unit (half of the time), then two or three collaborators."""
    rng = world.rng
    members = []
    colleagues = [j for j in world.pis_by_unit[plan.unit] if j != plan.index - 1]
    if colleagues and rng.random() < 0.5:
        j = rng.choice(colleagues)
        name, title, unit = world.pis[j]
        members.append((name, title, unit, rng.choice(MEMBER_TASKS), j))
    else:
        members.append((person_name(rng), rng.choice(MEMBER_TITLES), plan.unit, rng.choice(MEMBER_TASKS), None))
    for _k in range(rng.randint(1, 3)):
        unit = rng.randrange(len(world.units))
        members.append((person_name(rng), rng.choice(MEMBER_TITLES), unit, rng.choice(MEMBER_TASKS), None))
    return members


# What becomes of an application before the expert review (share of the call's projects).
FATES_DECIDED = [("normal", 0.90), ("revised", 0.03), ("ineligible", 0.025), ("withdrawn", 0.02),
                 ("returned", 0.01), ("draft", 0.015)]
FATES_NEWEST = [("normal", 0.89), ("revised", 0.02), ("ineligible", 0.025), ("withdrawn", 0.02),
                ("returned", 0.005), ("draft", 0.005), ("submitted", 0.01), ("endorsed", 0.025)]


def _choose(rng, weighted):
    x = rng.random() * sum(w for _v, w in weighted)
    for value, weight in weighted:
        x -= weight
        if x < 0:
            return value
    return weighted[-1][0]


def plan_application(world, plan):
    """From the draft to the formal check, then into the round when it opens."""
    rng, m = world.rng, plan.call.milestones
    fate = _choose(rng, FATES_NEWEST if plan.call.newest else FATES_DECIDED)
    if fate == "draft":
        return
    deadline = m["deadline"]
    if fate == "revised":
        # Returned by the formal check before the deadline (the rule), corrected and submitted again.
        latest = max(plan.drafted + timedelta(days=1), deadline - timedelta(days=25))
        submitted = min(plan.drafted + timedelta(days=rng.uniform(1, 10)), latest)
        step(world, plan, "submit", submitted, actor="pi")
        step(world, plan, "endorse", office(submitted + timedelta(days=rng.uniform(0.5, 3))), actor="unit")
        step(world, plan, "return_for_revision", office(plan.last_moment + timedelta(days=rng.uniform(1, 4))),
             reason=demo.REASONS["return_for_revision"])
        step(world, plan, "submit", plan.last_moment + timedelta(days=rng.uniform(2, 6)), actor="pi")
        step(world, plan, "endorse", office(plan.last_moment + timedelta(days=rng.uniform(0.5, 3))), actor="unit")
        _formal_check(world, plan, "pass_formal_check")
        return
    # Most applications arrive in the last weeks before the deadline.
    early = deadline - timedelta(days=rng.expovariate(1 / 10))
    submitted = evening_or_day(max(plan.drafted + timedelta(days=1), early), rng)
    submitted = min(submitted, deadline - timedelta(minutes=rng.randint(1, 600)))
    if submitted <= plan.drafted:
        submitted = plan.drafted + timedelta(hours=1)
    step(world, plan, "submit", submitted, actor="pi")
    if fate == "returned":
        step(world, plan, "return_to_applicant", office(submitted + timedelta(days=rng.uniform(1, 4))),
             actor="unit", reason=demo.REASONS["return_to_applicant"])
        return
    if fate == "submitted":
        return
    if fate == "withdrawn" and rng.random() < 0.5:
        step(world, plan, "withdraw", submitted + timedelta(days=rng.uniform(0.5, 3)), actor="pi", reason=WITHDRAW_REASON)
        return
    step(world, plan, "endorse", office(submitted + timedelta(days=rng.uniform(0.3, 6))), actor="unit")
    if fate == "withdrawn":
        step(world, plan, "withdraw", plan.last_moment + timedelta(days=rng.uniform(0.5, 5)), actor="pi",
             reason=WITHDRAW_REASON)
    elif fate == "ineligible":
        _formal_check(world, plan, "reject_formal", rng.choice(REJECT_REASONS))
    elif fate == "normal":
        _formal_check(world, plan, "pass_formal_check")


def _formal_check(world, plan, name, reason=None):
    m = plan.call.milestones
    span = (m["formal_to"] - m["formal_from"]).total_seconds()
    moment = m["formal_from"] + timedelta(seconds=world.rng.uniform(0, span))
    moment = office(max(moment, plan.last_moment + timedelta(hours=2)))
    step(world, plan, name, moment, reason=reason or demo.REASONS["pass_formal_check"])


def _give_receipt_numbers(world):
    """SB{YYYY}{NNNNN} in the order of first submission, per year of submission, after any already given."""
    submitted = sorted((p for p in world.plans if p.first_submit), key=lambda p: p.first_submit)
    for plan in submitted:
        key = f"SB{local_date(plan.first_submit).year}"
        plan.receipt = f"{key}{_next(world, key):05d}"


def _next(world, key):
    if key not in world.sequences:
        world.sequences[key] = NumberSequence.objects.filter(key=key).values_list("last", flat=True).first() or 0
    world.sequences[key] += 1
    return world.sequences[key]


def _round_name(call, code, stage, suffix=""):
    from reviews.models import Stage

    name = _("%(year)s class %(code)s: %(stage)s") % {"year": call.year, "code": code, "stage": Stage(stage).label}
    return f"{name}{suffix}"


def _application_round(world, call, code):
    from reviews.forms_schema import default_form

    m = call.milestones
    round_ = RoundPlan(call, code, "application", _round_name(call, code, "application"), world.k,
                       default_form("application"), created=m["round_created"], opened=m["round_opened"],
                       deadline=m["round_deadline"], closed=m["round_closed"])
    for plan in call.projects:
        if plan.code == code and plan.state == S.ELIGIBLE and step(world, plan, "start_review", m["round_opened"]):
            round_.projects.append(plan)
    return round_


# ---- the review -------------------------------------------------------------------------------


def simulate_round(world, round_):
    """Assign k experts per proposal, then play invitations, declines with replacements, drafts and reviews."""
    rng = world.rng
    picker = ExpertPicker(world, round_)
    pending = []
    for plan in round_.projects:
        for expert in picker.pick(plan, round_.k):
            pending.append(_assign(round_, AssignmentPlan(round_, plan, expert, "invited", round_.opened)))
    while pending:
        replacement = _play(world, round_, pending.pop(0), picker)
        if replacement is not None:
            pending.append(_assign(round_, replacement))
    for plan in round_.projects:
        submitted = sorted((a for a in round_.by_project[plan.index] if a.review == "submitted"),
                           key=lambda a: a.review_at)
        for number, assignment in enumerate(submitted, start=1):
            assignment.alias = number  # 专家N in the order of submission (aggregation.ensure_aliases)
    for assignment in round_.assignments:
        if assignment.responded_at and assignment.status != "declined":
            signed = round_.signatures.get(assignment.expert)
            moment = assignment.responded_at - timedelta(minutes=rng.randint(2, 30))
            round_.signatures[assignment.expert] = min(signed, moment) if signed else moment


def _assign(round_, assignment):
    round_.assignments.append(assignment)
    round_.by_project[assignment.project.index].append(assignment)
    return assignment


def _play(world, round_, assignment, picker):
    """What one invited expert did until now; returns the replacement invited when he declined."""
    rng, now = world.rng, world.now
    end = round_.deadline
    respond = assignment.invited_at + timedelta(days=min(rng.expovariate(1 / 2.5), 6))
    if respond > now:
        return None
    if assignment.source != "replacement" and rng.random() < 0.03:
        assignment.status, assignment.responded_at = "declined", respond
        assignment.decline_reason = rng.choice(DECLINE_REASONS)
        return AssignmentPlan(round_, assignment.project, picker.replace(assignment), "invited", respond,
                              source="replacement", replaces=assignment)
    assignment.status, assignment.responded_at = "accepted", respond
    if round_.stage == "application" and round_.closed is not None and rng.random() < 0.02:
        return None  # accepted and never delivered
    window = (end - respond).total_seconds()
    submit = respond + timedelta(seconds=max(3600.0, rng.betavariate(1.3, 2.2) * window))
    if submit <= now and submit <= end:
        _review(world, round_, assignment, "submitted", submit)
    elif rng.random() < 0.75:
        _review(world, round_, assignment, "draft", respond + (now - respond) * rng.uniform(0.3, 0.95))
    return None


def _review(world, round_, assignment, state, moment):
    from reviews.forms_schema import weighted_total

    rng, form = world.rng, round_.form
    plan, expert = assignment.project, world.experts[assignment.expert]
    low, high = form["scale"]["min"], form["scale"]["max"]
    if round_.stage == "completion":
        given = sum(1 for a in round_.by_project[plan.index] if a.review == "submitted")
        grade = round_.grades[plan.index]
        recommendation = grade if given < 2 or rng.random() < 0.5 else _neighbour(grade, rng)
        base = GRADE_BASE[recommendation]
        comments = (COMPLETION_COMMENTS[recommendation], "")
    else:
        base = 6.6 + 1.2 * plan.quality
        recommendation = None
    scores = {c["key"]: min(high, max(low, round(base + expert.leniency + rng.gauss(0, 0.9))))
              for c in form["criteria"]}
    total = weighted_total(form, scores)
    if recommendation is None:
        recommendation = "A" if float(total) >= 68 + rng.gauss(0, 4) else "B"
        band = "high" if total >= 75 else "middle" if total >= 60 else "low"
        comments = APPLICATION_COMMENTS[band]
    if state == "draft":
        kept = form["criteria"][: rng.randint(0, len(form["criteria"]) - 1)]
        scores = {c["key"]: scores[c["key"]] for c in kept}
        total = weighted_total(form, scores)
        recommendation = recommendation if rng.random() < 0.3 else ""
        comments = (comments[0] if rng.random() < 0.5 else "", "")
    assignment.review, assignment.review_at = state, moment
    assignment.scores, assignment.total, assignment.recommendation = scores, total, recommendation
    assignment.comments = comments


def _neighbour(grade, rng):
    i = GRADE_ORDER.index(grade)
    if i == 0:
        return GRADE_ORDER[1]
    if i == len(GRADE_ORDER) - 1:
        return GRADE_ORDER[-2]
    return GRADE_ORDER[i + rng.choice((-1, 1))]


class ExpertPicker:
    """Chooses experts for a round: k from k units, none of the team's units (回避), at most m each.

    Experts of the proposal's discipline first (what the assigner's affinity prefers), the
    pool as a whole when they are too few; the load is spread by a soft cap a little above
    the round's average before the hard one (m) is reached.
    """

    def __init__(self, world, round_):
        self.world, self.round = world, round_
        self.limit = rule("EXPERT_LOAD_LIMIT", round_.call.classes[round_.code])
        self.load = Counter()
        self.by_discipline = defaultdict(list)
        for expert in world.experts:
            for discipline in expert.disciplines:
                self.by_discipline[discipline].append(expert.index)
        self.everyone = [e.index for e in world.experts]
        needed = len(round_.projects) * round_.k
        self.soft = max(1, math.ceil(needed / len(world.experts)) + 1)
        if needed > self.limit * len(world.experts) * 0.9:
            raise ScaleError(_("%(n)d experts cannot take %(needed)d reviews in one round; add experts.")
                             % {"n": len(world.experts), "needed": needed})

    def _units_on(self, plan):
        return {self.world.experts[a.expert].unit for a in self.round.by_project[plan.index]
                if a.status != "declined"}

    def _gone(self, plan):
        return {a.expert for a in self.round.by_project[plan.index]}

    def pick(self, plan, count, *, avoid_units=(), avoid=()):
        rng = self.world.rng
        discipline = demo.TOPICS_2023[plan.topic][2]
        blocked = plan.team_units | set(avoid_units)
        chosen = []
        for pool, cap in ((self.by_discipline.get(discipline, []), self.soft), (self.everyone, self.soft),
                          (self.everyone, self.limit)):
            if len(chosen) == count or not pool:
                continue
            start = rng.randrange(len(pool))
            for offset in range(len(pool)):
                index = pool[(start + offset) % len(pool)]
                expert = self.world.experts[index]
                if (self.load[index] >= cap or expert.unit in blocked or index in avoid or index in chosen):
                    continue
                chosen.append(index)
                blocked.add(expert.unit)
                if len(chosen) == count:
                    break
        if len(chosen) < count:
            raise ScaleError(_("Not enough experts of other units for a proposal; add experts."))
        for index in chosen:
            self.load[index] += 1
        return chosen

    def replace(self, declined):
        plan = declined.project
        chosen = self.pick(plan, 1, avoid_units=self._units_on(plan), avoid=self._gone(plan))
        self.load[declined.expert] -= 1
        return chosen[0]


def affinity_of(world, round_, plan, expert_index):
    """(total, parts) as the assigner stores them: the real discipline part, the keywords' overlap as the text part."""
    from reviews.affinity import discipline_match, weights

    call_class = round_.call.classes[round_.code]
    if call_class.pk not in world.weights:
        world.weights[call_class.pk] = weights(call_class)
    w_discipline, w_text = world.weights[call_class.pk]
    expert = world.experts[expert_index]
    d = discipline_match(demo.TOPICS_2023[plan.topic][2], expert.disciplines)
    shared = set(plan.keywords) & set(expert.keywords)
    t = round(min(1.0, 0.15 + 0.3 * len(shared)), 6) if shared else 0.05
    return round(w_discipline * d + w_text * t, 6), {"discipline": d, "text": t}


def decide_class(world, call, code, round_):
    """The committee approves the top of the real ranking up to the quota; the rest is declined."""
    from reviews.aggregation import AggregationRules, expert_z_scores, ranking_key, shortlist_size, trimmed_mean

    call_class = call.classes[code]
    rules = AggregationRules.of(call_class)
    counted = defaultdict(list)
    for assignment in round_.assignments:
        if assignment.review == "submitted":
            counted[assignment.project.index].append(assignment)
    entries = []
    for plan in round_.projects:
        counted[plan.index].sort(key=lambda a: a.alias)
        entries += [((plan.index, a.alias), a.expert, a.total) for a in counted[plan.index]]
    z = expert_z_scores(entries, rules.normalise_min)
    results = []
    for plan in round_.projects:
        reviews = counted[plan.index]
        totals = np.array([float(a.total) for a in reviews], dtype=float)
        zs = [z[(plan.index, a.alias)] for a in reviews if (plan.index, a.alias) in z]
        results.append(SimpleNamespace(
            plan=plan, project=SimpleNamespace(receipt_number=plan.receipt), valid=len(reviews) >= rules.min_valid,
            headline=trimmed_mean(totals, rules.trim_from) if len(reviews) else None,
            mean=float(np.mean(totals)) if len(reviews) else None, normalised=float(np.mean(zs)) if zs else None,
        ))
    valid = sorted((r for r in results if r.valid), key=ranking_key)
    quota = max(1, round(APPROVAL_SHARE * len(valid))) if valid else 0
    call_class.quota = quota
    call.shortlists[code] = [r.plan for r in valid[: shortlist_size(quota, rules.shortlist_factor)]]
    approved = {r.plan.index for r in valid[:quota]}
    m = call.milestones
    for plan in round_.projects:
        step(world, plan, "close_review", m["round_closed"])
    for plan in round_.projects:
        if plan.index in approved:
            step(world, plan, "approve", m["released"], reason=demo.REASONS["approve"])
        else:
            step(world, plan, "decline", m["released"], reason=demo.REASONS["decline"])


def confirm_call(world, call):
    """Objections, then the confirmation with numbers in the order of ``publicity.confirm_projects``, then life."""
    rng, m = world.rng, call.milestones
    noticed = [p for p in call.projects if p.state == S.PUBLICITY]
    for plan in noticed:
        if rng.random() < 0.01:
            plan.objection = ("upheld", m["released"] + timedelta(days=2, hours=3), office(m["released"] + timedelta(days=5)),
                              demo.REASONS["drop"])
            step(world, plan, "drop", plan.objection[2], reason=demo.REASONS["drop"])
        elif rng.random() < 0.01:
            plan.objection = ("dismissed", m["released"] + timedelta(days=3, hours=5),
                              office(m["released"] + timedelta(days=6)),
                              "经核实，两课题研究对象与内容不同，不构成重复，异议不成立。")
    for plan in sorted((p for p in noticed if p.state == S.PUBLICITY), key=lambda p: (p.code, p.title, p.index)):
        if step(world, plan, "confirm", m["confirmed"], reason=demo.REASONS["confirm"]):
            plan.number = _project_number(world, call, plan.code)
            plan_life(world, plan)


def _project_number(world, call, code):
    from archive.models import Record

    key = f"{settings.PROJECT_NUMBER_PREFIX}{call.year}{code}"
    if world.taken_numbers is None:
        world.taken_numbers = set(Record.objects.values_list("number", flat=True)) | set(
            Project.objects.exclude(number=None).values_list("number", flat=True))
    while True:
        number = f"{key}{_next(world, key):03d}"
        if number not in world.taken_numbers:
            return number


def _give_certificate_numbers(world):
    completed = sorted((p for p in world.plans if p.state == S.COMPLETED), key=lambda p: p.values["closed_at"])
    for plan in completed:
        key = f"{settings.PROJECT_NUMBER_PREFIX}-JT{local_date(plan.values['closed_at']).year}"
        plan.certificate = f"{key}{_next(world, key):04d}"


# ---- a project under way ----------------------------------------------------------------------


def plan_life(world, plan):
    """Kick-off, mid-term check, completion (or termination, revocation), each step only if it is past."""
    rng = world.rng
    start, end = plan.values["start_date"], plan.values["end_date"]
    confirmed = plan.last_moment
    if rng.random() < 0.96:
        held = start + timedelta(days=rng.randint(20, 75))
        recorded = evening_or_day(at(held.year, held.month, held.day) + timedelta(days=rng.randint(1, 5)), rng)
        if recorded <= world.now:
            plan.kickoff = (held, recorded)
    half = start + timedelta(days=(end - start).days // 2)
    if rng.random() < 0.01:
        moment = office(confirmed + timedelta(days=rng.uniform(60, max(61, (half - start).days - 20))))
        if plan.kickoff:
            moment = max(moment, office(plan.kickoff[1] + timedelta(days=rng.uniform(10, 40))))
        step(world, plan, "revoke_project", moment, reason=demo.REASONS["revoke_project"])
        return
    if rng.random() < 0.97 and not _midterm(world, plan, half):
        return
    if plan.state != S.ACTIVE:
        return
    if rng.random() < 0.05:
        moment = office(at(end.year, end.month, end.day) + timedelta(days=rng.uniform(30, 60)))
        step(world, plan, "terminate", moment, reason=demo.REASONS["terminate_overdue"])
        return
    submitted = evening_or_day(at(end.year, end.month, end.day) - timedelta(days=rng.uniform(5, 75)), rng)
    submitted = max(submitted, plan.last_moment + timedelta(days=rng.uniform(20, 40)))
    if local_date(submitted) > end:
        submitted = at(end.year, end.month, end.day, 20)
    _completion(world, plan, submitted, attempt=1)


def _midterm(world, plan, due):
    """The mid-term report and its decision; False when the project ends here."""
    rng = world.rng
    submitted = evening_or_day(at(due.year, due.month, due.day) + timedelta(days=rng.uniform(-40, 20)), rng)
    report = {"submitted_at": submitted, "decision": "", "decided_at": None, "reason": ""}
    if not step(world, plan, "submit_midterm", submitted, actor="pi"):
        return False
    plan.midterms.append(report)
    decided = office(plan.last_moment + timedelta(days=rng.uniform(15, 45)))
    outcome = _choose(rng, [("pass", 0.91), ("fail", 0.07), ("terminate", 0.02)])
    name = {"pass": "pass_midterm", "fail": "fail_midterm", "terminate": "terminate"}[outcome]
    reason = {"pass": demo.REASONS["pass_midterm"], "fail": demo.REASONS["fail_midterm"],
              "terminate": "中期检查发现研究工作长期停滞，经研究决定终止该课题。"}[outcome]
    if not step(world, plan, name, decided, reason=reason):
        return False
    report.update(decision=outcome, decided_at=decided, reason="" if outcome == "pass" else reason)
    if outcome == "terminate":
        return False
    if outcome == "fail" and rng.random() < 0.25:
        deadline = plan.values["rectification_deadline"]
        moment = office(at(deadline.year, deadline.month, deadline.day) + timedelta(days=rng.uniform(10, 30)))
        step(world, plan, "terminate", moment, reason=demo.REASONS["terminate"])
        return False
    return True


def _grade(rng, quality, attempt):
    score = quality + rng.gauss(0, 0.8) + (0.8 if attempt > 1 else 0)
    return "excellent" if score > 1.2 else "good" if score > 0 else "pass" if score > -1.3 else "fail"


def _completion(world, plan, submitted, attempt):
    """One attempt: materials, unit, formal check, the monthly appraisal round, the grade."""
    rng, now = world.rng, world.now
    if not step(world, plan, "submit_completion", submitted, actor="pi"):
        return
    report = {"attempt": attempt, "submitted_at": plan.last_moment, "state": CompletionState.SUBMITTED.value,
              "endorsed_at": None, "checked_at": None, "appraised_at": None, "grade": "", "steps": []}
    plan.reports.append(report)
    endorsed = office(report["submitted_at"] + timedelta(days=rng.uniform(2, 6)))
    if not _report_step(world, report, "endorse_completion", endorsed, "unit"):
        return
    report["endorsed_at"] = endorsed
    checked = office(endorsed + timedelta(days=rng.uniform(3, 12)))
    if not _report_step(world, report, "accept_completion", checked, "secretary"):
        return
    report["checked_at"] = checked
    opened = first_working_day_after_month_of(checked)
    if opened > now:
        return  # ready for the appraisal; the secretariat has not yet made the month's round
    round_ = _completion_round(world, plan, opened)
    grade = _grade(rng, plan.quality, attempt)
    round_.projects.append(plan)
    round_.grades[plan.index] = grade
    if round_.closed is None:
        return
    appraised = office(round_.closed + timedelta(days=rng.uniform(1, 4)))
    if appraised > now:
        return
    failures = plan.values.get("appraisal_failures", 0) + (grade == "fail")
    target = (S.COMPLETED.value if grade != "fail" else
              S.REVOKED.value if failures >= rule("APPRAISAL_MAX_FAILURES", plan.call.classes[plan.code]) else
              S.ACTIVE.value)
    reason = (f"经专家鉴定，研究成果达到结题要求，鉴定等级为“{demo.GRADE_LABELS[grade]}”。" if grade != "fail"
              else demo.REASONS["appraise_fail"] if target == S.ACTIVE else demo.REASONS["reappraise_fail"])
    _report_step(world, report, "record_appraisal", appraised, "secretary", reason)
    report.update(appraised_at=appraised, grade=grade)
    step(world, plan, "appraise", appraised, reason=reason, target=target, grade=grade)
    if plan.state == S.ACTIVE:
        again = evening_or_day(appraised + timedelta(days=rng.uniform(30, 80)), rng)
        _completion(world, plan, again, attempt + 1)


def _report_step(world, report, name, moment, actor, reason=""):
    if moment > world.now:
        return False
    source = report["state"]
    report["state"] = next_state(CompletionReport, name, source)
    report["steps"].append((name, source, report["state"], moment, actor, reason))
    return True


def _completion_round(world, plan, opened):
    from reviews.forms_schema import default_form

    key = (plan.call.year, plan.code, opened)
    if key not in world.completion_rounds:
        closed = opened + timedelta(days=22, hours=1)
        suffix = f"（{opened.astimezone(SHANGHAI):%Y-%m}）"
        world.completion_rounds[key] = RoundPlan(
            plan.call, plan.code, "completion", _round_name(plan.call, plan.code, "completion", suffix),
            COMPLETION_EXPERTS, default_form("completion"), created=opened - timedelta(hours=3), opened=opened,
            deadline=opened + timedelta(days=21, hours=8), closed=closed if closed <= world.now else None)
    return world.completion_rounds[key]


# ---- writing ----------------------------------------------------------------------------------


def _abstract(plan, rng):
    focus = plan.title.removesuffix("研究").removesuffix("实证").removesuffix("比较").removesuffix("行动")
    return (f"本课题围绕{focus}展开研究，{rng.choice(demo.METHODS)}系统分析{plan.keywords[0]}的现状、问题与成因，"
            f"{rng.choice(GOALS)}。")


def write_projects(world):
    rng = world.rng
    view, change, endorse = (Permission.objects.get(content_type_id=world.content_types[Project], codename=c).pk
                             for c in ("view_project", "change_project", "endorse_project"))
    for start in range(0, len(world.plans), BATCH):
        batch = world.plans[start:start + BATCH]
        rows = []
        for plan in batch:
            call_class = plan.call.classes[plan.code]
            _number, _topic, discipline, context = demo.TOPICS_2023[plan.topic]
            values = dict(plan.values)
            rows.append(Project(
                call_id=plan.call.pk, call_class_id=call_class.pk, guide_topic_id=plan.call.topics[plan.topic],
                title=plan.title, keywords=plan.keywords, research_type=rng.choice(("applied", "basic", "comprehensive")),
                discipline=discipline, planned_end_date=_planned_end(plan),
                output_form="研究报告、论文" if plan.code == "B" else "研究报告、论文、专著",
                abstract=_abstract(plan, rng), pledge_accepted_at=plan.drafted, pi_id=world.pi_ids[plan.index - 1],
                institution_id=world.units[plan.unit].pk, state=plan.state, receipt_number=plan.receipt,
                number=plan.number, certificate_number=plan.certificate,
                created_at=plan.drafted, updated_at=plan.last_moment,
                **demo.argument(plan.title, context, plan.code, plan.index), **values,
            ))
        with own_dates(Project):
            _insert(world, Project, rows)
        for plan, row in zip(batch, rows):
            plan.pk, plan.pi_id = row.pk, row.pi_id
        members, budget, user_perms, group_perms, logs = [], [], [], [], []
        for plan in batch:
            call_class = plan.call.classes[plan.code]
            for order, (name, title, unit, task, account) in enumerate(plan.members):
                members.append(Member(project_id=plan.pk, name=name, title=title, unit=world.units[unit].name,
                                      task=task, order=order,
                                      user_id=world.pi_ids[account] if account is not None else None))
            for category, share in (("materials", "0.20"), ("travel", "0.35"), ("meetings", "0.15"),
                                    ("consulting", "0.10"), ("publishing", "0.20")):
                budget.append(BudgetLine(project_id=plan.pk, category=category, amount=call_class.funding * Decimal(share)))
            # access.OBJECT_RIGHTS: the PI sees always and edits drafts; members see; the unit sees
            # once submitted and endorses while submitted.
            user_perms.append(ProjectUserObjectPermission(permission_id=view, user_id=plan.pi_id, content_object_id=plan.pk))
            if plan.state == S.DRAFT:
                user_perms.append(ProjectUserObjectPermission(permission_id=change, user_id=plan.pi_id,
                                                              content_object_id=plan.pk))
            for account in {m[4] for m in plan.members if m[4] is not None}:
                user_perms.append(ProjectUserObjectPermission(permission_id=view, user_id=world.pi_ids[account],
                                                              content_object_id=plan.pk))
            group = world.units[plan.unit].group_id
            if plan.receipt:
                group_perms.append(ProjectGroupObjectPermission(permission_id=view, group_id=group,
                                                                content_object_id=plan.pk))
            if plan.state == S.SUBMITTED:
                group_perms.append(ProjectGroupObjectPermission(permission_id=endorse, group_id=group,
                                                                content_object_id=plan.pk))
            for name, source, target, moment, actor, reason in plan.steps:
                logs.append(TransitionLog(
                    content_type_id=world.content_types[Project], object_id=plan.pk, project_id=plan.pk,
                    transition=name, from_state=source, to_state=target, actor_id=_actor(world, plan, actor),
                    reason=reason, at=moment))
        _insert(world, Member, members)
        _insert(world, BudgetLine, budget)
        _insert(world, ProjectUserObjectPermission, user_perms, _("object permissions"))
        _insert(world, ProjectGroupObjectPermission, group_perms, _("object permissions"))
        _insert(world, TransitionLog, logs, _("log rows"))


def _actor(world, plan, actor):
    if actor == "pi":
        return world.pi_ids[plan.index - 1]
    if actor == "unit":
        return world.units[plan.unit].admin_id
    return world.secretary_id


def write_rounds(world):
    from reviews.models import Assignment, AssignmentRun, DeclarationSignature, Review, ReviewRound, new_token
    from reviews.services import DECLARATION_TEXT

    content_types = {m: ContentType.objects.get_for_model(m).pk for m in (ReviewRound, Review)}
    with own_dates(ReviewRound):
        rows = _insert(world, ReviewRound, [
            ReviewRound(call_class_id=r.call.classes[r.code].pk, stage=r.stage, name=r.name,
                        state="closed" if r.closed else "open", form=r.form, experts_per_proposal=r.k,
                        load_limit=rule("EXPERT_LOAD_LIMIT", r.call.classes[r.code]), deadline=r.deadline,
                        answer_within_days=rule("ANSWER_WITHIN_DAYS", r.call.classes[r.code]),
                        opened_at=r.opened, closed_at=r.closed, created_by_id=world.secretary_id, created_at=r.created)
            for r in world.rounds
        ])
    for round_, row in zip(world.rounds, rows):
        round_.pk = row.pk
    Through = ReviewRound.projects.through
    _insert(world, Through, [Through(reviewround_id=r.pk, project_id=p.pk) for r in world.rounds for p in r.projects],
            _("round proposals"))
    logs = []
    for r in world.rounds:
        logs.append(TransitionLog(content_type_id=content_types[ReviewRound], object_id=r.pk, transition="open_round",
                                  from_state="draft", to_state="open", actor_id=world.secretary_id, at=r.opened))
        if r.closed:
            logs.append(TransitionLog(content_type_id=content_types[ReviewRound], object_id=r.pk,
                                      transition="close_round", from_state="open", to_state="closed",
                                      actor_id=world.secretary_id, at=r.closed))
    _insert(world, TransitionLog, logs, _("log rows"))

    for r in world.rounds:
        for assignment in r.assignments:
            assignment.affinity, assignment.parts = affinity_of(world, r, assignment.project, assignment.expert)
        solver = [a for a in r.assignments if a.source == "solver"]
        pairs = [[a.project.pk, world.experts[a.expert].pk, a.affinity, a.parts["discipline"], a.parts["text"]]
                 for a in solver]
        total = round(sum(a.affinity for a in solver), 6)
        with own_dates(AssignmentRun):
            run = _insert(world, AssignmentRun, [AssignmentRun(
                round_id=r.pk, number=1,
                parameters={"k": r.k, "m": rule("EXPERT_LOAD_LIMIT", r.call.classes[r.code]),
                            "weights": dict(zip(("discipline", "text"), world.weights[r.call.classes[r.code].pk]))},
                inputs={"proposals": [p.pk for p in r.projects], "experts": [e.pk for e in world.experts],
                        "conflict_count": 0, "locked": [], "excluded": []},
                result={"pairs": pairs, "total_affinity": total, "proven_optimal": False, "seconds": 0},
                before=[], total_affinity=total, feasible=True, created_by_id=world.secretary_id,
                created_at=r.created + timedelta(hours=1))])[0]
        for wave in (solver, [a for a in r.assignments if a.source != "solver"]):
            rows = [Assignment(
                round_id=r.pk, project_id=a.project.pk, expert_id=world.experts[a.expert].pk, token=new_token(),
                status=a.status, source=a.source, affinity=a.affinity, affinity_parts=a.parts,
                alias_number=a.alias, run_id=run.pk if a.source == "solver" else None,
                replaces_id=a.replaces.pk if a.replaces else None, invited_at=a.invited_at,
                responded_at=a.responded_at, decline_reason=a.decline_reason,
                created_at=run.created_at if a.source == "solver" else a.invited_at,
            ) for a in wave]
            with own_dates(Assignment):
                _insert(world, Assignment, rows)
            for a, row in zip(wave, rows):
                a.pk = row.pk
        reviewed = [a for a in r.assignments if a.review]
        with own_dates(Review):
            reviews = _insert(world, Review, [Review(
                assignment_id=a.pk, state=a.review, scores=a.scores, total=a.total, recommendation=a.recommendation,
                comments_to_applicant=a.comments[0], comments_to_committee=a.comments[1],
                submitted_at=a.review_at if a.review == "submitted" else None, updated_at=a.review_at,
            ) for a in reviewed])
        _insert(world, DeclarationSignature, [
            DeclarationSignature(expert_id=world.experts[e].pk, round_id=r.pk, text=DECLARATION_TEXT, signed_at=moment)
            for e, moment in r.signatures.items()
        ], _("signed declarations"))
        _insert(world, TransitionLog, [
            TransitionLog(content_type_id=content_types[Review], object_id=row.pk, transition="submit",
                          from_state="draft", to_state="submitted", actor_id=world.experts[a.expert].user_id,
                          at=a.review_at)
            for a, row in zip(reviewed, reviews) if a.review == "submitted"
        ], _("log rows"))
        r.assignments, r.by_project = [], {}  # written: let the memory go


def write_decisions(world):
    """Quotas, the committee meetings (votes, staged and released decisions) and the objections."""
    from reviews.models import Meeting, StagedDecision, Vote

    rng = world.rng
    meeting_type = ContentType.objects.get_for_model(Meeting).pk
    for call in world.calls:
        for call_class in call.classes.values():
            CallClass.objects.filter(pk=call_class.pk).update(quota=call_class.quota)
        if call.newest:
            continue
        m = call.milestones
        decided = [p for p in call.projects if any(s[0] in ("approve", "decline") for s in p.steps)]
        if not decided:
            continue
        with own_dates(Meeting):
            meeting = _insert(world, Meeting, [Meeting(
                call_id=call.pk, held_on=m["meeting_held"], place="中国成人教育协会第一会议室", state="released",
                released_at=m["released"], created_by_id=world.secretary_id, created_at=m["meeting_created"])])[0]
        meeting.present.set([pk for pk, _unit in world.committee])
        votes, decisions = [], []
        for code, call_class in call.classes.items():
            for plan in call.shortlists.get(code, []):
                approved = any(s[0] == "approve" for s in plan.steps)
                for seat, (member, unit_pk) in enumerate(world.committee):
                    if unit_pk == world.units[plan.unit].pk:
                        continue  # 回避: a member of the PI's unit does not vote
                    choice = ("approve" if rng.random() < 0.92 else "abstain") if approved else (
                        "reject" if rng.random() < 0.7 else rng.choice(("approve", "abstain")))
                    votes.append(Vote(meeting_id=meeting.pk, project_id=plan.pk, member_id=member, choice=choice,
                                      cast_at=m["meeting_held"] + timedelta(minutes=10 * seat + 5)))
        for plan in decided:
            approved = any(s[0] == "approve" for s in plan.steps)
            decisions.append(StagedDecision(
                meeting_id=meeting.pk, project_id=plan.pk, outcome="approve" if approved else "decline",
                note="" if approved else "经会议评审，本课题未获立项，请参考专家意见修改完善。",
                staged_by_id=world.secretary_id, staged_at=m["meeting_held"] + timedelta(hours=3 if approved else 4),
                released_at=m["released"]))
        _insert(world, Vote, votes)
        _insert(world, StagedDecision, decisions)
        _insert(world, TransitionLog, [
            TransitionLog(content_type_id=meeting_type, object_id=meeting.pk, transition="create", from_state="",
                          to_state="voting", actor_id=world.secretary_id, at=m["meeting_created"]),
            TransitionLog(content_type_id=meeting_type, object_id=meeting.pk, transition="release",
                          from_state="voting", to_state="released", actor_id=world.secretary_id, at=m["released"]),
        ], _("log rows"))
    objections = []
    for plan in world.plans:
        if plan.objection:
            state, submitted, decided, reason = plan.objection
            objections.append(Objection(
                project_id=plan.pk, name=person_name(rng), contact=phone(rng),
                text="该课题与申请人已立项的其他课题内容高度重复，请核实。", submitted_at=submitted,
                state=ObjectionState.UPHELD if state == "upheld" else ObjectionState.DISMISSED,
                decided_by_id=world.secretary_id, decided_at=decided, decision_reason=reason))
    _insert(world, Objection, objections)


def write_supervision(world):
    """Kick-off and mid-term reports, completion materials with their outputs and log rows."""
    rng = world.rng
    kickoffs, midterms, outputs = [], [], []
    for plan in world.plans:
        if plan.kickoff:
            held, recorded = plan.kickoff
            kickoffs.append(KickoffReport(
                project_id=plan.pk, held_on=held, experts=KICKOFF_EXPERTS, submitted_at=recorded,
                submitted_by_id=plan.pi_id,
                report="开题论证专家一致认为，本课题研究目标明确，研究设计科学合理，同意开题。"))
        for report in plan.midterms:
            midterms.append(MidtermReport(
                project_id=plan.pk, progress=f"已完成{plan.keywords[0]}相关文献梳理和实地调研，形成调研报告初稿。",
                outputs_so_far="发表阶段性论文1篇。", problems="部分调研数据尚待补充。",
                plan="下一阶段完成模型构建与实践检验。", submitted_at=report["submitted_at"],
                decision=report["decision"], decision_reason=report["reason"], decided_at=report["decided_at"],
                decided_by_id=world.secretary_id if report["decision"] else None))
        if plan.reports:
            focus = plan.title.removesuffix("研究")
            year = local_date(plan.reports[0]["submitted_at"]).year
            outputs += [
                Output(project_id=plan.pk, kind="paper", title=f"{plan.keywords[0]}的现状、问题与对策",
                       authors=world.pis[plan.index - 1][0] + "等", venue=rng.choice(JOURNALS), year=year,
                       volume_issue=f"({rng.randint(1, 12)})", pages=f"{rng.randint(10, 60)}-{rng.randint(61, 90)}",
                       order=0),
                Output(project_id=plan.pk, kind="report", title=f"{focus}研究总报告",
                       authors=world.pis[plan.index - 1][0] + "等", year=year, order=1),
            ]
    _insert(world, KickoffReport, kickoffs)
    _insert(world, MidtermReport, midterms)
    _insert(world, Output, outputs)
    pairs = [(plan, report) for plan in world.plans for report in plan.reports]
    rows = _insert(world, CompletionReport, [CompletionReport(
            project_id=plan.pk, attempt=report["attempt"], state=report["state"],
        work_report="课题组按计划完成了各项研究任务，形成系列研究成果。",
        summary_report=f"本成果围绕{plan.title.removesuffix('研究')}，系统分析了现状与问题，构建了实施框架，提出了推进策略与政策建议。",
        self_assessment="研究目标基本实现，成果具有一定的理论价值与实践意义。",
        submitted_at=report["submitted_at"], endorsed_at=report["endorsed_at"], checked_at=report["checked_at"],
        grade=report["grade"], appraised_at=report["appraised_at"]) for plan, report in pairs])
    _insert(world, TransitionLog, [
        TransitionLog(content_type_id=world.content_types[CompletionReport], object_id=row.pk, project_id=plan.pk,
                      transition=name, from_state=source, to_state=target, actor_id=_actor(world, plan, actor),
                      reason=reason, at=moment)
        for (plan, report), row in zip(pairs, rows) for name, source, target, moment, actor, reason in report["steps"]
    ], _("log rows"))


def write_sequences(world):
    """The number counters end at the last number given, so that the next real one follows it."""
    for key, last in sorted(world.sequences.items()):
        NumberSequence.objects.update_or_create(key=key, defaults={"last": last})
    world.counts[_("number series")] += len(world.sequences)


def write_records(world):
    """The archive's Record of every numbered project in an archived state, filled by the archive's own code."""
    from archive.models import Record
    from archive.tasks import ARCHIVED_STATES, _fill

    ids = [p.pk for p in world.plans if p.number and p.state in ARCHIVED_STATES]
    for start in range(0, len(ids), BATCH):
        projects = (Project.objects.filter(pk__in=ids[start:start + BATCH])
                    .select_related("call", "call_class", "pi", "institution", "pi__institution")
                    .prefetch_related("members", "outputs"))
        records = []
        for project in projects:
            record = Record()
            _fill(record, project)
            records.append(record)
        _insert(world, Record, records, _("archive records"))


def check_conflict_table(world):
    """The real 回避 check over every current proposal and every expert; it must find no assigned pair."""
    from reviews.conflicts import refresh_conflicts
    from reviews.models import Assignment, AssignmentStatus

    counts = refresh_conflicts(now=world.now)
    world.counts[_("conflicts found")] += counts.get("created", 0)
    removed = Assignment.objects.filter(status=AssignmentStatus.REMOVED, round_id__in=[r.pk for r in world.rounds]).count()
    if removed:
        raise ScaleError(f"The conflict check removed {removed} planned assignments.")


def rebuild_index(world):
    from archive import search

    world.counts[_("indexed records")] += search.rebuild()
