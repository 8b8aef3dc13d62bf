"""Views of the site as a whole, outside any app."""

from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@never_cache
@require_GET
def health(request):
    """The cheapest page the server can give: the load balancer's health check, and in
    ``bench/load.py`` the framework's floor that the real pages are measured against.

    It touches no database and no template, so its time is the WSGI server, the
    middleware and Django's request handling, and nothing of ours.
    """
    return HttpResponse("ok", content_type="text/plain")


def rate_limited(request, exception):
    """The answer to a request over its rate limit (``RATELIMIT_VIEW``): 429, in JSON for the API."""
    message = _("Too many requests from your connection. Please wait a moment and try again.")
    if request.path.startswith("/api/"):
        return JsonResponse({"error": str(message)}, status=429, json_dumps_params={"ensure_ascii": False})
    response = render(request, "rate_limited.html", {"message": message}, status=429)
    response["Retry-After"] = "60"
    return response
