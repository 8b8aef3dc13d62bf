"""The review app's messages (invitations, reminders, replacements) go through ``accounts.inbox``.

Callers hand over a function that writes the subject and the body; ``notify``
runs it in the reader's language, so that lazily translated text is rendered
for the reader, not for whoever triggered it. The inbox entry is written at
once, the mail after the commit.
"""

from accounts.inbox import notify


def tell(user, write, *, link=""):
    """Tell ``user`` the ``(subject, body)`` returned by ``write()``.

    Everyone gets the inbox entry; returns False when no mail goes out (no
    address, or an inactive account), True when it leaves after the commit.
    """
    notify(user, write, link=link)
    return bool(user.email and user.is_active)
