"""The committee meeting pages (会议评审): the list, creation, the meeting, votes, decisions, release.

Thin views over ``reviews.meetings``. The secretariat sees every meeting,
creates them, sees the tally, stages decisions, previews the mails and
releases; a committee member sees the meetings they attend and votes there.
Anyone else gets 403; a meeting the committee member did not attend, or an
unknown meeting or proposal, 404. Reviews appear under their aliases only.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts import roles
from projects.models import Call, Project
from projects.services import TransitionRefused

from .. import meetings
from ..access import is_secretariat
from ..models import DecisionOutcome, ReviewRound, Stage, VoteChoice
from ..workflow import MeetingState, RoundState


def _role(request):
    """(is_secretariat, is_committee); 403 for anyone with neither role."""
    user = request.user
    secretariat = is_secretariat(None, user)
    committee = roles.has_role(user, roles.COMMITTEE)
    if not (secretariat or committee):
        raise PermissionDenied
    return secretariat, committee


def _secretariat(request):
    if not is_secretariat(None, request.user):
        raise PermissionDenied
    return request.user


def _meeting_or_404(request, pk):
    """The meeting if the user may open it: the secretariat any, a committee member the ones attended."""
    _role(request)
    meeting = meetings.meetings_visible_to(request.user).filter(pk=pk).first()
    if meeting is None:
        raise Http404
    return meeting


def _project_of(meeting, project_pk):
    return get_object_or_404(Project.objects.select_related("call_class", "pi"), pk=project_pk, call=meeting.call)


def _refused(request, refusal):
    for message in refusal.messages:
        messages.error(request, message)


def _back(meeting, anchor=""):
    return redirect(reverse("meeting-detail", args=[meeting.pk]) + (f"#{anchor}" if anchor else ""))


# ---- forms --------------------------------------------------------------------------------


class MemberChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, user):
        unit = user.institution.name if user.institution_id else "—"
        return f"{user.display_name} – {unit}"


class MeetingForm(forms.Form):
    call = forms.ModelChoiceField(label=gettext_lazy("Call"), queryset=Call.objects.none())
    held_on = forms.DateTimeField(label=gettext_lazy("Date and time"),
                                  widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    place = forms.CharField(label=gettext_lazy("Place"), max_length=120, required=False)
    present = MemberChoiceField(label=gettext_lazy("Committee members present"), queryset=None,
                                widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        ranked = ReviewRound.objects.filter(stage=Stage.APPLICATION, state__in=(RoundState.OPEN, RoundState.CLOSED))
        self.fields["call"].queryset = Call.objects.filter(
            pk__in=ranked.values("call_class__call_id")).order_by("-year", "-pk")
        self.fields["present"].queryset = meetings.committee_members().select_related("institution").order_by(
            "real_name", "username")


# ---- pages --------------------------------------------------------------------------------


@login_required
def meeting_list(request):
    secretariat, _committee = _role(request)
    listed = (
        meetings.meetings_visible_to(request.user)
        .annotate(
            present_count=Count("present", distinct=True),
            staged_count=Count("decisions", filter=Q(decisions__released_at__isnull=True), distinct=True),
            decided_count=Count("decisions", filter=Q(decisions__released_at__isnull=False), distinct=True),
        )
        .order_by("-held_on", "-pk")
    )
    return render(request, "reviews/meetings/meeting_list.html", {"meetings": listed, "may_create": secretariat})


@login_required
def meeting_create(request):
    user = _secretariat(request)
    form = MeetingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            meeting = meetings.create_meeting(data["call"], held_on=data["held_on"], place=data["place"],
                                              present=list(data["present"]), by=user)
        except TransitionRefused as refusal:
            for message in refusal.messages:
                form.add_error(None, message)
        else:
            messages.success(request, _("Meeting created; the members present can now vote."))
            return redirect("meeting-detail", pk=meeting.pk)
    return render(request, "reviews/meetings/meeting_form.html", {"form": form})


def _detail_context(request, meeting, typed=None):
    """What the meeting page shows; ``typed`` keeps a refused form's input ({project_pk or "others": note})."""
    typed = typed or {}
    user = request.user
    secretariat = is_secretariat(None, user)
    member = meetings.is_present(meeting, user)
    agendas = meetings.agenda(meeting)
    tallies = {t.project.pk: t for t in meetings.tally(meeting, agendas)}
    voting = meeting.state == MeetingState.VOTING
    my_votes = meetings.votes_of(meeting, user) if member else {}
    decisions = {d.project_id: d for d in meeting.decisions.all()}
    standing_aside = meetings.recused_members(
        meeting, [row.project for class_ in agendas for row in class_.shortlisted]) if member else {}
    round_ids = {class_.call_class.pk: class_.ranking.round.pk if class_.ranking.round else None for class_ in agendas}
    classes = []
    for class_ in agendas:
        rows = []
        for row in class_.shortlisted:
            pk = row.project.pk
            staged = decisions.get(pk)
            rows.append({
                "row": row,
                "tally": tallies.get(pk),
                "my_vote": my_votes.get(pk, ""),
                "recused": user.pk in standing_aside.get(pk, ()),
                "my_vote_label": VoteChoice(my_votes[pk]).label if pk in my_votes else "",
                "staged": staged,
                "note": typed.get(pk, staged.note if staged else ""),
                "round_id": round_ids[class_.call_class.pk],
            })
        classes.append({"agenda": class_, "ranking": class_.ranking, "rows": rows})
    context = {
        "meeting": meeting,
        "classes": classes,
        "present": meeting.present.select_related("institution").order_by("real_name", "username"),
        "is_secretariat": secretariat,
        "is_member": member,
        "voting": voting,
        "show_tally": secretariat or not voting,
        "choices": VoteChoice.choices,
        "outcomes": DecisionOutcome.choices,
    }
    if secretariat:
        others = meetings.other_proposals(meeting, agendas) if voting else []
        context.update({
            "others": [{"project": p, "staged": decisions.get(p.pk),
                        "note": typed.get(p.pk, decisions[p.pk].note if p.pk in decisions else "")} for p in others],
            "others_note": typed.get("others", ""),
            "staged": meetings.staged_decisions(meeting),
            "preview": meetings.preview_mails(meeting) if voting else [],
        })
    return context


