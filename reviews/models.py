"""Expert pool, conflicts (回避), review rounds, assignments, reviews and reminders.

Thin models: the life of a round and of a review is in ``workflow.py``; the rules
live in plain modules beside them (``conflicts``, ``affinity``, ``rounds``,
``services``, ``aggregation``, ``reminders``). Experts never receive a
``Project``: they reach a proposal only through an ``Assignment``'s opaque token
and see it as a ``projects.blind.BlindDossier``.
"""

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_fsm import FSMField

from projects.models import ProtectedStateModel

from .forms_schema import default_form
from .workflow import MeetingState, MeetingWorkflow, ReviewState, ReviewWorkflow, RoundState, RoundWorkflow


class Stage(models.TextChoices):
    APPLICATION = "application", _("Application review")  # 立项评审
    MIDTERM = "midterm", _("Mid-term review")  # 中期检查
    COMPLETION = "completion", pgettext_lazy("review stage", "Completion appraisal")  # 结题鉴定


class ExpertProfileQuerySet(models.QuerySet):
    def active(self):
        return self.filter(active=True, user__is_active=True)


class ExpertProfile(models.Model):
    """An expert of the pool (专家库): what the assigner matches and the 回避 rules read."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="expert_profile", verbose_name=_("account")
    )
    disciplines = models.JSONField(_("disciplines"), default=list, blank=True)
    keywords = models.JSONField(_("research keywords"), default=list, blank=True)
    profile_text = models.TextField(
        _("publications and projects"), blank=True, help_text=_("Main publications and projects, one per line.")
    )
    title = models.CharField(_("professional title"), max_length=30, blank=True)
    institution = models.ForeignKey(
        "accounts.Institution",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="experts",
        verbose_name=_("unit"),
    )
    unit_name = models.CharField(
        _("unit as written"), max_length=120, blank=True,
        help_text=_("The unit as the expert writes it, when it is not one of the registered units."),
    )
    load_limit = models.PositiveSmallIntegerField(_("most proposals per round"), default=20)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ExpertProfileQuerySet.as_manager()

    class Meta:
        ordering = ["user__real_name", "pk"]
        verbose_name = _("expert profile")
        verbose_name_plural = _("expert profiles")

    def __str__(self):
        return self.user.display_name

    @property
    def unit_label(self):
        """The expert's unit as a name: the registered unit, else the text written."""
        return self.institution.name if self.institution_id else self.unit_name


class DeclarationKind(models.TextChoices):
    RELATIVE = "relative", _("Relative")  # 亲属关系
    SUPERVISOR = "supervisor", _("Supervisor and student")  # 师生关系
    COLLABORATOR = "collaborator", _("Close collaborator")  # 密切合作
    OTHER = "other", _("Other")  # 其他


