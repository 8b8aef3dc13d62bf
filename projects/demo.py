"""Demo data: an association's realistic year, driven through the real state machines.

Nothing here writes a state by hand. Records are created the way users create
them (calls and projects in draft) and every later step goes through
``services.perform`` (or ``services.request_change``) with a simulated clock, so
each record carries the same transition log, numbers and object permissions a
real year would leave behind. The steps of all records are merged into one
timeline and replayed in date order, because the guards look at the database
as it is at that moment (an unfinished 2021 project bars its PI from 2023).

The load is idempotent: people are found by username, institutions by name,
calls by year and title, projects by title within their call. A call that
already exists is left alone with all its projects, since its history cannot
be replayed once the call has moved past its window.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from typing import Callable
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from django.contrib.auth.hashers import make_password
from django.db import transaction

from accounts import roles
from accounts.models import Institution, InstitutionType, User

from .models import BudgetLine, Call, CallClass, GuideTopic, Member, Project
from .services import TransitionRefused, perform, request_change
from .signals import demo_loaded, demo_loading
from .workflow import ProjectState

DEMO_PASSWORD = "keti-demo-2023"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(year, month, day, hour=10, minute=0):
    """An aware moment in Beijing time, the clock every rule of the association uses."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


# ---- institutions and people ---------------------------------------------------------

