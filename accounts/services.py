"""Registration, e-mail confirmation, the profile and unit membership (单位确认).

Views, commands and tests call these functions and nothing else changes these
fields. Each runs in one transaction; mail is a Celery task scheduled with
``transaction.on_commit``, so nobody is told about a change that was rolled back.
"""

from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext_lazy as _

from . import roles, tasks
from .models import Institution, User
from .tokens import email_confirmation_token


EMAIL_TAKEN = _("An account with this e-mail address already exists. Log in, or reset its password.")
UNIT_LOCKED = _("You are a research administrator of this unit; the secretariat changes your unit.")


class NotInUnit(Exception):
    """A person named is not among the administrator's unit's people (the pages answer 404)."""


# --- registration and the confirmation link (注册与邮箱确认) -----------------


def email_taken(email, *, exclude_pk=None):
    """Addresses are unique regardless of case: 'Wang@ECNU.edu.cn' is 'wang@ecnu.edu.cn'."""
    people = User.objects.filter(email__iexact=email)
    if exclude_pk is not None:
        people = people.exclude(pk=exclude_pk)
    return people.exists()


def register_user(*, password, base_url, **fields):
    """Create an inactive account and mail it a confirmation link after the commit.

    ``fields`` are the model fields (username, email, real_name, …); ``base_url``
    is the scheme and host the link starts with (the task has no request).
    """
    email = User.objects.normalize_email(fields.pop("email"))
    with transaction.atomic():
        if email_taken(email):
            raise ValidationError({"email": EMAIL_TAKEN})
        user = User(email=email, is_active=False, **fields)
        user.set_password(password)
        user.save()
        transaction.on_commit(partial(tasks.send_confirmation_email.delay, user.pk, base_url))
    return user


def resend_confirmation(email, *, base_url):
    """Mail a new link if an account with this address still waits for confirmation.

    Says nothing either way: the page must not tell who is registered. Accounts
    that have logged in before and were deactivated since stay deactivated.
    """
    waiting = User.objects.filter(email__iexact=email, is_active=False, last_login__isnull=True)
    for pk in waiting.values_list("pk", flat=True):
        transaction.on_commit(partial(tasks.send_confirmation_email.delay, pk, base_url))


def confirmation_path(user):
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("confirm-email", args=[uid, email_confirmation_token.make_token(user)])


def mail_confirmation_link(user_id, base_url):
    """Send the link; nothing when the account is gone or already active (safe to run twice)."""
    user = User.objects.filter(pk=user_id, is_active=False).first()
    if user is None or not user.email:
        return False
    context = {
        "user": user,
        "link": base_url.rstrip("/") + confirmation_path(user),
        "valid_days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400),
    }
    _send_templated(user.email, "accounts/email/confirm", context)
    return True


def user_from_uidb64(uidb64):
    try:
        return User.objects.get(pk=urlsafe_base64_decode(uidb64).decode())
    except (TypeError, ValueError, OverflowError, User.DoesNotExist, ValidationError):
        return None


def confirm_email(uidb64, token):
    """Activate the account the link was made for; ``None`` if the link is bad, spent or expired."""
    user = user_from_uidb64(uidb64)
    if user is None or user.is_active or not email_confirmation_token.check_token(user, token):
        return None
    user.is_active = True
    user.save(update_fields=["is_active"])
    return user


# --- the profile (个人信息) ----------------------------------------------------


def administers(user, institution_id):
    """True when ``user`` holds the administrator rights of that unit (its admin group)."""
    return (
        institution_id is not None
        and roles.has_role(user, roles.UNIT_ADMIN)
        and Institution.objects.filter(pk=institution_id, admin_group__user=user).exists()
    )


