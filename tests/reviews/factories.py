"""Factories of the review app: experts, rounds, assignments, reviews.

Shared by every test of ``tests/reviews``; build on ``tests.factories``.
"""

import datetime as dt

import factory
from django.utils import timezone

from accounts import roles
from reviews.forms_schema import default_form
from reviews.models import (
    Assignment,
    AssignmentStatus,
    DeclarationSignature,
    ExpertProfile,
    Review,
    ReviewRound,
)
from tests.factories import CallClassFactory, InstitutionFactory, UserFactory

DISCIPLINES = ["成人教育学", "终身教育", "教育技术学", "职业教育", "老年教育", "社区教育"]
KEYWORDS = [
    ["老年教育", "数字素养", "社区学习"],
    ["学分银行", "学习成果认证", "资历框架"],
    ["职业教育", "产教融合", "技能培训"],
    ["开放大学", "远程教育", "在线学习"],
    ["社区教育", "学习型城市", "治理"],
]


class ExpertProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExpertProfile
        django_get_or_create = ("user",)

    user = factory.SubFactory(UserFactory, username=factory.Sequence(lambda n: f"expert-{n}"), role=roles.EXPERT)
    disciplines = factory.Sequence(lambda n: [DISCIPLINES[n % len(DISCIPLINES)]])
    keywords = factory.Sequence(lambda n: KEYWORDS[n % len(KEYWORDS)])
    profile_text = factory.LazyAttribute(lambda p: "主持课题：" + "、".join(p.keywords) + "相关研究。")
    title = "教授"
    institution = factory.LazyAttribute(lambda p: p.user.institution)
    load_limit = 20


class ReviewRoundFactory(factory.django.DjangoModelFactory):
    """A round in ``draft``; pass ``state="open"`` to start it open (creation only)."""

    class Meta:
        model = ReviewRound

    call_class = factory.SubFactory(CallClassFactory)
    name = factory.LazyAttribute(lambda r: f"{r.call_class.call.year}年度{r.call_class.code}类立项评审")
    stage = "application"
    form = factory.LazyFunction(default_form)
    experts_per_proposal = 3
    load_limit = 20
    deadline = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=14))


class AssignmentFactory(factory.django.DjangoModelFactory):
    """An invitation; by default in an open round, for a proposal of the round's class."""

    class Meta:
        model = Assignment
        skip_postgeneration_save = True

    round = factory.SubFactory(ReviewRoundFactory, state="open")
    project = factory.LazyAttribute(
        lambda a: __import__("tests.factories", fromlist=["ProjectFactory"]).ProjectFactory(
            call_class=a.round.call_class, state="in_review"
        )
    )
    expert = factory.SubFactory(ExpertProfileFactory, user__institution=factory.SubFactory(InstitutionFactory, name="北京师范大学"))
    status = AssignmentStatus.INVITED
    invited_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def in_round(assignment, create, extracted, **kwargs):
        if create:
            assignment.round.projects.add(assignment.project)


class SignatureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeclarationSignature

    expert = factory.SubFactory(ExpertProfileFactory)
    round = factory.SubFactory(ReviewRoundFactory)
    text = "本人承诺对评审材料保密，并与所评课题无利益冲突。"
    signed_at = factory.LazyFunction(timezone.now)


class ReviewFactory(factory.django.DjangoModelFactory):
    """A submitted review with scores 8/8/8 (total 80); pass ``state="draft"`` for a draft."""

    class Meta:
        model = Review

    assignment = factory.SubFactory(AssignmentFactory, status=AssignmentStatus.ACCEPTED)
    state = "submitted"
    scores = factory.LazyFunction(lambda: {"topic": 8, "argument": 8, "foundation": 8})
    total = factory.LazyAttribute(
        lambda r: __import__("reviews.forms_schema", fromlist=["weighted_total"]).weighted_total(
            r.assignment.round.form, r.scores
        )
    )
    recommendation = "A"
    comments_to_applicant = "选题有价值，论证较充分。"
    comments_to_committee = "建议入围。"
    submitted_at = factory.LazyFunction(timezone.now)
