"""Rate limits of the public forms and the API, per client address (django-ratelimit).

The limits are the ``RATE_LIMITS`` setting, read at each request so that a change
of settings applies at once; the counters live in the default cache, which every
process of the site must share in production (Redis). The client address is the
one the login lockout uses, so that behind a proxy the limit falls on the visitor
and not on the proxy.
"""

from django.conf import settings
from django_ratelimit.decorators import ratelimit

from accounts.lockout import client_ip


def client_key(group, request):
    return client_ip(request) or "unknown"


def limited(scope, methods=ratelimit.UNSAFE):
    """Limit a view to ``settings.RATE_LIMITS[scope]`` requests of ``methods`` per client address.

    Over the limit the view is not called: the request ends on the 429 page
    (``RATELIMIT_VIEW``), and nothing is written.
    """

    def rate(group, request):
        return settings.RATE_LIMITS[scope]

    return ratelimit(group=f"keti:{scope}", key=client_key, rate=rate, method=methods, block=True)
