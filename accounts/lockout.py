"""Login lockout (登录失败锁定) with django-axes: the wiring that fits it to Keti.

The settings (``AXES_*`` in ``config.settings``) lock a username from one client
address out after ``AXES_FAILURE_LIMIT`` failed logins, for ``AXES_COOLOFF_TIME``;
the lockout page is ``registration/locked_out.html``.
"""

from django.conf import settings

from axes.backends import AxesStandaloneBackend


class LockoutBackend(AxesStandaloneBackend):
    """First of ``AUTHENTICATION_BACKENDS``: refuses a locked-out username and address.

    A login over the web always passes its request (Django's ``LoginView`` and the
    admin's login do). Without one there is no client to count failures against
    (``manage.py`` commands, the shell, the test client's ``login()``), so this
    backend stands aside instead of raising as django-axes' own does; the other
    backends still check the password.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def client_ip(request):
    """The client's address, for the lockout: ``REMOTE_ADDR``, or behind ``PROXY_COUNT`` proxies
    the address the outermost trusted proxy saw (the N-th entry from the right of X-Forwarded-For).

    Entries further left are written by the client and could be forged, so they are never read.
    """
    count = settings.PROXY_COUNT
    if count:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= count:
            return forwarded[-count]
    return request.META.get("REMOTE_ADDR")
