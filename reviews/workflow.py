"""The life of a review round and of a review: two small state machines.

As in ``projects.workflow``, each transition is a few lines (source, target,
guards, permission, the Chinese name of the step); ``projects.services.perform``
runs them, in one transaction with a log row. What happens to the proposals and
the assignments when a round opens or closes is in ``rounds.py``, which calls
``perform`` on the round and on each project.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_fsm import transition

from projects.guards import context_of

from . import access
from . import guards as g


class RoundState(models.TextChoices):
    DRAFT = "draft", _("Being prepared")  # 准备中: proposals, conflicts, assignment
    OPEN = "open", _("Open")  # 评审中: invitations sent, reviews coming in
    CLOSED = "closed", pgettext_lazy("review round", "Closed")  # 已结束: scores aggregated


class RoundWorkflow:
    """Transitions of ``ReviewRound.state``."""

    @transition(
        field="state",
        source=RoundState.DRAFT,
        target=RoundState.OPEN,
        permission=access.is_secretariat,
        conditions=[g.round_has_proposals, g.no_undecided_conflicts, g.no_conflicted_assignment,
                    g.every_proposal_covered, g.deadline_ahead],
    )
    def open_round(self):
        """发出评审邀请: the round opens and the invitations go out."""
        self.opened_at = context_of(self).now

    @transition(field="state", source=RoundState.OPEN, target=RoundState.CLOSED, permission=access.is_secretariat)
    def close_round(self):
        """结束评审: no more reviews are taken; the scores are aggregated."""
        self.closed_at = context_of(self).now

    @transition(field="state", source=RoundState.CLOSED, target=RoundState.OPEN, permission=access.is_secretariat,
                conditions=[g.reason_given])
    def reopen_round(self):
        """重新开放评审."""
        self.closed_at = None


class ReviewState(models.TextChoices):
    DRAFT = "draft", _("Draft")  # 草稿
    SUBMITTED = "submitted", _("Submitted")  # 已提交


class ReviewWorkflow:
    """Transitions of ``Review.state``: the expert submits, the secretariat may reopen."""

    @transition(
        field="state",
        source=ReviewState.DRAFT,
        target=ReviewState.SUBMITTED,
        permission=access.is_reviewer,
        conditions=[g.round_is_open, g.declaration_signed, g.scores_complete, g.recommendation_chosen,
                    g.comments_to_applicant_written],
    )
    def submit(self):
        """提交评审意见."""
        self.submitted_at = context_of(self).now

    @transition(
        field="state",
        source=ReviewState.SUBMITTED,
        target=ReviewState.DRAFT,
        permission=access.is_secretariat,
        conditions=[g.round_is_open, g.reason_given],
    )
    def reopen(self):
        """退回修改: the secretariat reopens a submitted review for the expert."""
        self.reopened_at = context_of(self).now


class MeetingState(models.TextChoices):
    VOTING = "voting", _("Voting")  # 投票中: members vote, the secretariat stages decisions
    RELEASED = "released", _("Decisions released")  # 已公布


class MeetingWorkflow:
    """Transitions of ``Meeting.state``; ``meetings.release`` runs the projects' steps with it."""

    @transition(
        field="state",
        source=MeetingState.VOTING,
        target=MeetingState.RELEASED,
        permission=access.is_secretariat,
        conditions=[g.decisions_staged, g.approvals_within_quota],
    )
    def release(self):
        """公布立项结果: every staged decision goes out at once."""
        self.released_at = context_of(self).now


STEP_LABELS = {
    "open_round": _("Send the invitations"),  # 发出评审邀请
    "close_round": _("Close the round"),  # 结束评审
    "reopen_round": _("Reopen the round"),  # 重新开放
    "submit": _("Submit the review"),  # 提交评审意见
    "reopen": _("Reopen the review"),  # 退回修改
    "release": _("Release the decisions"),  # 公布立项结果
}
