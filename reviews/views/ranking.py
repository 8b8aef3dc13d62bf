"""Rankings for the secretariat and the academic committee (评审结果与排序).

Both roles see the proposals with their applicants and every review under its
alias (专家1, 专家2 …); nothing here loads an expert, so no reviewer's name can
reach these pages or files. Everyone else gets 403; an unknown class, round or
proposal 404.
"""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render

from projects.models import CallClass

from .. import access
from ..aggregation import class_ranking, round_results
from ..documents import review_summary
from ..exports import score_matrix
from ..models import ReviewRound, Stage

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FIXED_COLUMNS = 12  # the ranking table's columns besides one per alias
# Rows per page of the ranking: a national round ranks thousands of proposals, and a page
# of all of them takes seconds to render; the Excel matrix holds them all.
ROWS_PER_PAGE = 100
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _allowed(request):
    if not access.may_see_ranking(request.user):
        raise PermissionDenied


def _stage(request):
    stage = request.GET.get("stage") or Stage.APPLICATION
    if stage not in Stage.values:
        raise Http404
    return stage


def _ranking(request, pk):
    _allowed(request)
    call_class = get_object_or_404(CallClass.objects.select_related("call"), pk=pk)
    return class_ranking(call_class, _stage(request))


def _download(content, content_type, filename):
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def index_entries():
    """[(call, [(call_class, [round, …]), …]), …]: every class that has a round, newest call first."""
    rounds = ReviewRound.objects.select_related("call_class__call").order_by(
        "-call_class__call__year", "call_class__call_id", "call_class__code", "stage", "-created_at"
    )
    calls = {}
    for round in rounds:
        call_class = round.call_class
        classes = calls.setdefault(call_class.call, {})
        classes.setdefault(call_class, []).append(round)
    return [(call, list(classes.items())) for call, classes in calls.items()]


@login_required
def ranking_index(request):
    _allowed(request)
    return render(request, "reviews/ranking/index.html", {"entries": index_entries()})


@login_required
def class_ranking_view(request, pk):
    ranking = _ranking(request, pk)
    page = Paginator(ranking.rows, ROWS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "reviews/ranking/class_ranking.html", {
        "ranking": ranking,
        "page": page,
        "stage": ranking.stage,
        "stage_label": Stage(ranking.stage).label,
        "columns": FIXED_COLUMNS + len(ranking.alias_numbers),
    })


@login_required
def class_ranking_xlsx(request, pk):
    ranking = _ranking(request, pk)
    call_class = ranking.call_class
    filename = f"scores-{call_class.call.year}-{call_class.code}-{ranking.stage}.xlsx"
    return _download(score_matrix(ranking), XLSX, filename)


@login_required
def class_ranking_docx(request, pk):
    ranking = _ranking(request, pk)
    call_class = ranking.call_class
    filename = f"review-summary-{call_class.call.year}-{call_class.code}-{ranking.stage}.docx"
    return _download(review_summary(ranking), DOCX, filename)


@login_required
def proposal_reviews(request, round_pk, project_pk):
    """One proposal's reviews, each under its alias, with the aggregated figures."""
    _allowed(request)
    round = get_object_or_404(ReviewRound.objects.select_related("call_class__call"), pk=round_pk)
    result = next((r for r in round_results(round) if r.project.pk == project_pk), None)
    if result is None:
        raise Http404
    return render(request, "reviews/ranking/proposal.html", {
        "round": round,
        "result": result,
        "project": result.project,
        "criteria": round.form.get("criteria", ()),
        # Only the secretariat reopens a review (退回修改), and only while the round is open.
        "may_reopen": access.is_secretariat(None, request.user) and round.state == "open",
    })
