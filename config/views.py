"""Views of the site as a whole, outside any app."""

from django.http import HttpResponse
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
