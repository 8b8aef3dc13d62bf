"""Calls, their classes and topics, projects with their members, change requests, the log.

Thin models: the life of each record is in ``workflow.py``, the rules in
``guards.py``, the one entry point for every step in ``services.py``.
"""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMFieldMixin
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from .rules import default_notice_days
from .workflow import (
    CallState,
    CallWorkflow,
    ChangeRequestWorkflow,
    ChangeState,
    CompletionState,
    CompletionWorkflow,
    ProjectState,
    ProjectWorkflow,
)

class ProtectedStateModel(models.Model):
    """Lets ``refresh_from_db`` reload a protected state field, safely across threads.

    django-fsm's own ``FSMModelMixin`` switches the field's ``protected`` flag off
    and on again, which is shared by every thread: a concurrent step then fails
    with "Direct state modification is not allowed". Forgetting the loaded value
    first lets the descriptor accept the reloaded one, touching nothing shared.
    """

    class Meta:
        abstract = True

    def refresh_from_db(self, using=None, fields=None, from_queryset=None):
        for field in self._meta.concrete_fields:
            if isinstance(field, FSMFieldMixin) and (fields is None or field.attname in fields):
                self.__dict__.pop(field.attname, None)
        super().refresh_from_db(using=using, fields=fields, from_queryset=from_queryset)


ARGUMENT_FIELDS = ("basis", "content", "approach", "innovation", "expected_outcomes", "foundation", "references")


