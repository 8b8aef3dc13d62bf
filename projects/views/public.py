"""Public pages: the home page with the open calls, a call with its classes and topics, its notice."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from ..models import Call
from ..rules import rule
from ..workflow import CallState


def public_calls():
    return Call.objects.exclude(state=CallState.DRAFT).prefetch_related("classes")


def home(request):
    """The calls that take applications now, and the ones before them."""
    now = timezone.now()
    calls = list(public_calls())
    open_calls = [c for c in calls if c.state == CallState.PUBLISHED and c.opens_at <= now <= c.deadline]
    other_calls = [c for c in calls if c not in open_calls]
    return render(request, "projects/home.html", {"open_calls": open_calls, "other_calls": other_calls, "now": now})


def call_detail(request, pk):
    call = get_object_or_404(public_calls().prefetch_related("topics__call_class"), pk=pk)
    now = timezone.now()
    classes = list(call.classes.all())
    eligibility = [
        {
            "cls": cls,
            "min_title": rule("MIN_PI_TITLE_LEVEL", cls),
            "title_max": rule("TITLE_MAX_LENGTH", cls),
            "keywords_max": rule("MAX_KEYWORDS", cls),
            "argument_max": rule("ARGUMENT_MAX_CHARS", cls),
        }
        for cls in classes
    ]
    from accounts.models import TitleLevel

    for row in eligibility:
        row["min_title_label"] = TitleLevel(row["min_title"]).label
    return render(
        request,
        "projects/call_detail.html",
        {
            "call": call,
            "classes": classes,
            "topics": call.topics.all(),
            "eligibility": eligibility,
            "is_open": call.state == CallState.PUBLISHED and call.opens_at <= now <= call.deadline,
            "time_left": call.deadline - now if now < call.deadline else None,
            "revocation_years": rule("REVOCATION_BAR_YEARS"),
        },
    )


def call_notice(request, pk):
    """The call notice (申报通知) as a Word file."""
    from ..documents import call_notice as build_notice

    call = get_object_or_404(public_calls(), pk=pk)
    response = HttpResponse(
        build_notice(call),
        content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    )
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(call.title)}.docx"
    return response


def _quote(name):
    from urllib.parse import quote

    return quote(name)
