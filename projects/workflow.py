"""The life of a project, a call and a change request: the three state machines.

Each transition is a few lines: its source states, its target, its guards (in
``guards.py``), its permission (in ``access.py``) and its docstring with the
Chinese name of the step. Nothing here saves, logs or sends mail: the one entry
point ``services.perform`` does that around these methods, in one transaction.
Parameters a step needs (a grade, a deadline) arrive in ``ctx.params``.
"""

from dateutil.relativedelta import relativedelta
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, transition

from . import access
from . import guards as g
from .guards import context_of


class ProjectState(models.TextChoices):
    DRAFT = "draft", _("Draft")  # 草稿
    SUBMITTED = "submitted", _("Submitted")  # 已提交
    ENDORSED = "endorsed", _("Endorsed by the unit")  # 单位已推荐
    ELIGIBLE = "eligible", _("Passed the formal check")  # 形式审查通过
    INELIGIBLE = "ineligible", _("Not accepted")  # 不予受理
    IN_REVIEW = "in_review", _("In expert review")  # 专家评审中
    REVIEWED = "reviewed", _("Reviewed")  # 评审完成
    PUBLICITY = "publicity", _("In public notice")  # 立项公示
    NOT_APPROVED = "not_approved", _("Not approved")  # 未立项
    ACTIVE = "active", _("Under way")  # 在研
    MIDTERM_REVIEW = "midterm_review", _("Mid-term check")  # 中期检查
    COMPLETION_REVIEW = "completion_review", _("Completion appraisal")  # 结题鉴定
    COMPLETED = "completed", _("Completed")  # 已结题
    TERMINATED = "terminated", _("Terminated")  # 已终止
    REVOKED = "revoked", _("Revoked")  # 已撤项
    WITHDRAWN = "withdrawn", _("Withdrawn")  # 已撤回


S = ProjectState


