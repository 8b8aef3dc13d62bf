"""Demo data of the review app: the pool, the 2023 rounds, reviews in every state.

Connected to ``projects.signals.demo_loaded``: it runs after the demo's calls and
projects exist and, like the rest of the demo, drives every step through the
same services the pages use (conflict check, the assigner, opening the round,
declarations, drafts, submissions, a decline and its replacement), with a
simulated clock. Idempotent: experts' profiles are found by user, rounds by
class and stage; an existing round is left alone.
"""

from datetime import timedelta

from django.utils import timezone

from accounts.models import User
from projects.demo import at
from projects.models import Call, TransitionLog

from .models import ExpertProfile, ReviewRound, Stage

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