@login_required
def meeting_detail(request, pk):
    meeting = _meeting_or_404(request, pk)
    return render(request, "reviews/meetings/meeting_detail.html", _detail_context(request, meeting))


def _refused_page(request, meeting, refusal, typed):
    """The meeting page again with the messages and what was typed (status 400)."""
    _refused(request, refusal)
    return render(request, "reviews/meetings/meeting_detail.html", _detail_context(request, meeting, typed),
                  status=400)


# ---- actions (POST) -----------------------------------------------------------------------


@login_required
@require_POST
def meeting_vote(request, pk, project_pk):
    meeting = _meeting_or_404(request, pk)
    if not meetings.is_present(meeting, request.user):
        raise PermissionDenied
    project = _project_of(meeting, project_pk)
    try:
        meetings.cast_vote(meeting, project, request.user, request.POST.get("choice", ""))
    except TransitionRefused as refusal:
        _refused(request, refusal)
    else:
        messages.success(request, _("Your vote on %(title)s is recorded.") % {"title": project.title})
    return _back(meeting, f"p{project.pk}")


@login_required
@require_POST
def meeting_stage(request, pk, project_pk):
    user = _secretariat(request)
    meeting = _meeting_or_404(request, pk)
    project = _project_of(meeting, project_pk)
    note = request.POST.get("note", "")
    try:
        if request.POST.get("outcome") == "withdraw":
            meetings.withdraw_decision(meeting, project, by=user)
            messages.success(request, _("The staged decision on %(title)s is withdrawn.") % {"title": project.title})
        else:
            meetings.stage_decision(meeting, project, request.POST.get("outcome", ""), by=user, note=note)
            messages.success(request, _("Decision on %(title)s staged; nobody is told before the release.")
                             % {"title": project.title})
    except TransitionRefused as refusal:
        return _refused_page(request, meeting, refusal, {project.pk: note})
    return _back(meeting, f"p{project.pk}")


@login_required
@require_POST
def meeting_decline_others(request, pk):
    user = _secretariat(request)
    meeting = _meeting_or_404(request, pk)
    note = request.POST.get("note", "")
    try:
        count = meetings.decline_others(meeting, by=user, note=note)
    except TransitionRefused as refusal:
        return _refused_page(request, meeting, refusal, {"others": note})
    messages.success(request, _("“Decline” staged for %(n)s proposals off the shortlist.") % {"n": count})
    return _back(meeting, "others")


@login_required
@require_POST
def meeting_release(request, pk):
    user = _secretariat(request)
    meeting = _meeting_or_404(request, pk)
    try:
        released = meetings.release(meeting, by=user)
    except TransitionRefused as refusal:
        return _refused_page(request, meeting, refusal, {})
    messages.success(request, _("%(n)s decisions released; each applicant is told once.") % {"n": len(released)})
    return _back(meeting)