class Call(CallWorkflow, ProtectedStateModel):
    """A yearly call for projects (课题指南 / 申报通知) with its application window."""

    year = models.PositiveSmallIntegerField(_("year"))
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("notice text"), blank=True)
    state = FSMField(_("state"), default=CallState.DRAFT, choices=CallState.choices, protected=True)
    opens_at = models.DateTimeField(_("opens at"))
    deadline = models.DateTimeField(_("deadline"))
    notice_days = models.PositiveSmallIntegerField(_("days of public notice"), default=default_notice_days)
    guide_document = models.FileField(_("guide document"), upload_to="calls/", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-year", "-opens_at"]
        verbose_name = _("call")
        verbose_name_plural = _("calls")

    def __str__(self):
        return self.title


class CallClass(models.Model):
    """A class of a call (A 学术性课题, B 专项课题, …) with its quota and review settings."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="classes", verbose_name=_("call"))
    code = models.CharField(_("code"), max_length=5, help_text=_("A, B, …"))
    name = models.CharField(_("name"), max_length=60)
    quota = models.PositiveIntegerField(_("quota"), default=0)
    experts_per_proposal = models.PositiveSmallIntegerField(_("experts per proposal"), default=3)
    duration_months = models.PositiveSmallIntegerField(_("duration in months"), default=24)
    funding = models.DecimalField(_("funding per project (yuan)"), max_digits=10, decimal_places=2, default=0)
    rules = models.JSONField(
        _("rule overrides"),
        default=dict,
        blank=True,
        help_text=_("Overrides of the association's default rules for this class, e.g. {\"TITLE_MAX_LENGTH\": 30}."),
    )

    class Meta:
        ordering = ["call", "code"]
        constraints = [models.UniqueConstraint(fields=["call", "code"], name="unique_class_per_call")]
        verbose_name = _("call class")
        verbose_name_plural = _("call classes")

    def __str__(self):
        return f"{self.code} {self.name}"


class GuideTopic(models.Model):
    """A topic of the call's guide (选题指南)."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="topics", verbose_name=_("call"))
    number = models.PositiveSmallIntegerField(_("number"))
    title = models.CharField(_("title"), max_length=200)
    call_class = models.ForeignKey(
        CallClass, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("class")
    )

    class Meta:
        ordering = ["call", "number"]
        constraints = [models.UniqueConstraint(fields=["call", "number"], name="unique_topic_number")]
        verbose_name = _("guide topic")
        verbose_name_plural = _("guide topics")

    def __str__(self):
        return f"{self.number}. {self.title}"


class ResearchType(models.TextChoices):
    BASIC = "basic", _("Basic research")  # 基础研究
    APPLIED = "applied", _("Applied research")  # 应用研究
    COMPREHENSIVE = "comprehensive", _("Comprehensive research")  # 综合研究


class Grade(models.TextChoices):
    EXCELLENT = "excellent", _("Excellent")  # 优秀
    GOOD = "good", _("Good")  # 良好
    PASS = "pass", _("Pass")  # 合格
    FAIL = "fail", _("Fail")  # 不合格


class ProjectQuerySet(models.QuerySet):
    def with_people(self):
        return self.select_related("call", "call_class", "pi", "institution")


class Project(ProjectWorkflow, ProtectedStateModel):
    """A proposal and the project it becomes: one record, one state machine."""

    call = models.ForeignKey(Call, on_delete=models.PROTECT, related_name="projects", verbose_name=_("call"))
    call_class = models.ForeignKey(CallClass, on_delete=models.PROTECT, related_name="projects", verbose_name=_("class"))
    guide_topic = models.ForeignKey(
        GuideTopic, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("guide topic")
    )
    title = models.CharField(_("title"), max_length=200)
    keywords = models.JSONField(_("keywords"), default=list, blank=True)
    research_type = models.CharField(
        _("research type"), max_length=20, choices=ResearchType.choices, default=ResearchType.APPLIED
    )
    discipline = models.CharField(_("discipline"), max_length=60, blank=True)
    planned_end_date = models.DateField(_("planned end date"), null=True, blank=True)
    is_free_topic = models.BooleanField(_("free topic"), default=False, help_text=_("Not one of the guide's topics (自选课题)."))
    output_form = models.CharField(_("form of the outputs"), max_length=200, blank=True)
    abstract = models.TextField(_("abstract"), blank=True)
    place_names = models.CharField(
        _("place names of the team"),
        max_length=300,
        blank=True,
        help_text=_("Cities, districts or regions that would reveal the team, separated by commas; "
                    "they must not appear in the anonymous part."),
    )
    pledge_accepted_at = models.DateTimeField(_("pledge accepted at"), null=True, blank=True)
    unsaved_input = models.JSONField(
        default=dict, blank=True, editable=False,
        help_text="Input of a form step that did not validate, kept so that nothing typed is lost.",
    )
    formal_checklist = models.JSONField(_("formal check"), default=dict, blank=True, editable=False)
    pi = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="led_projects", verbose_name=_("PI")
    )
    institution = models.ForeignKey(
        "accounts.Institution",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="projects",
        verbose_name=_("unit"),
    )
    state = FSMField(_("state"), default=ProjectState.DRAFT, choices=ProjectState.choices, protected=True, db_index=True)
    receipt_number = models.CharField(_("receipt number"), max_length=20, unique=True, null=True, blank=True, editable=False)
    number = models.CharField(_("project number"), max_length=30, unique=True, null=True, blank=True, editable=False)

    # The anonymous argument (活页), written without names.
    basis = models.TextField(_("rationale"), blank=True)  # 选题依据
    content = models.TextField(_("research content"), blank=True)  # 研究内容
    approach = models.TextField(_("approach and methods"), blank=True)  # 思路方法
    innovation = models.TextField(_("innovation"), blank=True)  # 创新之处
    expected_outcomes = models.TextField(_("expected outcomes"), blank=True)  # 预期成果
    foundation = models.TextField(_("research foundation"), blank=True)  # 研究基础
    references = models.TextField(_("references"), blank=True)  # 参考文献

    # Milestones written by the transitions.
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True, editable=False)
    endorsed_at = models.DateTimeField(_("endorsed at"), null=True, blank=True, editable=False)
    publicity_started_at = models.DateTimeField(_("notice started at"), null=True, blank=True, editable=False)
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True, editable=False)
    start_date = models.DateField(_("start date"), null=True, blank=True, editable=False)
    end_date = models.DateField(_("end date"), null=True, blank=True, editable=False)
    extension_count = models.PositiveSmallIntegerField(_("extensions"), default=0, editable=False)
    midterm_result = models.CharField(_("mid-term result"), max_length=10, blank=True, editable=False)
    rectification_deadline = models.DateField(_("rectification deadline"), null=True, blank=True, editable=False)
    completion_submitted_at = models.DateTimeField(_("completion submitted at"), null=True, blank=True, editable=False)
    appraisal_failures = models.PositiveSmallIntegerField(_("failed appraisals"), default=0, editable=False)
    grade = models.CharField(_("grade"), max_length=10, choices=Grade.choices, blank=True, editable=False)
    certificate_number = models.CharField(
        _("certificate number"), max_length=30, unique=True, null=True, blank=True, editable=False
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("manage_project", "Can run the secretariat's steps on projects"),
            ("decide_project", "Can take part in the committee's decisions"),
            ("endorse_project", "Can endorse the project for its unit"),
        ]
        indexes = [models.Index(fields=["pi", "state"])]
        constraints = [
            # The database's own guarantee of "one application per PI per call".
            models.UniqueConstraint(
                fields=["call", "pi"],
                condition=~models.Q(state__in=["draft", "withdrawn"]),
                name="one_application_per_pi_per_call",
            )
        ]
        verbose_name = _("project")
        verbose_name_plural = _("projects")

    def __str__(self):
        return self.number or self.receipt_number or self.title

    def argument_length(self):
        return sum(len(getattr(self, name) or "") for name in ARGUMENT_FIELDS)