def update_profile(user, *, real_name, phone, title, title_level, institution):
    """Save the person's own data; a new unit clears the old unit's confirmation."""
    with transaction.atomic():
        person = User.objects.select_for_update().get(pk=user.pk)
        new_unit_id = institution.pk if institution else None
        unit_changed = person.institution_id != new_unit_id
        if unit_changed and administers(person, person.institution_id):
            raise ValidationError({"institution": UNIT_LOCKED})
        person.real_name, person.phone, person.title, person.title_level = real_name, phone, title, title_level
        fields = ["real_name", "phone", "title", "title_level"]
        if unit_changed:
            person.institution = institution
            person.institution_confirmed_at = None
            fields += ["institution", "institution_confirmed_at"]
        person.save(update_fields=fields)
    return person


# --- unit membership, for the unit's research administrator (单位确认) -----------


def administered_institution(admin):
    """The admin's own unit, if they hold its administrator rights; else ``None``.

    Both must hold: the role, and membership of the unit's admin group. A role
    alone, or a group of a unit the admin has left, opens nothing.
    """
    if not admin.institution_id or not roles.has_role(admin, roles.UNIT_ADMIN):
        return None
    return Institution.objects.filter(pk=admin.institution_id, admin_group__user=admin).first()


def unit_members(admin):
    """The people who chose the admin's unit, unconfirmed first (empty for anyone else).

    Each carries ``is_unit_admin``: administrators of the unit are not removed
    from it here (the secretariat manages them).
    """
    institution = administered_institution(admin)
    if institution is None:
        return User.objects.none()
    admin_of_unit = User.groups.through.objects.filter(user_id=OuterRef("pk"), group_id=institution.admin_group_id)
    return (
        User.objects.filter(institution=institution, is_active=True)
        .annotate(is_unit_admin=Exists(admin_of_unit))
        .order_by(F("institution_confirmed_at").asc(nulls_first=True), "real_name", "username")
    )


def confirm_membership(admin, users, *, now=None):
    """Confirm that ``users`` belong to the admin's unit; returns how many were newly confirmed.

    All or nothing: if any of them is not of the unit, ``NotInUnit`` and no change.
    Those confirmed before keep their date. ``users`` objects are not refreshed.
    """
    wanted = {user.pk for user in users}
    if not wanted:
        return 0
    with transaction.atomic():
        people = unit_members(admin).filter(pk__in=wanted)
        if set(people.select_for_update().values_list("pk", flat=True)) != wanted:
            raise NotInUnit
        return User.objects.filter(pk__in=wanted, institution_confirmed_at__isnull=True).update(
            institution_confirmed_at=now or timezone.now()
        )


def remove_membership(admin, user):
    """Take ``user`` out of the admin's unit (no unit, no confirmation) and tell them after the commit."""
    with transaction.atomic():
        person = (
            unit_members(admin).filter(pk=user.pk, is_unit_admin=False).select_for_update().first()
        )
        if person is None:
            raise NotInUnit
        institution_id = person.institution_id
        person.institution = None
        person.institution_confirmed_at = None
        person.save(update_fields=["institution", "institution_confirmed_at"])
        transaction.on_commit(partial(tasks.send_membership_removed_email.delay, person.pk, institution_id))
    user.institution, user.institution_confirmed_at = None, None
    return person


def mail_membership_removed(user_id, institution_id):
    """Tell the person; nothing if they have chosen that unit again meanwhile (safe to run twice)."""
    user = User.objects.filter(pk=user_id).first()
    institution = Institution.objects.filter(pk=institution_id).first()
    if user is None or institution is None or not user.email or user.institution_id == institution_id:
        return False
    _send_templated(user.email, "accounts/email/membership_removed", {"user": user, "institution": institution})
    return True


def _send_templated(address, template_prefix, context):
    """Mail in the site's language (people have no language of their own yet)."""
    with translation.override(settings.LANGUAGE_CODE):
        subject = "".join(render_to_string(f"{template_prefix}_subject.txt", context).splitlines())
        body = render_to_string(f"{template_prefix}_body.txt", context)
    send_mail(subject, body, None, [address])