class ProjectWorkflow:
    """Transitions of ``Project.state`` (mixed into the model)."""

    @transition(
        field="state",
        source=S.DRAFT,
        target=S.SUBMITTED,
        permission=access.is_pi,
        conditions=[
            g.call_is_open,
            g.one_application_per_call,
            g.pi_has_no_unfinished_project,
            g.pi_not_recently_revoked,
            g.pi_title_level,
            g.title_is_valid,
            g.keywords_are_valid,
            g.argument_within_limit,
            g.members_are_complete,
            g.application_is_complete,
            g.budget_within_funding,
            g.anonymous_part_is_anonymous,
            g.pledge_accepted,
        ],
    )
    def submit(self):
        """提交申报: the PI submits; a receipt number is given the first time."""
        from .numbers import receipt_number

        ctx = context_of(self)
        self.submitted_at = ctx.now
        self.institution_id = self.pi.institution_id
        if self.receipt_number is None:
            self.receipt_number = receipt_number(ctx.now)

    @transition(
        field="state",
        source=[S.DRAFT, S.SUBMITTED, S.ENDORSED],
        target=S.WITHDRAWN,
        permission=access.is_pi,
    )
    def withdraw(self):
        """撤回申报: the PI withdraws before the formal check."""

    @transition(
        field="state",
        source=S.SUBMITTED,
        target=S.DRAFT,
        permission=access.is_unit_admin_of,
        conditions=[g.reason_given],
    )
    def return_to_applicant(self):
        """单位退回: the unit returns the application to the applicant."""

    @transition(field="state", source=S.SUBMITTED, target=S.ENDORSED, permission=access.is_unit_admin_of)
    def endorse(self):
        """单位审核推荐: the unit endorses the application."""
        self.endorsed_at = context_of(self).now

    @transition(
        field="state",
        source=S.ENDORSED,
        target=S.DRAFT,
        permission=access.is_secretariat,
        conditions=[g.reason_given, g.before_deadline],
    )
    def return_for_revision(self):
        """退回修改: the formal check returns the application for revision before the deadline."""

    @transition(
        field="state",
        source=S.ENDORSED,
        target=S.ELIGIBLE,
        permission=access.is_secretariat,
        conditions=[g.anonymous_part_is_anonymous],
    )
    def pass_formal_check(self):
        """形式审查通过: the identity scan of the anonymous part runs again."""

    @transition(
        field="state",
        source=S.ENDORSED,
        target=S.INELIGIBLE,
        permission=access.is_secretariat,
        conditions=[g.reason_given],
    )
    def reject_formal(self):
        """不予受理: the formal check rejects the application, with its reason."""

    @transition(field="state", source=S.ELIGIBLE, target=S.IN_REVIEW, permission=access.is_secretariat)
    def start_review(self):
        """进入通讯评审: the application goes to the experts."""

    @transition(field="state", source=S.IN_REVIEW, target=S.REVIEWED, permission=access.is_secretariat)
    def close_review(self):
        """评审结束: the review round is closed and its scores aggregated."""

    @transition(field="state", source=S.REVIEWED, target=S.PUBLICITY, permission=access.is_secretariat)
    def approve(self):
        """拟立项: the committee's approval is released and the public notice starts."""
        self.publicity_started_at = context_of(self).now

    @transition(field="state", source=S.REVIEWED, target=S.NOT_APPROVED, permission=access.is_secretariat)
    def decline(self):
        """不予立项: the committee did not approve the application."""

    @transition(
        field="state",
        source=S.PUBLICITY,
        target=S.NOT_APPROVED,
        permission=access.is_secretariat,
        conditions=[g.reason_given],
    )
    def drop(self):
        """公示异议成立: an upheld objection drops the project from the notice."""

    @transition(
        field="state",
        source=S.PUBLICITY,
        target=S.ACTIVE,
        permission=access.is_secretariat,
        conditions=[g.notice_period_over],
    )
    def confirm(self):
        """正式立项: after the notice the project gets its number and its period."""
        from .numbers import project_number

        self.number = project_number(self)
        today = timezone.localdate(context_of(self).now)
        self.approved_at = context_of(self).now
        self.start_date = today
        self.end_date = self.planned_end_date or today + relativedelta(months=self.call_class.duration_months)

    @transition(field="state", source=S.ACTIVE, target=S.MIDTERM_REVIEW, permission=access.is_pi)
    def submit_midterm(self):
        """提交中期报告: the PI submits the mid-term report."""

    @transition(field="state", source=S.MIDTERM_REVIEW, target=S.ACTIVE, permission=access.is_secretariat)
    def pass_midterm(self):
        """中期检查合格."""
        self.midterm_result = "pass"
        self.rectification_deadline = None

    @transition(
        field="state",
        source=S.MIDTERM_REVIEW,
        target=S.ACTIVE,
        permission=access.is_secretariat,
        conditions=[g.reason_given],
    )
    def fail_midterm(self):
        """中期检查不合格: the project goes back to work with a rectification deadline."""
        from .rules import rule

        ctx = context_of(self)
        self.midterm_result = "fail"
        self.rectification_deadline = ctx.params.get("rectification_deadline") or (
            timezone.localdate(ctx.now) + relativedelta(months=rule("RECTIFICATION_MONTHS", self.call_class))
        )

    @transition(
        field="state",
        source=S.ACTIVE,
        target=S.COMPLETION_REVIEW,
        permission=access.is_pi,
        conditions=[g.completion_within_period],
    )
    def submit_completion(self):
        """申请结题: the PI submits the completion materials."""
        self.completion_submitted_at = context_of(self).now

    @transition(
        field="state",
        source=S.COMPLETION_REVIEW,
        target=RETURN_VALUE(S.COMPLETED, S.ACTIVE, S.REVOKED),
        permission=access.is_secretariat,
        conditions=[g.grade_given],
    )
    def appraise(self):
        """结题鉴定: a pass grade completes; 不合格 sends it back once, a second 不合格 revokes."""
        from .rules import rule

        ctx = context_of(self)
        grade = ctx.params["grade"]
        if grade != "fail":
            self.grade = grade
            self.closed_at = ctx.now
            return S.COMPLETED
        self.appraisal_failures += 1
        if self.appraisal_failures >= rule("APPRAISAL_MAX_FAILURES", self.call_class):
            self.grade = grade
            self.revoked_at = self.closed_at = ctx.now
            return S.REVOKED
        return S.ACTIVE

    @transition(
        field="state",
        source=[S.ACTIVE, S.MIDTERM_REVIEW],
        target=S.TERMINATED,
        permission=access.is_secretariat,
        conditions=[g.reason_given],
    )
    def terminate(self):
        """终止: the secretariat ends the project (missed end date, failed mid-term, voluntary)."""
        self.closed_at = context_of(self).now

    @transition(
        field="state",
        source=S.ACTIVE,
        target=S.REVOKED,
        permission=access.is_secretariat,
        conditions=[g.reason_given],
    )
    def revoke_project(self):
        """撤项: the project is revoked (misconduct, a PI who cannot continue)."""
        self.revoked_at = self.closed_at = context_of(self).now