class Member(models.Model):
    """A team member (课题组成员), listed with title, unit and task (分工)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="members", verbose_name=_("project"))
    name = models.CharField(_("full name"), max_length=50)
    title = models.CharField(_("professional title"), max_length=30, blank=True)
    unit = models.CharField(_("unit"), max_length=120, blank=True)
    task = models.CharField(_("task"), max_length=200, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="memberships",
        verbose_name=_("account"),
    )

    class Meta:
        ordering = ["project", "order", "pk"]
        verbose_name = _("member")
        verbose_name_plural = _("members")

    def __str__(self):
        return self.name


class BudgetCategory(models.TextChoices):
    MATERIALS = "materials", _("Materials and data")  # 资料费
    TRAVEL = "travel", _("Field research and travel")  # 调研差旅费
    MEETINGS = "meetings", _("Meetings")  # 会议费
    CONSULTING = "consulting", _("Expert consultation")  # 专家咨询费
    PUBLISHING = "publishing", _("Printing and publishing")  # 印刷出版费
    OTHER = "other", _("Other")  # 其他


class BudgetLine(models.Model):
    """One line of the application's budget (经费预算)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="budget_lines", verbose_name=_("project"))
    category = models.CharField(_("category"), max_length=20, choices=BudgetCategory.choices)
    amount = models.DecimalField(_("amount (yuan)"), max_digits=10, decimal_places=2)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["project", "pk"]
        verbose_name = _("budget line")
        verbose_name_plural = _("budget lines")

    def __str__(self):
        return f"{self.get_category_display()} {self.amount}"


class OutputKind(models.TextChoices):
    PAPER = "paper", _("Paper")  # 论文
    BOOK = "book", _("Book")  # 专著
    REPORT = "report", _("Research report")  # 研究报告
    ADVISORY = "advisory", _("Advisory report")  # 咨询报告
    OTHER = "other", _("Other")  # 其他


class PlannedOutput(models.Model):
    """An expected output (预期成果) with its form and planned date."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="planned_outputs", verbose_name=_("project"))
    kind = models.CharField(_("form"), max_length=20, choices=OutputKind.choices)
    title = models.CharField(_("title or description"), max_length=200)
    planned_date = models.DateField(_("planned date"), null=True, blank=True)

    class Meta:
        ordering = ["project", "pk"]
        verbose_name = _("planned output")
        verbose_name_plural = _("planned outputs")

    def __str__(self):
        return self.title


class AttachmentPart(models.TextChoices):
    ANONYMOUS = "anonymous", _("Anonymous part (活页), seen by experts")
    IDENTIFIED = "identified", _("Identified part (申请书), not seen by experts")


def attachment_path(instance, filename):
    """Stored under an unguessable name: the original name is kept in the row, not on disk."""
    import uuid

    return f"attachments/{instance.project_id}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    """An uploaded file of an application; anonymous-part files are cleaned on upload."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("project"))
    part = models.CharField(_("part"), max_length=20, choices=AttachmentPart.choices)
    file = models.FileField(_("file"), upload_to=attachment_path)
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveIntegerField(_("size in bytes"))
    sha256 = models.CharField(max_length=64)
    removed_metadata = models.JSONField(_("removed metadata"), default=list, blank=True)
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        ordering = ["project", "pk"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self):
        return self.original_name