class ExpertDeclaration(models.Model):
    """A conflict the expert declares (专家自行申报的回避).

    Either about a person (by name, and unit when known), which conflicts the
    expert with every proposal that person leads or is a member of, or about one
    proposal found while reading its dossier (``assignment`` set; the expert does
    not learn whose it is).
    """

    expert = models.ForeignKey(ExpertProfile, on_delete=models.CASCADE, related_name="declarations", verbose_name=_("expert"))
    kind = models.CharField(_("relation"), max_length=20, choices=DeclarationKind.choices)
    person_name = models.CharField(_("person"), max_length=50, blank=True)
    person_unit = models.CharField(_("unit of the person"), max_length=120, blank=True)
    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("proposal")
    )
    text = models.TextField(_("explanation"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("declared conflict")
        verbose_name_plural = _("declared conflicts")

    def __str__(self):
        return f"{self.expert} – {self.get_kind_display()}"


class AvoidRequestState(models.TextChoices):
    PENDING = "pending", _("Waiting for the secretariat")
    CONFIRMED = "confirmed", _("Confirmed")
    REJECTED = "rejected", _("Not accepted")


class AvoidRequest(models.Model):
    """An expert the applicant asks to exclude (申请回避的专家), at most 3; the secretariat decides."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="avoid_requests", verbose_name=_("project"))
    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices, default=Stage.APPLICATION)
    name = models.CharField(_("expert's name"), max_length=50)
    unit = models.CharField(_("expert's unit"), max_length=120, blank=True)
    reason = models.TextField(_("reason"))
    state = models.CharField(_("state"), max_length=20, choices=AvoidRequestState.choices, default=AvoidRequestState.PENDING)
    expert = models.ForeignKey(
        ExpertProfile, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("matched expert")
    )
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(_("reason of the decision"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "pk"]
        verbose_name = _("request to exclude an expert")
        verbose_name_plural = _("requests to exclude experts")

    def __str__(self):
        return self.name


class ConflictReason(models.TextChoices):
    TEAM = "team", _("PI or member of the proposal")  # 课题负责人或成员
    SAME_UNIT = "same_unit", _("Same unit as the PI or a member")  # 同单位
    NAMED_BY_APPLICANT = "named", _("Named by the applicant for exclusion")  # 申请人申请回避
    DECLARED = "declared", _("Declared by the expert")  # 专家申报
    SHARED_PROJECT = "shared_project", _("Shared a project in recent years")  # 近年合作课题


class ConflictStatus(models.TextChoices):
    CERTAIN = "certain", _("Conflict")  # 确定回避
    POTENTIAL = "potential", _("Possible conflict, to be decided")  # 疑似回避
    CONFIRMED = "confirmed", _("Confirmed by the secretariat")
    DISMISSED = "dismissed", _("Dismissed by the secretariat")


BLOCKING_STATUSES = (ConflictStatus.CERTAIN, ConflictStatus.POTENTIAL, ConflictStatus.CONFIRMED)


class ConflictQuerySet(models.QuerySet):
    def blocking(self):
        """Pairs that may not be assigned: certain, confirmed, and potential ones not yet
        decided (an undecided doubt never lets an expert through)."""
        return self.filter(status__in=BLOCKING_STATUSES)


class Conflict(models.Model):
    """One reason why an expert may not review a proposal, as the rules found it.

    Rows are kept in step with the data by ``conflicts.refresh_conflicts``; a
    potential conflict's decision (confirm or dismiss, with a reason) is taken
    once and survives every later check, keyed by ``(project, expert, reason, detail)``.
    """

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="conflicts", verbose_name=_("proposal"))
    expert = models.ForeignKey(ExpertProfile, on_delete=models.CASCADE, related_name="conflicts", verbose_name=_("expert"))
    reason = models.CharField(_("reason"), max_length=20, choices=ConflictReason.choices)
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=ConflictStatus.choices, default=ConflictStatus.CERTAIN)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(_("reason of the decision"), blank=True)
    found_at = models.DateTimeField(auto_now_add=True)

    objects = ConflictQuerySet.as_manager()

    class Meta:
        ordering = ["project", "expert", "reason"]
        constraints = [
            models.UniqueConstraint(fields=["project", "expert", "reason", "detail"], name="one_conflict_per_finding")
        ]
        indexes = [models.Index(fields=["status"])]
        verbose_name = _("conflict of interest")
        verbose_name_plural = _("conflicts of interest")

    def __str__(self):
        return f"{self.expert} / {self.project_id}: {self.get_reason_display()}"


class ReviewRound(RoundWorkflow, ProtectedStateModel):
    """A round of expert review (通讯评审) for one class of a call and one stage."""

    call_class = models.ForeignKey(
        "projects.CallClass", on_delete=models.PROTECT, related_name="review_rounds", verbose_name=_("class")
    )
    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices, default=Stage.APPLICATION)
    name = models.CharField(_("name"), max_length=120)
    state = FSMField(_("state"), default=RoundState.DRAFT, choices=RoundState.choices, protected=True)
    form = models.JSONField(
        _("review form"), default=default_form,
        help_text=_("Weighted criteria with their scale, recommendation options and text fields."),
    )
    experts_per_proposal = models.PositiveSmallIntegerField(_("experts per proposal (k)"), default=3)
    load_limit = models.PositiveSmallIntegerField(_("most proposals per expert (m)"), default=20)
    deadline = models.DateTimeField(_("deadline for reviews"))
    answer_within_days = models.PositiveSmallIntegerField(_("days to answer the invitation"), default=3)
    experts_see_each_other = models.BooleanField(_("experts see each other's reviews"), default=False)
    projects = models.ManyToManyField("projects.Project", related_name="review_rounds", blank=True, verbose_name=_("proposals"))
    opened_at = models.DateTimeField(null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("review round")
        verbose_name_plural = _("review rounds")

    def __str__(self):
        return self.name


class AssignmentRun(models.Model):
    """One run of the assigner, stored with its inputs, parameters and result.

    ``before`` holds the round's pairs as they were, so that the run can be undone;
    ``result`` the pairs it chose with their affinity parts and the solver's figures.
    """

    round = models.ForeignKey(ReviewRound, on_delete=models.CASCADE, related_name="runs", verbose_name=_("round"))
    number = models.PositiveIntegerField(_("run"))
    parameters = models.JSONField(default=dict)
    inputs = models.JSONField(default=dict)
    result = models.JSONField(default=dict)
    before = models.JSONField(default=list)
    total_affinity = models.FloatField(_("total affinity"), default=0)
    feasible = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["round", "-number"]
        constraints = [models.UniqueConstraint(fields=["round", "number"], name="unique_run_number")]
        verbose_name = _("assignment run")
        verbose_name_plural = _("assignment runs")

    def __str__(self):
        return f"{self.round} #{self.number}"


class AssignmentStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")  # 拟分配 (not yet sent)
    INVITED = "invited", _("Invited")  # 已邀请
    ACCEPTED = "accepted", _("Accepted")  # 已接受
    DECLINED = "declined", _("Declined")  # 已谢绝
    REMOVED = "removed", _("Removed")  # 已撤销


class AssignmentSource(models.TextChoices):
    SOLVER = "solver", _("Assigner")
    MANUAL = "manual", _("By hand")
    REPLACEMENT = "replacement", _("Replacement")


# An expert reaches the dossier and the review only in these states.
OPEN_TO_EXPERT = (AssignmentStatus.INVITED, AssignmentStatus.ACCEPTED)


def new_token():
    """An unguessable handle for one assignment (192 random bits)."""
    return secrets.token_urlsafe(24)


class AssignmentQuerySet(models.QuerySet):
    def current(self):
        """Pairs that count for the round: neither declined nor removed."""
        return self.filter(status__in=(AssignmentStatus.PROPOSED, *OPEN_TO_EXPERT))

    def open_to_expert(self):
        return self.filter(status__in=OPEN_TO_EXPERT, round__state__in=(RoundState.OPEN, RoundState.CLOSED))


class Assignment(models.Model):
    """An expert asked to review one proposal in one round (评审任务)."""

    round = models.ForeignKey(ReviewRound, on_delete=models.CASCADE, related_name="assignments", verbose_name=_("round"))
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="assignments", verbose_name=_("proposal"))
    expert = models.ForeignKey(ExpertProfile, on_delete=models.PROTECT, related_name="assignments", verbose_name=_("expert"))
    token = models.CharField(max_length=40, unique=True, default=new_token, editable=False)
    status = models.CharField(_("status"), max_length=20, choices=AssignmentStatus.choices, default=AssignmentStatus.PROPOSED)
    source = models.CharField(_("source"), max_length=20, choices=AssignmentSource.choices, default=AssignmentSource.SOLVER)
    locked = models.BooleanField(_("locked"), default=False, help_text=_("Kept when the assigner runs again."))
    affinity = models.FloatField(_("affinity"), default=0)
    affinity_parts = models.JSONField(_("affinity parts"), default=dict, blank=True)
    alias_number = models.PositiveSmallIntegerField(
        _("alias"), null=True, blank=True, editable=False,
        help_text="N of the alias 专家N under which the committee sees this review; fixed once given.",
    )
    run = models.ForeignKey(AssignmentRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="assignments")
    replaces = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    invited_at = models.DateTimeField(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    decline_reason = models.TextField(_("reason for declining"), blank=True)
    deadline = models.DateTimeField(
        _("own deadline"), null=True, blank=True, help_text=_("An extension for this expert; empty: the round's deadline.")
    )
    removed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["round", "project", "alias_number", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["round", "project", "expert"],
                condition=models.Q(status__in=["proposed", "invited", "accepted"]),
                name="one_current_assignment_per_pair",
            )
        ]
        indexes = [models.Index(fields=["expert", "status"])]
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")

    def __str__(self):
        return f"{self.round} / {self.project_id} / {self.expert}"

    @property
    def effective_deadline(self):
        return self.deadline or self.round.deadline

    @property
    def alias(self):
        return f"专家{self.alias_number}" if self.alias_number else ""


class DeclarationSignature(models.Model):
    """The confidentiality and no-conflict declaration (保密与回避承诺), signed once per round."""

    expert = models.ForeignKey(ExpertProfile, on_delete=models.CASCADE, related_name="signatures")
    round = models.ForeignKey(ReviewRound, on_delete=models.CASCADE, related_name="signatures")
    text = models.TextField(help_text="The text as signed.")
    signed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["expert", "round"], name="one_signature_per_round")]
        verbose_name = _("signed declaration")
        verbose_name_plural = _("signed declarations")


class Review(ReviewWorkflow, ProtectedStateModel):
    """An expert's review of one proposal (评审意见): scores per criterion, total, recommendation."""

    assignment = models.OneToOneField(Assignment, on_delete=models.CASCADE, related_name="review")
    state = FSMField(default=ReviewState.DRAFT, choices=ReviewState.choices, protected=True)
    scores = models.JSONField(_("scores"), default=dict, blank=True)
    total = models.DecimalField(_("weighted total"), max_digits=7, decimal_places=2, null=True, blank=True)
    recommendation = models.CharField(_("recommendation"), max_length=20, blank=True)
    comments_to_applicant = models.TextField(_("comments to the applicant"), blank=True)
    comments_to_committee = models.TextField(_("confidential comments to the committee"), blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True, editable=False)
    reopened_at = models.DateTimeField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("review")
        verbose_name_plural = _("reviews")

    def __str__(self):
        return f"{self.assignment} ({self.state})"


class ReminderKind(models.TextChoices):
    INVITATION = "invitation", _("Invitation not answered")
    REVIEW_DUE = "review_due", _("Review due soon")
    REVIEW_OVERDUE = "review_overdue", _("Review overdue")


class Reminder(models.Model):
    """A reminder mail sent to an expert (at most one a day per expert)."""

    expert = models.ForeignKey(ExpertProfile, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=20, choices=ReminderKind.choices)
    assignments = models.ManyToManyField(Assignment, related_name="reminders")
    day = models.DateField(help_text="Local (Asia/Shanghai) date of sending.")
    sent_at = models.DateTimeField()

    class Meta:
        ordering = ["-sent_at"]
        constraints = [models.UniqueConstraint(fields=["expert", "day"], name="one_reminder_per_expert_per_day")]


# ---- the committee meeting (会议评审) --------------------------------------------------------


class Meeting(MeetingWorkflow, ProtectedStateModel):
    """A meeting of the academic committee that votes on a call's ranked proposals."""

    call = models.ForeignKey("projects.Call", on_delete=models.PROTECT, related_name="meetings", verbose_name=_("call"))
    held_on = models.DateTimeField(_("held on"))
    place = models.CharField(_("place"), max_length=120, blank=True)
    present = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="meetings_attended", verbose_name=_("members present"))
    state = FSMField(_("state"), default=MeetingState.VOTING, choices=MeetingState.choices, protected=True)
    released_at = models.DateTimeField(_("decisions released at"), null=True, blank=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-held_on"]
        verbose_name = _("committee meeting")
        verbose_name_plural = _("committee meetings")

    def __str__(self):
        return f"{self.call} · {self.held_on:%Y-%m-%d}"


class VoteChoice(models.TextChoices):
    APPROVE = "approve", pgettext_lazy("vote", "Approve")  # 同意
    REJECT = "reject", _("Reject")  # 不同意
    ABSTAIN = "abstain", _("Abstain")  # 弃权


class Vote(models.Model):
    """One member's vote on one shortlisted proposal at a meeting (secret from the applicants)."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="votes")
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    choice = models.CharField(_("vote"), max_length=10, choices=VoteChoice.choices)
    cast_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["meeting", "project", "member"], name="one_vote_per_member")]
        verbose_name = _("vote")
        verbose_name_plural = _("votes")


class DecisionOutcome(models.TextChoices):
    APPROVE = "approve", pgettext_lazy("decision", "Approve")  # 拟立项
    DECLINE = "decline", _("Decline")  # 不予立项


class StagedDecision(models.Model):
    """A decision the secretariat has staged for release; nobody is told before ``Meeting.release``."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="decisions")
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="staged_decisions")
    outcome = models.CharField(_("decision"), max_length=10, choices=DecisionOutcome.choices)
    note = models.TextField(_("note to the applicant"), blank=True)
    staged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    staged_at = models.DateTimeField()
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["meeting", "project"], name="one_decision_per_project")]
        verbose_name = _("staged decision")
        verbose_name_plural = _("staged decisions")