class CallState(models.TextChoices):
    DRAFT = "draft", _("Draft")  # 草稿
    PUBLISHED = "published", _("Published")  # 已发布
    CLOSED = "closed", _("Closed")  # 已截止
    REVIEWING = "reviewing", _("Reviewing")  # 评审中
    DECIDED = "decided", _("Decided")  # 已立项
    ARCHIVED = "archived", _("Archived")  # 已归档


class CallWorkflow:
    """Transitions of ``Call.state`` (课题指南 / 申报通知)."""

    @transition(
        field="state",
        source=CallState.DRAFT,
        target=CallState.PUBLISHED,
        permission=access.is_secretariat,
        conditions=[g.call_is_complete],
    )
    def publish(self):
        """发布申报通知."""

    @transition(
        field="state",
        source=CallState.PUBLISHED,
        target=CallState.CLOSED,
        permission=access.is_secretariat,
        conditions=[g.deadline_passed],
    )
    def close(self):
        """申报截止."""

    @transition(field="state", source=CallState.CLOSED, target=CallState.REVIEWING, permission=access.is_secretariat)
    def start_reviewing(self):
        """进入评审."""

    @transition(field="state", source=CallState.REVIEWING, target=CallState.DECIDED, permission=access.is_secretariat)
    def decide(self):
        """立项决定."""

    @transition(field="state", source=CallState.DECIDED, target=CallState.ARCHIVED, permission=access.is_secretariat)
    def archive(self):
        """归档."""


class ChangeState(models.TextChoices):
    PENDING = "pending", _("Waiting for the unit")  # 待单位审核
    ENDORSED = "endorsed", _("Waiting for the secretariat")  # 待秘书处审批
    APPROVED = "approved", _("Approved")  # 已批准
    REJECTED = "rejected", _("Rejected")  # 未批准
    WITHDRAWN = "withdrawn", _("Withdrawn")  # 已撤回


CHANGE_RULES = [
    g.project_is_running,
    g.change_has_content,
    g.extension_is_allowed,
    g.member_change_is_allowed,
    g.new_title_is_valid,
]


class ChangeRequestWorkflow:
    """Transitions of ``ChangeRequest.state`` (变更申请); ``services.apply_change`` applies approvals."""

    @transition(
        field="state",
        source=ChangeState.PENDING,
        target=ChangeState.ENDORSED,
        permission=access.is_unit_admin_of_change,
        conditions=CHANGE_RULES,
    )
    def endorse(self):
        """单位审核同意."""

    @transition(
        field="state",
        source=ChangeState.ENDORSED,
        target=ChangeState.APPROVED,
        permission=access.is_secretariat,
        conditions=CHANGE_RULES,
    )
    def approve(self):
        """秘书处批准: the change is applied to the project in the same transaction."""
        self.decided_at = context_of(self).now

    @transition(
        field="state",
        source=[ChangeState.PENDING, ChangeState.ENDORSED],
        target=ChangeState.REJECTED,
        permission=access.may_reject_change,
        conditions=[g.reason_given],
    )
    def reject(self):
        """不同意变更."""
        self.decided_at = context_of(self).now

    @transition(
        field="state",
        source=ChangeState.PENDING,
        target=ChangeState.WITHDRAWN,
        permission=access.is_change_requester,
    )
    def withdraw(self):
        """申请人撤回变更申请."""


class CompletionState(models.TextChoices):
    SUBMITTED = "submitted", _("Waiting for the unit")  # 待单位审核
    ENDORSED = "endorsed", _("Waiting for the formal check")  # 待形式审查
    RETURNED = "returned", _("Returned for correction")  # 退回修改
    ACCEPTED = "accepted", _("In appraisal")  # 鉴定中
    APPRAISED = "appraised", _("Appraised")  # 已鉴定