class DocumentKind(models.TextChoices):
    APPLICATION = "application", _("Application form (申请书)")
    ANONYMOUS = "anonymous", _("Anonymous form (活页)")
    APPROVAL_LETTER = "approval_letter", _("Approval letter (立项通知书)")
    MIDTERM_FORM = "midterm_form", _("Mid-term check form (中期检查表)")
    APPRAISAL_OPINION = "appraisal_opinion", _("Appraisal opinion (结题鉴定意见表)")
    CERTIFICATE = "certificate", _("Completion certificate (结题证书)")


class ProjectDocument(models.Model):
    """A Word document built for a project (after submission, by a Celery task)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(max_length=20, choices=DocumentKind.choices)
    file = models.FileField(upload_to="documents/")
    built_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "kind"], name="one_document_per_kind")]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.project}"


class ChangeKind(models.TextChoices):
    EXTENSION = "extension", _("Extension")  # 延期
    MEMBERS = "members", _("Change of members")  # 变更成员
    PI = "pi", _("Change of PI")  # 变更负责人
    CONTENT = "content", _("Change of title or content")  # 变更题目或内容
    OUTPUT_FORM = "output_form", _("Change of output form")  # 变更成果形式
    TERMINATION = "termination", _("Voluntary termination")  # 自愿终止


class ChangeRequest(ChangeRequestWorkflow, ProtectedStateModel):
    """A request to change an active project (变更申请), endorsed by the unit, decided by the secretariat."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="change_requests", verbose_name=_("project"))
    kind = models.CharField(_("kind"), max_length=20, choices=ChangeKind.choices)
    state = FSMField(_("state"), default=ChangeState.PENDING, choices=ChangeState.choices, protected=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="change_requests", verbose_name=_("requested by")
    )
    explanation = models.TextField(_("explanation"))
    extension_months = models.PositiveSmallIntegerField(_("extension in months"), null=True, blank=True)
    new_title = models.CharField(_("new title"), max_length=200, blank=True)
    new_content = models.TextField(_("changed content"), blank=True)
    new_pi = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("new PI")
    )
    new_output_form = models.CharField(_("new output form"), max_length=200, blank=True)
    member_changes = models.JSONField(
        _("member changes"), default=dict, blank=True, help_text=_('{"add": [{"name", "title", "unit", "task"}], "remove": [member ids]}')
    )
    created_at = models.DateTimeField(_("requested at"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("change request")
        verbose_name_plural = _("change requests")

    def __str__(self):
        return f"{self.get_kind_display()} · {self.project}"


# ---- after approval: notice, kick-off, mid-term, completion ---------------------------------------


def upload_path(instance, filename):
    """Uploads live under the project's folder with a random name (the original name is kept apart)."""
    import uuid
    from pathlib import PurePath

    return f"projects/{instance.project_id}/{type(instance).__name__.lower()}/{uuid.uuid4().hex}{PurePath(filename).suffix.lower()}"


class ObjectionState(models.TextChoices):
    PENDING = "pending", _("Waiting for a decision")  # 待处理
    UPHELD = "upheld", _("Upheld")  # 异议成立
    DISMISSED = "dismissed", _("Dismissed")  # 异议不成立


class Objection(models.Model):
    """An objection to a project in public notice (公示异议), from anyone, decided by the secretariat."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="objections", verbose_name=_("project"))
    name = models.CharField(_("your name"), max_length=50)
    contact = models.CharField(_("phone or e-mail"), max_length=120)
    text = models.TextField(_("objection"))
    file = models.FileField(_("supporting file"), upload_to=upload_path, blank=True)
    file_name = models.CharField(max_length=200, blank=True, editable=False)
    submitted_at = models.DateTimeField(_("submitted at"))
    client_hash = models.CharField(max_length=64, blank=True, editable=False, help_text="Hash of the sender's address, for rate limits.")
    state = models.CharField(_("state"), max_length=20, choices=ObjectionState.choices, default=ObjectionState.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(_("reason of the decision"), blank=True)

    class Meta:
        ordering = ["-submitted_at"]
        verbose_name = _("objection")
        verbose_name_plural = _("objections")

    def __str__(self):
        return f"{self.project} · {self.name}"


class KickoffReport(models.Model):
    """The kick-off (开题) as the PI records it: date, experts present, the report."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="kickoff", verbose_name=_("project"))
    held_on = models.DateField(_("held on"))
    experts = models.TextField(_("experts present"), help_text=_("Names, titles and units of the experts, one per line."))
    report = models.TextField(_("kick-off report"))
    file = models.FileField(_("file"), upload_to=upload_path, blank=True)
    file_name = models.CharField(max_length=200, blank=True, editable=False)
    submitted_at = models.DateTimeField(_("recorded at"))
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("kick-off report")
        verbose_name_plural = _("kick-off reports")

    def __str__(self):
        return f"{self.project} · {self.held_on}"


class MidtermDecision(models.TextChoices):
    PASS = "pass", _("Pass")  # 合格
    FAIL = "fail", _("Fail, to be rectified")  # 不合格，限期整改
    TERMINATE = "terminate", _("Terminated")  # 终止


class MidtermReport(models.Model):
    """A mid-term report (中期报告); the secretariat's decision is recorded on it."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="midterm_reports", verbose_name=_("project"))
    progress = models.TextField(_("progress"))  # 研究进展
    outputs_so_far = models.TextField(_("outputs so far"), blank=True)  # 阶段性成果
    problems = models.TextField(_("problems"), blank=True)  # 存在问题
    plan = models.TextField(_("plan for the rest"))  # 下一步计划
    file = models.FileField(_("file"), upload_to=upload_path, blank=True)
    file_name = models.CharField(max_length=200, blank=True, editable=False)
    submitted_at = models.DateTimeField(_("submitted at"))
    decision = models.CharField(_("decision"), max_length=20, choices=MidtermDecision.choices, blank=True)
    decision_reason = models.TextField(_("reason of the decision"), blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["project", "-submitted_at"]
        verbose_name = _("mid-term report")
        verbose_name_plural = _("mid-term reports")

    def __str__(self):
        return f"{self.project} · {self.submitted_at:%Y-%m-%d}"


class CompletionReport(CompletionWorkflow, ProtectedStateModel):
    """The completion materials (结题材料) of one attempt; its small machine runs beside the project's.

    The project is in ``completion_review`` from submission to the appraisal;
    this record says where the materials are: with the unit, at the formal check,
    with the appraisal experts. After a 不合格 the PI revises and submits a new attempt.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="completion_reports", verbose_name=_("project"))
    attempt = models.PositiveSmallIntegerField(_("attempt"), default=1)
    state = FSMField(_("state"), default=CompletionState.SUBMITTED, choices=CompletionState.choices, protected=True)
    work_report = models.TextField(_("work report"))  # 工作报告 (identified)
    summary_report = models.TextField(_("summary report"))  # 成果报告/研究总报告摘要 (the anonymous copy the experts read)
    self_assessment = models.TextField(_("self-assessment"))  # 自我评价
    anonymous_file = models.FileField(_("anonymous copy of the main output"), upload_to=upload_path, blank=True)
    anonymous_file_name = models.CharField(max_length=200, blank=True, editable=False)
    submitted_at = models.DateTimeField(_("submitted at"))
    endorsed_at = models.DateTimeField(null=True, blank=True, editable=False)
    checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    grade = models.CharField(_("grade"), max_length=10, choices=Grade.choices, blank=True, editable=False)
    appraised_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["project", "-attempt"]
        constraints = [models.UniqueConstraint(fields=["project", "attempt"], name="one_completion_report_per_attempt")]
        verbose_name = _("completion report")
        verbose_name_plural = _("completion reports")

    def __str__(self):
        return f"{self.project} · {self.attempt}"


class OutputType(models.TextChoices):
    PAPER = "paper", _("Paper")  # 论文
    BOOK = "book", _("Book")  # 专著
    REPORT = "report", _("Research or advisory report")  # 研究报告 / 咨询报告
    AWARD = "award", _("Award")  # 获奖
    OTHER = "other", _("Other")  # 其他


class Output(models.Model):
    """An output of a project (成果) with its citation data; the archive lists them."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="outputs", verbose_name=_("project"))
    kind = models.CharField(_("type"), max_length=20, choices=OutputType.choices)
    title = models.CharField(_("title"), max_length=300)
    authors = models.CharField(_("authors"), max_length=300)
    venue = models.CharField(_("journal, publisher or adopting body"), max_length=200, blank=True)
    year = models.PositiveSmallIntegerField(_("year"), null=True, blank=True)
    volume_issue = models.CharField(_("volume and issue"), max_length=50, blank=True)
    pages = models.CharField(_("pages"), max_length=30, blank=True)
    identifier = models.CharField(_("ISBN, ISSN or DOI"), max_length=80, blank=True)
    award_level = models.CharField(_("award and level"), max_length=120, blank=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["project", "order", "pk"]
        verbose_name = _("output")
        verbose_name_plural = _("outputs")

    def __str__(self):
        return self.title


class WarningKind(models.TextChoices):
    KICKOFF_OVERDUE = "kickoff_overdue", _("Kick-off overdue")  # 开题逾期
    MIDTERM_OVERDUE = "midterm_overdue", _("Mid-term report overdue")  # 中期检查逾期
    END_PASSED = "end_passed", _("End date passed without completion")  # 逾期未结题


class SupervisionWarning(models.Model):
    """A warning sent to a PI by the sweeps (督办), once per project and kind."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="warnings")
    kind = models.CharField(max_length=30, choices=WarningKind.choices)
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "kind"], name="one_warning_per_kind")]


class TransitionLogQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("The transition log is append-only.")

    def delete(self):
        raise TypeError("The transition log is append-only.")


class TransitionLog(models.Model):
    """One row per transition of any machine (who, when, from, to, why): append-only."""

    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    object_id = models.PositiveBigIntegerField()
    subject = GenericForeignKey("content_type", "object_id")
    project = models.ForeignKey(
        Project, on_delete=models.PROTECT, null=True, blank=True, related_name="log", verbose_name=_("project")
    )
    transition = models.CharField(_("transition"), max_length=40)
    from_state = models.CharField(_("from"), max_length=30)
    to_state = models.CharField(_("to"), max_length=30)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("by")
    )
    reason = models.TextField(_("reason"), blank=True)
    at = models.DateTimeField(_("at"))

    objects = TransitionLogQuerySet.as_manager()

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["content_type", "object_id"])]
        verbose_name = _("transition log entry")
        verbose_name_plural = _("transition log")

    def __str__(self):
        return f"{self.transition}: {self.from_state} → {self.to_state}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("The transition log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("The transition log is append-only.")


class NumberSequence(models.Model):
    """The last number handed out per series (SB2023, CAEA2023A): numbers are never reused."""

    key = models.CharField(max_length=40, unique=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.key}: {self.last}"


class ProjectUserObjectPermission(UserObjectPermissionBase):
    """guardian's per-user rights on a project, with a real foreign key (indexable)."""

    content_object = models.ForeignKey(Project, on_delete=models.CASCADE)


class ProjectGroupObjectPermission(GroupObjectPermissionBase):
    """guardian's per-group rights on a project (a unit's administrators)."""

    content_object = models.ForeignKey(Project, on_delete=models.CASCADE)
