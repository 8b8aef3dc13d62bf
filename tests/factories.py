"""Factories that build realistic Chinese data on the real database."""

import datetime as dt

import factory
from django.utils import timezone

from accounts import roles
from accounts.models import Institution, InstitutionType, TitleLevel, User
from projects.demo import INSTITUTIONS
from projects.models import Call, CallClass, GuideTopic, Member, Project

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["建国", "晓东", "丽华", "海燕", "志强", "文静", "国庆", "春梅", "明辉", "雪梅", "振宇", "红霞"]
UNITS = INSTITUTIONS  # the demo's eight institutions: (name, type, province)
UNIT_INFO = {name: (kind, province) for name, kind, province in UNITS}


class InstitutionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Institution
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: UNITS[n][0] if n < len(UNITS) else f"第{n}社区学院")
    type = factory.LazyAttribute(lambda i: UNIT_INFO.get(i.name, (InstitutionType.COMMUNITY, "浙江"))[0])
    province = factory.LazyAttribute(lambda i: UNIT_INFO.get(i.name, (InstitutionType.COMMUNITY, "浙江"))[1])


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    real_name = factory.Sequence(lambda n: SURNAMES[n % len(SURNAMES)] + GIVEN[n % len(GIVEN)])
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    institution = factory.SubFactory(InstitutionFactory)
    title = "教授"
    title_level = TitleLevel.SENIOR
    password = factory.PostGenerationMethodCall("set_password", "keti-demo-2023")

    @factory.post_generation
    def role(user, create, extracted, **kwargs):
        user.save()
        if extracted:
            roles.grant_role(user, extracted)


def aware(*args):
    return timezone.make_aware(dt.datetime(*args))


class CallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Call

    year = 2023
    title = factory.LazyAttribute(lambda c: f"中国成人教育协会{c.year}年度科研课题申报指南")
    state = "published"
    opens_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=30))
    deadline = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=30))


class CallClassFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CallClass
        django_get_or_create = ("call", "code")

    call = factory.SubFactory(CallFactory)
    code = "A"
    name = factory.LazyAttribute(lambda c: "学术性课题" if c.code == "A" else "专项课题")
    quota = 20
    experts_per_proposal = factory.LazyAttribute(lambda c: 5 if c.code == "A" else 3)
    duration_months = 24
    funding = 20000


class GuideTopicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GuideTopic

    call = factory.SubFactory(CallFactory)
    number = factory.Sequence(lambda n: n + 1)
    title = "学分银行建设与学习成果认证研究"


class ProjectFactory(factory.django.DjangoModelFactory):
    """A complete application; pass ``state=`` to start it in any state (creation only)."""

    class Meta:
        model = Project

    call_class = factory.SubFactory(CallClassFactory)
    call = factory.LazyAttribute(lambda p: p.call_class.call)
    title = factory.Sequence(lambda n: f"老年教育数字化转型路径研究之{n}")
    keywords = ["老年教育", "数字化", "社区学习"]
    discipline = "成人教育学"
    is_free_topic = True
    planned_end_date = dt.date(2025, 12, 31)
    pledge_accepted_at = factory.LazyFunction(timezone.now)
    pi = factory.SubFactory(UserFactory)
    institution = factory.LazyAttribute(lambda p: p.pi.institution)
    basis = "人口老龄化背景下，老年教育需求快速增长。"
    content = "研究老年学习者的数字素养现状与提升路径。"
    approach = "问卷调查与个案研究相结合。"
    innovation = "提出社区嵌入式的老年数字学习模式。"
    expected_outcomes = "研究报告一份，论文两篇。"
    foundation = "课题组前期完成相关调查 ***。"


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: SURNAMES[(n + 7) % len(SURNAMES)] + GIVEN[(n + 3) % len(GIVEN)])
    title = "副教授"
    unit = "华东师范大学"
    task = "数据收集与分析"
    order = factory.Sequence(lambda n: n)