class CompletionWorkflow:
    """Transitions of ``CompletionReport.state``: the completion materials' way to the appraisal (结题).

    The project itself moves only twice: ``submit_completion`` when the PI hands the
    materials in, and ``appraise`` when the appraisal is recorded (``record_appraisal``
    here runs it in the same transaction, see ``completion.py``).
    """

    @transition(
        field="state",
        source=CompletionState.SUBMITTED,
        target=CompletionState.ENDORSED,
        permission=access.is_unit_admin_of_report,
    )
    def endorse_completion(self):
        """单位审核同意结题."""
        self.endorsed_at = context_of(self).now

    @transition(
        field="state",
        source=[CompletionState.SUBMITTED, CompletionState.ENDORSED],
        target=CompletionState.RETURNED,
        permission=access.may_return_report,
        conditions=[g.reason_given],
    )
    def return_completion(self):
        """退回修改: the unit or the formal check sends the materials back to the PI."""

    @transition(
        field="state",
        source=CompletionState.RETURNED,
        target=CompletionState.SUBMITTED,
        permission=access.is_pi_of_report,
        conditions=[g.completion_is_complete],
    )
    def resubmit_completion(self):
        """重新提交结题材料."""
        self.submitted_at = context_of(self).now

    @transition(
        field="state",
        source=CompletionState.ENDORSED,
        target=CompletionState.ACCEPTED,
        permission=access.is_secretariat,
        conditions=[g.completion_is_complete, g.anonymous_copy_is_anonymous],
    )
    def accept_completion(self):
        """形式审查通过: the materials, with an anonymous copy free of names, go to the appraisal."""
        self.checked_at = context_of(self).now

    @transition(
        field="state",
        source=CompletionState.ACCEPTED,
        target=CompletionState.APPRAISED,
        permission=access.is_secretariat,
        conditions=[g.grade_given],
    )
    def record_appraisal(self):
        """鉴定结论: the panel's grade is recorded on the materials (and the project is appraised)."""
        ctx = context_of(self)
        self.grade = ctx.params["grade"]
        self.appraised_at = ctx.now


STEP_LABELS = {
    "submit": _("Submit"),  # 提交申报
    "withdraw": _("Withdraw"),  # 撤回
    "return_to_applicant": _("Return to the applicant"),  # 退回申请人
    "endorse": _("Endorse"),  # 审核推荐
    "return_for_revision": _("Return for revision"),  # 退回修改
    "pass_formal_check": _("Pass the formal check"),  # 形式审查通过
    "reject_formal": _("Reject (not accepted)"),  # 不予受理
    "start_review": _("Send to expert review"),  # 进入专家评审
    "close_review": _("Close the review"),  # 结束评审
    "approve": _("Approve"),  # 批准 / 拟立项
    "decline": _("Decline"),  # 不予立项
    "drop": _("Drop after an objection"),  # 异议成立，取消立项
    "confirm": _("Confirm and number"),  # 正式立项
    "submit_midterm": _("Submit the mid-term report"),  # 提交中期报告
    "pass_midterm": _("Mid-term check passed"),  # 中期检查合格
    "fail_midterm": _("Mid-term check failed"),  # 中期检查不合格
    "submit_completion": _("Apply for completion"),  # 申请结题
    "appraise": _("Record the appraisal"),  # 结题鉴定
    "terminate": _("Terminate"),  # 终止
    "revoke_project": _("Revoke"),  # 撤项
    "publish": _("Publish"),  # 发布
    "close": _("Close applications"),  # 截止申报
    "start_reviewing": _("Start the review"),  # 进入评审
    "decide": _("Record the decision"),  # 立项决定
    "archive": _("Archive"),  # 归档
    "reject": _("Reject"),  # 不同意
    "request": _("Request"),  # 提出申请
    "endorse_completion": _("Endorse the completion"),  # 单位审核同意结题
    "return_completion": _("Return for correction"),  # 退回修改
    "resubmit_completion": _("Submit again"),  # 重新提交
    "accept_completion": _("Pass the formal check"),  # 形式审查通过
    "record_appraisal": _("Record the appraisal"),  # 鉴定结论
}
