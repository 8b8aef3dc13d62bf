"""The in-app inbox (站内消息): the person's own notifications, nobody else's."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from . import inbox as service
from .forms import MailLanguageForm
from .models import Notification

PER_PAGE = 30


@login_required
def inbox(request):
    """The person's messages, newest first, unread marked."""
    page = Paginator(service.inbox_of(request.user), PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "accounts/inbox.html", {"page": page, "notifications": page.object_list})


@login_required
def inbox_detail(request, pk):
    """One message; opening it marks it read. Another person's message does not exist here."""
    notification = get_object_or_404(Notification, pk=pk, user=request.user)
    service.mark_read(notification)
    return render(request, "accounts/inbox_detail.html", {"notification": notification})


@login_required
@require_POST
def inbox_mark_all_read(request):
    count = service.mark_all_read(request.user)
    if count:
        messages.success(request, ngettext("%(n)s message marked as read.", "%(n)s messages marked as read.",
                                           count) % {"n": count})
    return redirect("inbox")


@login_required
@require_POST
def mail_language(request):
    """Save the language the person's mail and inbox messages are written in (from the profile page)."""
    form = MailLanguageForm(request.POST, instance=request.user)
    if form.is_valid():
        form.save()
        messages.success(request, _("The language of your mail is saved."))
    else:
        messages.error(request, _("Choose one of the languages offered."))
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = "profile"
    return redirect(target)
