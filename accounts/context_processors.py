"""Template context for every page: the header's unread count."""

from django.utils.functional import SimpleLazyObject

from . import inbox


def unread_messages(request):
    """``inbox_unread``: the logged-in person's unread messages, counted (one query) only if shown."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"inbox_unread": 0}
    return {"inbox_unread": SimpleLazyObject(lambda: inbox.unread_count(user))}
