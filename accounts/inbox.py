"""The one way the system tells a person something: an inbox entry (站内消息) and a mail.

Callers hand over a function that writes ``(subject, body)``; it runs in the
reader's language (``User.language``, else the site's), so lazily translated
text is rendered for the person who reads it, not for whoever triggered it.
The inbox entry is written in the caller's transaction; the mail leaves after
the commit, so a step that is rolled back tells nobody. Whether a message has
been sent already (idempotency) is the caller's business.
"""

import logging
import smtplib
from functools import partial

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .models import Notification

logger = logging.getLogger(__name__)


def language_of(user):
    """The language ``user`` reads their mail in: their choice, else the site's."""
    return getattr(user, "language", "") or settings.LANGUAGE_CODE


def absolute(link):
    """``link`` as an address that works from a mail client (site paths get ``SITE_URL``)."""
    if not link or link.startswith(("http://", "https://")):
        return link
    return settings.SITE_URL.rstrip("/") + link


def notify(user, write, *, link=""):
    """Tell ``user`` what ``write()`` returns: an inbox entry now, a mail after the commit.

    People without an address, or whose account is inactive, get the inbox
    entry only. Returns the ``Notification``.
    """
    with translation.override(language_of(user)):
        subject, body = write()
        subject, body = " ".join(str(subject).split()), str(body)
        mail_body = body
        if link:
            mail_body += "\n\n" + _("Open in Keti: %(link)s") % {"link": absolute(link)}
    subject_field = Notification._meta.get_field("subject")
    notification = Notification.objects.create(
        user=user, subject=subject[: subject_field.max_length], body=body, link=link
    )
    if user.email and user.is_active:
        transaction.on_commit(partial(_send, notification.pk, subject, mail_body, user.email))
    return notification


def _send(notification_id, subject, body, address):
    """Mail one message; a refused address is logged, and the inbox entry stays as the record."""
    try:
        send_mail(subject, body, None, [address])
    except (smtplib.SMTPException, OSError):
        logger.exception("Notification %s could not be mailed", notification_id)
        return False
    return True


# ---- the inbox's queries ----------------------------------------------------------------------


def unread_count(user):
    """How many of ``user``'s messages are unread (one query; 0 for anonymous visitors, no query)."""
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def inbox_of(user):
    """``user``'s messages, newest first."""
    return Notification.objects.filter(user=user).order_by("-created_at", "-pk")


def mark_read(notification, *, now=None):
    """Mark one message read (once: the first reading time is kept)."""
    if notification.read_at is None:
        notification.read_at = now or timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=notification.read_at)
    return notification


def mark_all_read(user, *, now=None):
    """Mark every unread message of ``user`` read; returns how many were unread."""
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=now or timezone.now())
