"""The archive's public read-only JSON API (described by ``archive.openapi``).

    GET /api/archive/search?q=&year=&class=&state=&unit=&page=
    GET /api/archive/projects/<number>
    GET /api/archive/openapi.json

Plain Django views. Bad input is a 400 with ``{"error": …}`` saying how to fix
it; an unknown number is a 404 with the same shape. Like the pages, the API
finds through ``archive.search`` and shows only a ``PublicRecord``.
"""

import html
from dataclasses import replace

from django.http import JsonResponse
from django.urls import reverse
from django.utils.html import strip_tags
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from config.ratelimits import limited

from .models import Record
from .openapi import openapi_document
from .views import PER_PAGE, PUBLIC_FIELDS, parse_search_params, public_record

API_FILTERS = ("year", "class", "state", "unit")


def _json(data, status=200):
    return JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})


def _error(message, status):
    return _json({"error": message}, status=status)


def plain_text(snippet):
    """A highlighted snippet (HTML with <mark>) as plain text."""
    return html.unescape(strip_tags(snippet))


def _project_url(request, number):
    return request.build_absolute_uri(reverse("archive-project", args=[number]))


@require_GET
@limited("api", methods=["GET", "HEAD"])
def search(request):
    params, errors = parse_search_params(request.GET, allowed=API_FILTERS)
    errors.pop("sort", None)  # not a parameter of the API: ranked by relevance
    if errors:
        return _error(" ".join(str(message) for message in errors.values()), 400)
    result = replace(params, sort="relevance").run(per_page=PER_PAGE)
    return _json({
        "count": result.count,
        "page": result.page,
        "pages": result.pages,
        "results": [
            {
                "number": hit.number,
                "title": hit.title,
                "class": hit.class_code,
                "year": hit.year,
                "pi": hit.pi_name,
                "unit": hit.unit_name,
                "keywords": list(hit.keywords),
                "state": hit.state,
                "grade": hit.grade or None,
                "url": _project_url(request, hit.number),
                "snippet": plain_text(hit.snippet),
            }
            for hit in result.hits
        ],
    })


@require_GET
@limited("api", methods=["GET", "HEAD"])
def project(request, number):
    record = Record.objects.only(*PUBLIC_FIELDS).filter(number=number).first()
    if record is None:
        return _error(_("No project with this number in the archive."), 404)
    public = public_record(record)
    return _json({
        "number": public.number,
        "title": public.title,
        "class": public.class_code,
        "class_name": public.class_name,
        "year": public.year,
        "pi": public.pi_name,
        "unit": public.unit_name,
        "members": list(public.members),
        "field": public.field,
        "keywords": list(public.keywords),
        "abstract": public.abstract,
        "state": public.state,
        "grade": public.grade or None,
        "completed_on": public.completed_on.isoformat() if public.completed_on else None,
        "outputs": list(public.outputs),
        "url": _project_url(request, public.number),
    })


@require_GET
def openapi(request):
    return _json(openapi_document(server_url=request.build_absolute_uri("/")))
