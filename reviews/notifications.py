"""One adapter for the review app's mail: invitations, reminders, replacements.

Callers hand over a function that writes the subject and the body; it runs in
the association's language (the language of the interface by default), so that
lazily translated text is rendered for the reader, not for whoever triggered it.
"""

from django.conf import settings
from django.core.mail import send_mail
from django.utils import translation


def tell(user, write):
    """Mail ``user`` the ``(subject, body)`` returned by ``write()``; False when they have no address."""
    if not user.email or not user.is_active:
        return False
    with translation.override(settings.LANGUAGE_CODE):
        subject, body = write()
        subject, body = str(subject), str(body)
    send_mail(subject, body, None, [user.email])
    return True