INSTITUTIONS = [
    ("华东师范大学", InstitutionType.UNIVERSITY, "上海"),
    ("国家开放大学", InstitutionType.OPEN_UNIVERSITY, "北京"),
    ("江苏开放大学", InstitutionType.OPEN_UNIVERSITY, "江苏"),
    ("深圳职业技术大学", InstitutionType.VOCATIONAL, "广东"),
    ("北京老年大学", InstitutionType.SENIOR, "北京"),
    ("上海市学习型社会建设服务指导中心", InstitutionType.COMMUNITY, "上海"),
    ("中国成人教育协会研究所", InstitutionType.RESEARCH, "北京"),
    ("天津市职工大学", InstitutionType.ADULT, "天津"),
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余"
GIVEN_NAMES = [
    "建国", "晓东", "丽华", "海燕", "志强", "文静", "国庆", "春梅", "明辉", "雪梅",
    "振宇", "红霞", "立新", "秀英", "伟", "敏", "静", "磊", "洋", "艳",
    "勇", "军", "杰", "娟", "涛", "明", "超", "霞", "平", "刚",
    "桂英", "玉兰", "晓燕", "宏伟", "建华", "文博", "思远", "雅琴", "子涵", "浩然",
    "婧", "晨", "颖", "鹏", "璐", "一鸣", "慧敏", "少华", "德明", "淑芬",
    "永红", "云飞", "嘉怡", "若曦", "俊杰", "佳慧", "天宇", "晓琳", "红梅", "卫东",
]

# Index ranges into the name generator, so that no two people share a name.
NAME_BASE = {"secretary": 0, "committee": 1, "expert": 6, "unitadmin": 18, "applicant": 26, "member": 66}
EXTERNAL_NAMES = 54  # names 66..119 are members without an account

TITLE_LEVELS = {"教授": 4, "研究员": 4, "副教授": 3, "副研究员": 3, "讲师": 2, "助理研究员": 2}
RESEARCH_UNITS = {InstitutionType.RESEARCH, InstitutionType.COMMUNITY}
# Title of the applicant in each of the five places of an institution (applicant i sits at
# place (i - 1) // 8): universities have professors and lecturers, research units researchers.
TEACHING_TITLES = ["教授", "副教授", "教授", "副教授", "讲师"]
RESEARCH_TITLES = ["研究员", "副研究员", "研究员", "副研究员", "副研究员"]

COUNTS = {"committee": 5, "expert": 12, "applicant": 40}


def person_name(index):
    """A realistic Chinese name; unique for index < 120 (40 surnames × 60 given names, coprime steps)."""
    return SURNAMES[index % len(SURNAMES)] + GIVEN_NAMES[(7 * index) % len(GIVEN_NAMES)]


def phone_number(index):
    return f"13{8 + index % 2}{(index * 7919 + 1234567) % 10**8:08d}"


@cache
def password_hash():
    """Hash the shared password once: PBKDF2 per user would make the load take half a minute."""
    return make_password(DEMO_PASSWORD)


@dataclass
class Cast:
    """The demo's people, looked up by role once so that every step reuses the same objects."""

    secretary: User
    applicants: list
    unit_admins: dict  # institution pk -> its research administrator

    def unit_admin_of(self, project):
        return self.unit_admins[project.pi.institution_id]


# ---- the calls -------------------------------------------------------------------------

CLASSES = [
    # code, name, quota, experts per proposal, months, funding (yuan)
    ("A", "学术性课题", 20, 5, 24, 20000),
    ("B", "专项课题", 30, 3, 12, 10000),
]

DESCRIPTION_2023 = (
    "为深入贯彻党的二十大关于“推进教育数字化，建设全民终身学习的学习型社会、学习型大国”的部署，"
    "发挥学术研究对成人教育、继续教育和终身教育改革发展的引领作用，中国成人教育协会决定开展2023年度"
    "科研课题申报工作。\n\n"
    "一、课题类别：本年度课题分为A类学术性课题和B类专项课题。A类课题研究周期一般为2年，每项资助经费2万元；"
    "B类课题研究周期一般为1年，每项资助经费1万元。\n"
    "二、申报条件：A类课题负责人须具有副高级及以上专业技术职称，B类课题负责人须具有中级及以上专业技术职称；"
    "每位申请人作为负责人限报1项；有在研协会课题或近三年内被撤项者不得申报。\n"
    "三、申报要求：课题名称不超过40字，不加副标题；关键词不超过3个；活页不得出现申请人及课题组成员姓名、"
    "单位等信息。申请书经所在单位科研管理部门审核推荐后提交。\n"
    "四、申报时间：2023年3月1日9:00至2023年5月31日17:00（北京时间），逾期不予受理。"
)

DESCRIPTION_2021 = (
    "为贯彻落实《中国教育现代化2035》关于“构建服务全民终身学习的教育体系”的要求，中国成人教育协会"
    "组织开展2021年度科研课题申报工作。课题分为A类学术性课题和B类专项课题，申报时间为2021年3月1日"
    "至2021年5月31日17:00。课题名称不超过40字，不加副标题，活页须匿名填写。"
)

# Each topic: number, title, discipline, and the policy context its proposals open with.
TOPICS_2023 = [
    (1, "学分银行建设与学习成果认证研究", "成人教育学",
     "建立国家学分银行、推进各类学习成果的认证、积累与转换，是构建服务全民终身学习教育体系的重要制度安排。"),
    (2, "新时代老年教育高质量发展研究", "成人教育学",
     "实施积极应对人口老龄化国家战略，对扩大老年教育资源供给、提升老年教育质量提出了新的要求。"),
    (3, "社区教育治理与内涵发展研究", "教育经济与管理",
     "社区教育是终身教育体系的重要组成部分，在基层社会治理和学习型社区建设中发挥着日益重要的作用。"),
    (4, "乡村振兴与农民教育培训研究", "职业技术教育学",
     "全面推进乡村振兴，关键在人，加快培养高素质农民和乡村实用人才是成人教育服务国家战略的重要使命。"),
    (5, "职业技能培训与技能型社会建设研究", "职业技术教育学",
     "建设技能型社会、大规模开展职业技能培训，需要继续教育体系提供更加灵活、多样、优质的培训供给。"),
    (6, "开放大学转型发展研究", "成人教育学",
     "开放大学体系的整体转型与高质量发展，是办好开放大学、服务全民终身学习的重要课题。"),
    (7, "数字化学习与终身学习平台建设研究", "教育技术学",
     "国家教育数字化战略行动深入实施，数字技术正在深刻改变成人学习的方式、内容与组织形态。"),
    (8, "服务全民终身学习的教育体系构建研究", "成人教育学",
     "构建服务全民终身学习的教育体系，需要打通学历教育与非学历教育、职前与职后教育之间的通道。"),
    (9, "成人教育教师队伍专业化发展研究", "教育学原理",
     "高素质专业化的教师队伍是成人教育和继续教育质量的根本保障，当前队伍建设仍存在诸多短板。"),
    (10, "学习型城市与学习型组织建设研究", "教育经济与管理",
     "学习型城市、学习型组织建设是推进学习型社会建设的重要抓手，亟需系统的理论支撑与评价工具。"),
]

TOPICS_2021 = [
    (1, "成人教育学科建设研究", "成人教育学",
     "成人教育学科体系建设关系到成人教育事业发展的理论根基与人才培养质量。"),
    (2, "老年教育与积极老龄化研究", "成人教育学",
     "积极应对人口老龄化已上升为国家战略，老年教育在其中承担着不可替代的作用。"),
    (3, "社区教育与基层治理研究", "教育经济与管理",
     "社区教育是推进基层社会治理现代化的重要力量，其治理功能有待深入挖掘。"),
    (4, "职工继续教育与技能提升研究", "职业技术教育学",
     "提升职工技能水平是推动产业升级和高质量就业的重要途径，继续教育肩负重要责任。"),
    (5, "开放教育质量保障研究", "教育技术学",
     "开放教育规模持续扩大，建立健全质量保障体系成为开放教育可持续发展的关键。"),
]

# Projects of a call, in order: the PI of the n-th project is applicant n.
# title, class, topic, keywords, scenario, extra (grade, reasons by step)
PROJECTS_2023 = [
    ("国家学分银行学习成果认证标准体系研究", "A", 1, ["学分银行", "学习成果认证", "标准体系"], "active_midterm_passed", {}),
    ("职业教育与继续教育学分互认机制研究", "A", 1, ["学分互认", "职业教育", "继续教育"], "completion_review", {}),
    ("基于区块链的学习成果存证与转换研究", "B", 1, ["区块链", "学习成果", "学分转换"], "active_midterm_passed", {}),
    ("非学历教育学习成果积累与转换路径研究", "B", 1, ["非学历教育", "学习成果", "学分银行"], "declined", {}),
    ("积极老龄化视域下老年教育课程体系建设研究", "A", 2, ["积极老龄化", "老年教育", "课程体系"], "active_midterm_passed", {}),
    ("老年人数字素养提升的社区学习模式研究", "B", 2, ["老年人", "数字素养", "社区学习"], "midterm_review", {}),
    ("养教结合型老年教育服务供给机制研究", "A", 2, ["养教结合", "老年教育", "服务供给"], "completion_review", {}),
    ("老年大学办学质量评价指标体系研究", "B", 2, ["老年大学", "办学质量", "评价指标"], "terminated_overdue", {}),
    ("社区教育参与基层社会治理的机制研究", "A", 3, ["社区教育", "基层治理", "参与机制"], "midterm_failed", {}),
    ("城乡社区学习共同体培育路径研究", "B", 3, ["学习共同体", "城乡社区", "培育路径"], "publicity", {}),
    ("社区教育资源整合与共享平台建设研究", "B", 3, ["社区教育", "资源整合", "共享平台"], "reviewed", {}),
    ("家校社协同育人中的社区教育作用研究", "A", 3, ["协同育人", "社区教育", "家庭教育"], "completed", {"grade": "excellent"}),
    ("乡村振兴背景下高素质农民培育模式研究", "A", 4, ["乡村振兴", "高素质农民", "培育模式"], "appraisal_failed", {}),
    ("农村成人教育助力共同富裕的实践路径研究", "A", 4, ["农村成人教育", "共同富裕", "实践路径"], "completed", {"grade": "good"}),
    ("返乡创业人员职业能力提升培训研究", "B", 4, ["返乡创业", "职业能力", "培训"], "dropped", {}),
    ("县域职业教育服务乡村人才振兴研究", "B", 4, ["县域职业教育", "乡村人才", "人才振兴"], "in_review", {}),
    ("技能型社会建设中企业职工培训体系研究", "A", 5, ["技能型社会", "职工培训", "企业培训"], "completed_second_try", {"grade": "good"}),
    ("新业态从业人员技能提升培训需求研究", "B", 5, ["新业态", "技能提升", "培训需求"], "publicity", {}),
    ("职业技能等级认定与培训质量评价研究", "B", 5, ["技能等级认定", "培训质量", "评价"], "ineligible", {
        "reasons": {"reject_formal": "申请书未附所在单位经费管理承诺，预算表填写不完整，材料不全，不予受理。"}}),
    ("产教融合背景下继续教育项目开发研究", "A", 5, ["产教融合", "继续教育", "项目开发"], "completed", {"grade": "pass"}),
    ("开放大学体系办学治理结构改革研究", "A", 6, ["开放大学", "办学体系", "治理结构"], "active_midterm_passed", {}),
    ("开放大学非学历教育高质量发展研究", "A", 6, ["开放大学", "非学历教育", "高质量发展"], "completed", {"grade": "excellent"}),
    ("开放教育学习支持服务质量提升研究", "B", 6, ["开放教育", "学习支持服务", "质量提升"], "revoked_double_fail", {}),
    ("开放大学服务全民终身学习的功能定位研究", "B", 6, ["开放大学", "终身学习", "功能定位"], "eligible_after_revision", {}),
    ("成人在线学习投入度影响因素与干预研究", "A", 7, ["在线学习", "学习投入", "成人学习者"], "active_midterm_passed", {}),
    ("人工智能赋能成人个性化学习路径研究", "A", 7, ["人工智能", "个性化学习", "成人学习"], "terminated_after_midterm", {}),
    ("终身学习数字资源共建共享机制研究", "B", 7, ["数字资源", "共建共享", "终身学习"], "endorsed", {}),
    ("成人学习者数字学习能力测评工具开发", "B", 7, ["数字学习能力", "测评工具", "成人学习者"], "withdrawn_endorsed", {}),
    ("服务全民终身学习的教育体系评价研究", "A", 8, ["终身学习", "教育体系", "评价"], "revoked", {}),
    ("学历教育与非学历教育融通机制研究", "A", 8, ["学历教育", "非学历教育", "融通机制"], "midterm_review", {}),
    ("终身学习视域下成人高等教育改革研究", "B", 8, ["终身学习", "成人高等教育", "教育改革"], "eligible", {}),
    ("全民终身学习活动周品牌建设研究", "B", 8, ["终身学习活动周", "品牌建设"], "submitted", {}),
    ("成人教育教师专业能力标准研究", "B", 9, ["成人教育教师", "专业能力", "标准"], "reviewed", {}),
    ("社区教育专兼职教师队伍建设研究", "B", 9, ["社区教育", "专兼职教师", "队伍建设"], "ineligible", {
        "reasons": {"reject_formal": "活页“研究基础”部分多处出现课题负责人姓名及所在单位，违反匿名评审要求，不予受理。"}}),
    ("开放大学教师教学能力发展研究", "B", 9, ["开放大学", "教师发展", "教学能力"], "withdrawn_submitted", {}),
    ("老年教育志愿者队伍培育机制研究", "B", 9, ["老年教育", "志愿者", "培育机制"], "returned_by_unit", {}),
    ("学习型城市建设监测指标体系研究", "B", 10, ["学习型城市", "监测指标"], "in_review", {}),
    ("学习型企业创建与职工学习文化研究", "B", 10, ["学习型企业", "职工学习", "学习文化"], "endorsed", {}),
    ("学习型乡村建设的内涵与推进策略研究", "B", 10, ["学习型乡村", "推进策略"], "submitted", {}),
    ("家庭学习与家庭教育指导服务研究", "B", 10, ["家庭学习", "家庭教育指导"], "draft", {}),
]

PROJECTS_2021 = [
    ("成人教育学科体系建设与发展路径研究", "A", 1, ["成人教育学", "学科建设"], "completed", {"grade": "excellent"}),
    ("积极老龄化背景下老年教育政策研究", "A", 2, ["积极老龄化", "老年教育", "教育政策"], "completed", {"grade": "good"}),
    ("社区教育促进基层社会治理的实证研究", "B", 3, ["社区教育", "社会治理", "实证研究"], "completed", {"grade": "good"}),
    ("新型职业农民培育的成人教育路径研究", "B", 4, ["职业农民", "成人教育", "培育路径"], "completed", {"grade": "pass"}),
    ("开放教育质量保障体系构建研究", "A", 5, ["开放教育", "质量保障"], "completed", {"grade": "excellent"}),
    ("职工继续教育与企业技能人才培养研究", "B", 4, ["职工教育", "技能人才"], "completed", {"grade": "good"}),
    ("成人学习者在线学习行为分析研究", "B", 5, ["在线学习", "学习行为", "学习分析"], "completed", {"grade": "pass"}),
    ("学习型社会建设的国际比较研究", "A", 1, ["学习型社会", "国际比较"], "terminated_voluntary", {}),
]

# ---- scenarios: the steps that bring a project to each state -------------------------------

_FORMAL = ["submit", "endorse", "pass_formal_check"]
_REVIEWED = _FORMAL + ["start_review", "close_review"]
_APPROVED = _REVIEWED + ["approve", "confirm"]
_MIDTERM_PASSED = _APPROVED + ["submit_midterm", "pass_midterm"]

SCENARIOS = {
    "draft": [],
    "returned_by_unit": ["submit", "return_to_applicant"],
    "submitted": ["submit"],
    "endorsed": ["submit", "endorse"],
    "withdrawn_submitted": ["submit", "withdraw"],
    "withdrawn_endorsed": ["submit", "endorse", "withdraw"],
    "eligible": _FORMAL,
    "eligible_after_revision": ["submit", "endorse", "return_for_revision", "resubmit", "endorse", "pass_formal_check"],
    "ineligible": ["submit", "endorse", "reject_formal"],
    "in_review": _FORMAL + ["start_review"],
    "reviewed": _REVIEWED,
    "publicity": _REVIEWED + ["approve"],
    "declined": _REVIEWED + ["decline"],
    "dropped": _REVIEWED + ["approve", "drop"],
    "active_midterm_passed": _MIDTERM_PASSED,
    "midterm_review": _APPROVED + ["submit_midterm"],
    "midterm_failed": _APPROVED + ["submit_midterm", "fail_midterm"],
    "terminated_after_midterm": _APPROVED + ["submit_midterm", "fail_midterm", "terminate"],
    "terminated_overdue": _MIDTERM_PASSED + ["terminate_overdue"],
    "terminated_voluntary": _APPROVED + ["terminate_voluntary"],
    "revoked": _MIDTERM_PASSED + ["revoke_project"],
    "completion_review": _MIDTERM_PASSED + ["submit_completion"],
    "completed": _MIDTERM_PASSED + ["submit_completion", "appraise"],
    "appraisal_failed": _MIDTERM_PASSED + ["submit_completion", "appraise_fail"],
    "completed_second_try": _MIDTERM_PASSED + ["submit_completion", "appraise_fail", "resubmit_completion", "reappraise"],
    "revoked_double_fail": _MIDTERM_PASSED
    + ["submit_completion", "appraise_fail", "resubmit_completion", "reappraise_fail"],
}

# Scenario steps that are a transition under another name (a second try, a special cause).
ALIASES = {
    "resubmit": "submit",
    "resubmit_completion": "submit_completion",
    "appraise_fail": "appraise",
    "reappraise": "appraise",
    "reappraise_fail": "appraise",
    "terminate_overdue": "terminate",
    "terminate_voluntary": "terminate",
}
PI_STEPS = {"submit", "withdraw", "submit_midterm", "submit_completion"}
UNIT_STEPS = {"endorse", "return_to_applicant"}

GRADE_LABELS = {"excellent": "优秀", "good": "良好", "pass": "合格", "fail": "不合格"}

REASONS = {
    "return_to_applicant": "课题组成员分工填写不完整，部分成员未注明职称，请补充完善后重新提交。",
    "withdraw": "因工作岗位调整，申请人主动撤回本次申报。",
    "return_for_revision": "活页“研究基础”部分出现课题组成员所在单位名称，请按匿名要求以***替代后重新提交。",
    "reject_formal": "申报选题与本年度课题指南方向不符，不予受理。",
    "pass_formal_check": "材料齐全，符合申报条件。",
    "approve": "经学术委员会会议评审，拟予立项，现予以公示。",
    "decline": "经学术委员会会议评审，该申请综合排名未进入立项范围，不予立项。",
    "drop": "公示期间收到实名异议，经核实该课题与申请人在其他渠道已立项课题内容高度重复，异议成立，取消立项。",
    "confirm": "公示期满无异议，正式立项。",
    "pass_midterm": "中期检查合格，研究进展符合计划。",
    "fail_midterm": "中期报告显示计划调研任务尚未完成，阶段性成果不足，中期检查不合格，请于三个月内完成整改。",
    "terminate": "整改期满仍未达到中期检查要求，经研究决定终止该课题。",
    "terminate_overdue": "研究期满未提交结题材料，亦未申请延期，依规予以终止。",
    "terminate_voluntary": "课题负责人长期出国访学，研究工作无法按计划推进，经本人申请、所在单位同意，予以终止。",
    "revoke_project": "课题负责人调离原单位且无法继续主持研究，经所在单位申请，予以撤项。",
    "appraise_fail": "鉴定专家认为研究报告论证不够充分、实证数据不足，结题鉴定不合格，请修改完善后再次申请鉴定。",
    "reappraise_fail": "修改后的成果仍未达到结题要求，第二次鉴定不合格，依规予以撤项。",
}


@dataclass(frozen=True)
class Timing:
    """When a step happens: not before ``floor``, at least ``gap`` days after the previous step, plus a spread."""

    gap: int = 0
    spread: int = 1
    floor: str | None = None  # key into the call's milestones


TIMING = {
    "submit": Timing(floor="submit", spread=55),
    "resubmit": Timing(gap=5, spread=5),
    "endorse": Timing(gap=2, spread=5),
    "return_to_applicant": Timing(gap=2, spread=4),
    "return_for_revision": Timing(gap=3, spread=4),
    "withdraw": Timing(gap=3, spread=10),
    "pass_formal_check": Timing(floor="formal_check", spread=20),
    "reject_formal": Timing(floor="formal_check", spread=20),
    "start_review": Timing(floor="review"),
    "close_review": Timing(floor="review_closed", spread=4),
    "approve": Timing(floor="decision"),
    "decline": Timing(floor="decision"),
    "drop": Timing(gap=5),
    "confirm": Timing(gap=8),
    "submit_midterm": Timing(floor="midterm", spread=30),
    "pass_midterm": Timing(gap=20, spread=15),
    "fail_midterm": Timing(gap=20, spread=15),
    "terminate": Timing(gap=100, spread=20),
    "terminate_overdue": Timing(floor="overdue", spread=10),
    "terminate_voluntary": Timing(floor="voluntary_end", spread=20),
    "revoke_project": Timing(gap=90, spread=30),
    "submit_completion": Timing(floor="completion", spread=45),
    "appraise": Timing(gap=40, spread=20),
    "appraise_fail": Timing(gap=40, spread=20),
    "resubmit_completion": Timing(gap=30, spread=15),
    "reappraise": Timing(gap=30, spread=15),
    "reappraise_fail": Timing(gap=30, spread=15),
}


def _milestones(year, *, midterm, completion, overdue=None, voluntary_end=None):
    """The dates a year's steps are anchored on; mid-term and completion differ per class."""
    return {
        "created": date(year, 3, 6),
        "submit": date(year, 4, 3),
        "formal_check": date(year, 6, 5),
        "review": date(year, 7, 3),
        "review_closed": date(year, 8, 28),
        "decision": date(year, 9, 12),
        "midterm": midterm,
        "completion": completion,
        "overdue": overdue,
        "voluntary_end": voluntary_end,
    }


@dataclass
class CallSpec:
    year: int
    title: str
    description: str
    opens_at: datetime
    deadline: datetime
    topics: list
    projects: list
    steps: list  # (transition, moment) of the call itself
    milestones: dict
    changes: list = field(default_factory=list)


# Change requests of the 2023 call: project number (1-based), kind, request moment,
# explanation, fields, then the steps after the request as (transition, moment, reason).
CHANGES_2023 = [
    (1, "members", at(2024, 11, 18, 15, 20),
     "原课题组成员因工作调动不再参与研究，拟增补一名熟悉学分银行业务的成员承担案例调研任务。",
     {"add": [{"name": "韩思远", "title": "副研究员", "unit": "上海开放大学", "task": "学分银行案例调研"}],
      "remove_order": 1},
     [("endorse", at(2024, 11, 22, 10, 5), "同意变更。"), ("approve", at(2024, 11, 29, 14, 30), "同意变更课题组成员。")]),
    (3, "extension", at(2024, 6, 17, 9, 40),
     "受试点地区平台建设进度影响，实证数据采集推迟，申请延期12个月结题。",
     {"extension_months": 12},
     [("endorse", at(2024, 6, 20, 11, 0), "情况属实，同意延期。"), ("approve", at(2024, 6, 28, 16, 10), "同意延期12个月。")]),
    (5, "extension", at(2025, 5, 12, 10, 25),
     "课程体系试点需覆盖完整的春秋两个学期，申请延期6个月结题。",
     {"extension_months": 6},
     []),
    (25, "content", at(2025, 1, 6, 9, 15),
     "根据前期调研结果，拟调整研究题目以更好地反映研究重点。",
     {"new_title": "成人在线学习行为画像与精准学习支持研究"},
     [("endorse", at(2025, 1, 9, 15, 0), "同意报送。"),
      ("reject", at(2025, 1, 16, 10, 40), "变更后的题目改变了原定研究方向，超出变更范围，不予同意。")]),
]

CALLS = [
    CallSpec(
        year=2021,
        title="中国成人教育协会2021年度科研课题",
        description=DESCRIPTION_2021,
        opens_at=at(2021, 3, 1, 9, 0),
        deadline=at(2021, 5, 31, 17, 0),
        topics=TOPICS_2021,
        projects=PROJECTS_2021,
        steps=[
            ("publish", at(2021, 2, 22, 10, 0)),
            ("close", at(2021, 6, 1, 9, 0)),
            ("start_reviewing", at(2021, 7, 5, 8, 30)),
            ("decide", at(2021, 9, 30, 10, 0)),
            ("archive", at(2023, 3, 30, 10, 0)),
        ],
        # Every 2021 project closes before April 2023, when its PI applies again.
        milestones=_milestones(
            2021,
            midterm={"A": date(2022, 3, 7), "B": date(2022, 3, 7)},
            completion={"A": date(2022, 11, 7), "B": date(2022, 8, 15)},
            voluntary_end=date(2022, 6, 13),
        ),
    ),
    CallSpec(
        year=2023,
        title="中国成人教育协会2023年度科研课题",
        description=DESCRIPTION_2023,
        opens_at=at(2023, 3, 1, 9, 0),
        deadline=at(2023, 5, 31, 17, 0),
        topics=TOPICS_2023,
        projects=PROJECTS_2023,
        steps=[
            ("publish", at(2023, 2, 20, 10, 0)),
            ("close", at(2023, 6, 1, 9, 0)),
            ("start_reviewing", at(2023, 7, 3, 8, 30)),
            ("decide", at(2023, 9, 28, 10, 0)),
        ],
        milestones=_milestones(
            2023,
            midterm={"A": date(2024, 9, 2), "B": date(2024, 3, 4)},
            completion={"A": date(2025, 3, 3), "B": date(2024, 8, 19)},
            overdue=date(2024, 11, 11),
        ),
        changes=CHANGES_2023,
    ),
]

# ---- the anonymous argument (活页), written without names -----------------------------------

METHODS = [
    "综合运用文献研究法、问卷调查法和深度访谈法，",
    "采用混合研究方法，以大样本问卷调查把握总体特征，以典型案例研究揭示内在机制，",
    "以行动研究为主线，结合案例研究和比较研究，",
    "运用德尔菲法和层次分析法构建指标体系，并通过实证数据进行信度与效度检验，",
    "采用政策文本分析与实地调研相结合的方法，",
]
MEMBER_TITLES = ["副教授", "讲师", "教授", "助理研究员", "博士研究生", "副研究员"]
MEMBER_TASKS = [
    "文献综述与理论框架构建",
    "问卷设计与数据分析",
    "典型案例调研与访谈",
    "政策文本分析与比较研究",
    "实践推广与成果转化",
    "国际经验比较研究",
]
OUTSIDE_UNITS = ["南京师范大学", "西南大学", "上海开放大学", "浙江工业职业技术学院", "山东省老年大学", "广州社区学院"]


def argument(title, context, class_code, index):
    """The six anonymous fields of one proposal, built from its title and its topic's context."""
    focus = title.removesuffix("研究")
    outcomes = (
        "研究报告1份（约3万字），在CSSCI来源期刊发表论文2篇以上，出版专著1部，形成政策咨询建议1份。"
        if class_code == "A"
        else "研究报告1份（约2万字），在公开刊物发表论文1—2篇，形成实践指导手册1份。"
    )
    return {
        "basis": (
            f"{context}当前相关实践蓬勃开展，但仍面临制度衔接不畅、资源整合不足、评价机制缺位等问题。"
            f"现有研究多停留于经验总结层面，对{focus}缺乏系统的理论阐释与实证检验。"
            "本课题研究有助于丰富终身教育理论，并为教育行政部门和办学机构提供决策参考。"
        ),
        "content": (
            f"（1）梳理{focus}的政策演进与理论基础；（2）通过实地调研把握现状、问题及成因；"
            "（3）比较国内外典型经验，提炼可资借鉴的做法；"
            f"（4）构建{focus}的实施框架与推进路径，提出有针对性的政策建议。"
        ),
        "approach": (
            f"{METHODS[index % len(METHODS)]}遵循“理论梳理—现状调查—比较分析—模式构建—实践检验”的技术路线，"
            "选取东、中、西部若干样本地区开展调研，确保研究结论的代表性和可推广性。"
        ),
        "innovation": (
            "一是研究视角上，将终身学习理论与治理理论相结合，拓展了研究的分析框架；"
            f"二是研究内容上，系统回答{focus}中的关键问题；三是研究方法上，注重定量与定性相结合，增强结论的解释力。"
        ),
        "expected_outcomes": outcomes,
        "foundation": (
            "课题负责人长期从事***领域的教学与研究，主持完成省部级课题2项，在***等期刊发表相关论文十余篇。"
            "课题组成员涵盖成人教育、教育管理、教育技术等专业，年龄与职称结构合理，前期已完成***调研，"
            "具备完成本课题的研究基础与条件保障。"
        ),
    }


# ---- loading ------------------------------------------------------------------------------


class DemoError(Exception):
    """A step of the demo was refused: the demo data no longer fits the rules."""


@dataclass(order=True)
class Event:
    at: datetime
    seq: int
    label: str = field(compare=False)
    run: Callable = field(compare=False)


class Timeline:
    """Steps of every record, replayed in date order so that each guard sees the world of its day."""

    def __init__(self):
        self.events = []

    def add(self, moment, label, run):
        self.events.append(Event(moment, len(self.events), label, run))

    def run(self):
        for event in sorted(self.events):
            try:
                event.run(event.at)
            except TransitionRefused as error:
                raise DemoError(f"{event.label} ({event.at:%Y-%m-%d %H:%M}): {error}") from error


def load_demo():
    """Create what is missing of the demo, in one transaction; return the counts of what was created."""
    created = Counter()
    with transaction.atomic():
        roles.ensure_role_groups()
        demo_loading.send(sender=None, created=created)
        institutions = ensure_institutions(created)
        cast = ensure_people(institutions, created)
        timeline = Timeline()
        for spec in CALLS:
            plan_call(spec, cast, timeline, created)
        timeline.run()
        ensure_open_call(cast, created)
        demo_loaded.send(sender=None, created=created)
    return created


def open_call_year(today):
    """The year of the call that is open when the demo is loaded (calls for next year open in autumn)."""
    return today.year + 1 if today.month >= 9 else today.year


def ensure_open_call(cast, created, now=None):
    """A call that takes applications now, so that the demo can be used to apply (no projects yet)."""
    from django.utils import timezone

    now = now or timezone.now()
    year = open_call_year(timezone.localdate(now))
    title = f"中国成人教育协会{year}年度科研课题"
    if Call.objects.filter(year=year, title=title).exists():
        return
    call = Call.objects.create(
        year=year,
        title=title,
        description=DESCRIPTION_2023.replace("2023", str(year)),
        opens_at=now - timedelta(days=14),
        deadline=(now + timedelta(days=90)).replace(hour=17, minute=0, second=0, microsecond=0),
    )
    for code, name, quota, experts, months, funding in CLASSES:
        CallClass.objects.create(call=call, code=code, name=name, quota=quota, experts_per_proposal=experts,
                                 duration_months=months, funding=funding)
    for number, topic_title, _discipline, _context in TOPICS_2023:
        GuideTopic.objects.create(call=call, number=number, title=topic_title)
    perform(call, "publish", by=cast.secretary, now=now - timedelta(days=14))
    created["calls"] += 1


def ensure_institutions(created):
    """The eight units, by name, in the order of ``INSTITUTIONS``."""
    units = []
    for name, kind, province in INSTITUTIONS:
        unit, is_new = Institution.objects.get_or_create(name=name, defaults={"type": kind, "province": province})
        created["institutions"] += is_new
        units.append(unit)
    return units


def _ensure_user(username, index, created, *, role=None, **fields):
    """Find or create one user (by username) and make sure they hold their role."""
    user = User.objects.filter(username=username).select_related("institution").first()
    if user is None:
        name = fields.pop("real_name", None) or person_name(index)
        user = User(
            username=username,
            password=password_hash(),
            real_name=name,
            last_name=name[0],
            first_name=name[1:],
            email=f"{username}@example.org",
            phone=phone_number(index),
            **fields,
        )
        user.save()
        created["users"] += 1
    if role:
        roles.grant_role(user, role)
    return user


def _title_fields(title):
    return {"title": title, "title_level": TITLE_LEVELS[title]}


def ensure_people(units, created):
    """Everyone of every role, with fixed usernames and one password."""
    _ensure_user("admin", 120, created, real_name="系统管理员", is_staff=True, is_superuser=True)
    secretary = _ensure_user(
        "secretary", NAME_BASE["secretary"], created, role=roles.SECRETARIAT, is_staff=True, **_title_fields("副研究员")
    )
    for n in range(1, COUNTS["committee"] + 1):
        _ensure_user(
            f"committee{n}", NAME_BASE["committee"] + n - 1, created, role=roles.COMMITTEE,
            institution=units[(n * 3) % len(units)], **_title_fields("教授"),
        )
    for n in range(1, COUNTS["expert"] + 1):
        unit = units[(n - 1) % len(units)]
        title = "研究员" if unit.type in RESEARCH_UNITS else ("教授" if n % 3 else "副教授")
        _ensure_user(
            f"expert{n}", NAME_BASE["expert"] + n - 1, created, role=roles.EXPERT, institution=unit, **_title_fields(title)
        )
    unit_admins = {}
    for n, unit in enumerate(units, start=1):
        admin = _ensure_user(
            f"unitadmin{n}", NAME_BASE["unitadmin"] + n - 1, created, role=roles.UNIT_ADMIN,
            institution=unit, **_title_fields("助理研究员"),
        )
        unit_admins[admin.institution_id] = admin
    applicants = [_ensure_applicant(n, units, created) for n in range(1, COUNTS["applicant"] + 1)]
    return Cast(secretary=secretary, applicants=applicants, unit_admins=unit_admins)


def _ensure_applicant(n, units, created):
    """Applicant n sits at unit (n - 1) % 8, place (n - 1) // 8; the place decides the title."""
    unit = units[(n - 1) % len(units)]
    titles = RESEARCH_TITLES if unit.type in RESEARCH_UNITS else TEACHING_TITLES
    title = titles[(n - 1) // len(units)]
    return _ensure_user(f"applicant{n}", NAME_BASE["applicant"] + n - 1, created, institution=unit, **_title_fields(title))


# ---- one call ------------------------------------------------------------------------------


def plan_call(spec, cast, timeline, created):
    """Create a missing call in draft with its classes, topics and projects, and queue their steps."""
    if Call.objects.filter(year=spec.year, title=spec.title).exists():
        return
    call = Call.objects.create(
        year=spec.year, title=spec.title, description=spec.description, opens_at=spec.opens_at, deadline=spec.deadline
    )
    Call.objects.filter(pk=call.pk).update(created_at=at(spec.year, 2, 10, 9, 30))
    created["calls"] += 1
    classes = {
        code: CallClass.objects.create(
            call=call, code=code, name=name, quota=quota, experts_per_proposal=experts,
            duration_months=months, funding=funding,
        )
        for code, name, quota, experts, months, funding in CLASSES
    }
    topics = {
        number: GuideTopic.objects.create(call=call, number=number, title=title)
        for number, title, _discipline, _context in spec.topics
    }
    for name, moment in spec.steps:
        timeline.add(moment, f"{spec.title} · {name}", _call_step(call, name, cast))
    projects = {}
    for index, row in enumerate(spec.projects, start=1):
        project = create_project(spec, row, index, call, classes, topics, cast)
        plan_project(spec, row, index, project, cast, timeline)
        projects[index] = project
        created["projects"] += 1
    for change in spec.changes:
        plan_change(change, projects, cast, timeline)


def _call_step(call, name, cast):
    def run(now):
        perform(call, name, by=cast.secretary, now=now)

    return run


def create_project(spec, row, index, call, classes, topics, cast):
    """A complete draft by applicant ``index``, with its members, dated a few weeks before submission."""
    title, class_code, topic_number, keywords, _scenario, _extra = row
    pi = cast.applicants[index - 1]
    _number, _topic_title, discipline, context = spec.topics[topic_number - 1]
    project = Project.objects.create(
        call=call,
        call_class=classes[class_code],
        guide_topic=topics[topic_number],
        title=title,
        keywords=keywords,
        research_type=("applied", "basic", "comprehensive")[index % 3],
        discipline=discipline,
        output_form="研究报告、论文" if class_code == "B" else "研究报告、论文、专著",
        abstract=f"本课题围绕{title.removesuffix('研究')}展开研究，在调查分析的基础上提出可操作的实施路径与政策建议。",
        pi=pi,
        institution=pi.institution,
        planned_end_date=date(spec.year + (3 if class_code == "A" else 2), 6, 30),
        pledge_accepted_at=drafted_at(spec, index),
        **argument(title, context, class_code, index),
    )
    Project.objects.filter(pk=project.pk).update(created_at=drafted_at(spec, index))
    BudgetLine.objects.bulk_create(_budget(project, classes[class_code]))
    Member.objects.bulk_create(_members(project, index, cast))
    return project


def _budget(project, call_class):
    """A plausible budget within the class's funding."""
    shares = (("materials", "0.20"), ("travel", "0.35"), ("meetings", "0.15"), ("consulting", "0.10"), ("publishing", "0.20"))
    return [
        BudgetLine(project=project, category=category, amount=call_class.funding * Decimal(share))
        for category, share in shares
    ]


def drafted_at(spec, index):
    """When the applicant started the draft: in March, before any submission."""
    day = spec.milestones["created"] + timedelta(days=index % 20)
    return datetime.combine(day, time(20, (index * 11) % 60), SHANGHAI)


def _members(project, index, cast):
    """2–5 members: a registered colleague of the PI's unit, then collaborators from elsewhere."""
    pi = project.pi
    colleague = cast.applicants[(index - 1 + len(INSTITUTIONS)) % len(cast.applicants)]
    members = [
        Member(project=project, order=0, name=colleague.real_name, title=colleague.title,
               unit=colleague.institution.name, task=MEMBER_TASKS[index % len(MEMBER_TASKS)], user=colleague)
    ]
    for k in range(1, 2 + index % 4):
        seed = index * 3 + k
        members.append(
            Member(
                project=project,
                order=k,
                name=person_name(NAME_BASE["member"] + seed % EXTERNAL_NAMES),
                title=MEMBER_TITLES[seed % len(MEMBER_TITLES)],
                unit=pi.institution.name if k == 1 else OUTSIDE_UNITS[seed % len(OUTSIDE_UNITS)],
                task=MEMBER_TASKS[(index + k) % len(MEMBER_TASKS)],
            )
        )
    return members


def plan_project(spec, row, index, project, cast, timeline):
    """Queue the scenario's steps at realistic, strictly increasing moments."""
    title, class_code, _topic, _keywords, scenario, extra = row
    previous = drafted_at(spec, index)
    for position, alias in enumerate(SCENARIOS[scenario]):
        moment = step_moment(alias, spec.milestones, class_code, index, previous, position)
        timeline.add(moment, f"{title} · {alias}", _project_step(project, alias, extra, cast))
        previous = moment


def step_moment(alias, milestones, class_code, index, previous, position=0):
    """The moment of a step: after its floor and gap, spread by the project's index, in office hours.

    Offices (the unit, the secretariat) act on working days; applicants also write at weekends.
    """
    timing = TIMING[alias]
    spread = timedelta(days=(index * 7) % timing.spread)
    day = previous.date() + timedelta(days=timing.gap)
    if timing.floor:
        floor = milestones[timing.floor]
        floor = floor[class_code] if isinstance(floor, dict) else floor
        day = max(day, floor + spread)
    else:
        day += spread
    if ALIASES.get(alias, alias) not in PI_STEPS and day.weekday() >= 5:
        day += timedelta(days=7 - day.weekday())
    moment = datetime.combine(day, time(9 + index % 8, (index * 13 + position * 17) % 60), SHANGHAI)
    return max(moment, previous + timedelta(hours=1))


def _project_step(project, alias, extra, cast):
    def run(now):
        name = ALIASES.get(alias, alias)
        reason = extra.get("reasons", {}).get(alias) or REASONS.get(alias, "")
        params = _step_params(alias, extra, now)
        if name == "appraise" and not reason:
            reason = f"经专家鉴定，研究成果达到结题要求，鉴定等级为“{GRADE_LABELS[params['grade']]}”。"
        perform(project, name, by=_actor(name, project, cast), reason=reason, now=now, **params)

    return run


def _step_params(alias, extra, now):
    if alias in ("appraise_fail", "reappraise_fail"):
        return {"grade": "fail"}
    if alias in ("appraise", "reappraise"):
        return {"grade": extra["grade"]}
    if alias == "fail_midterm":
        return {"rectification_deadline": (now + relativedelta(months=3)).date()}
    return {}


def _actor(name, project, cast):
    """The PI for the applicant's steps, the unit's administrator for the unit's, else the secretariat."""
    if name in PI_STEPS:
        return project.pi
    if name in UNIT_STEPS:
        return cast.unit_admin_of(project)
    return cast.secretary


def plan_change(change, projects, cast, timeline):
    """Queue a change request and its decisions; member ids are looked up when the request is made."""
    number, kind, requested_at, explanation, fields, steps = change
    project = projects[number]
    holder = {}

    def request(now):
        values = dict(fields)
        if kind == "members":
            remove_order = values.pop("remove_order")
            member = project.members.get(order=remove_order)
            values = {"member_changes": {"add": values["add"], "remove": [member.pk]}}
        holder["change"] = request_change(project, kind, by=project.pi, explanation=explanation, now=now, **values)

    timeline.add(requested_at, f"{project.title} · request {kind}", request)
    for name, moment, reason in steps:
        timeline.add(moment, f"{project.title} · {kind} {name}", _change_step(holder, name, reason, cast))


def _change_step(holder, name, reason, cast):
    def run(now):
        change = holder["change"]
        actor = cast.unit_admin_of(change.project) if name == "endorse" else cast.secretary
        perform(change, name, by=actor, reason=reason, now=now)

    return run


# ---- summary ---------------------------------------------------------------------------------


def state_counts(call):
    """Projects of ``call`` per state, in the order of the machine (zeros included)."""
    counts = Counter(call.projects.values_list("state", flat=True))
    return {state: counts.get(state, 0) for state in ProjectState.values}


def summary_lines(created):
    """A short report: what this run created, then each demo call with its projects per state."""
    made = ", ".join(f"{n} {what}" for what, n in created.items() if n) or "nothing (all demo data already present)"
    lines = [f"Created: {made}."]
    for spec in CALLS:
        call = Call.objects.filter(year=spec.year, title=spec.title).first()
        if call is None:
            continue
        counts = state_counts(call)
        lines.append(f"{call.title} [{call.state}]: {sum(counts.values())} projects")
        lines.append("  " + ", ".join(f"{state} {n}" for state, n in counts.items() if n))
    return lines
