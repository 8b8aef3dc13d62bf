"""The expert pool (专家库): the Excel sheet, invitations, and the edits both share.

The secretariat keeps the pool in an Excel sheet (专家库导入/导出), one expert a
row under Chinese headers (English ones are read too). ``import_experts`` checks
every row before it writes anything and then writes all or nothing, in one
transaction: experts are matched by their e-mail address, whatever its case, so
the same sheet can be imported again after a correction and an export imports
back as "unchanged". New people get an account without a usable password and an
invitation mail (专家邀请) whose link lets them choose one: Django's password
reset link, as accounts does for its confirmation link, so a link works once and
expires with ``PASSWORD_RESET_TIMEOUT``.

``invite_expert`` adds one expert by hand; ``update_expert`` is the one way a
profile changes afterwards, from the secretariat's page or the expert's own.
"""

import json
import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from io import BytesIO

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.db.models.functions import Lower
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import roles
from accounts.models import Institution, User
from archive.importer import workbook_problem
from projects.rules import rule

from .access import is_secretariat
from .models import AssignmentStatus, ExpertProfile
from .notifications import tell
from .workflow import RoundState

logger = logging.getLogger(__name__)

SHEET_NAME = "专家库"
MAX_ROWS = 5000  # experts one sheet may carry; a real pool has a few hundred
MAX_LOAD_LIMIT = 200  # a load limit above this is a typing error, not a wish
SEPARATORS = re.compile(r"[、，,;；\n]")
STATUSES = {"在库": True, "停用": False, "active": True, "inactive": False}
STATUS_LABELS = {True: "在库", False: "停用"}

# The fields of a profile each party may change (the load limit and the active flag are the secretariat's).
OWN_FIELDS = ("disciplines", "keywords", "profile_text")
SECRETARIAT_FIELDS = ("real_name", "title", "unit", "disciplines", "keywords", "profile_text", "load_limit", "active")


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # the Chinese header exports write
    aliases: tuple  # other spellings accepted on import (compared without case)
    width: int
    required: bool = True  # the header must be present


COLUMNS = (
    Column("real_name", "姓名", ("name", "real name"), 10),
    Column("username", "用户名", ("username", "user name"), 16, required=False),
    Column("email", "电子邮箱", ("e-mail", "email", "e-mail address", "email address"), 28),
    Column("unit", "工作单位", ("unit", "institution", "affiliation"), 28),
    Column("title", "职称", ("title", "professional title"), 10),
    Column("disciplines", "学科", ("disciplines", "discipline"), 24),
    Column("keywords", "研究关键词", ("keywords", "research keywords"), 30),
    Column("profile_text", "代表性成果与课题", ("publications and projects", "profile"), 60),
    Column("load_limit", "每轮最多评审数", ("load limit", "most proposals per round"), 14),
    Column("status", "状态", ("status",), 8),
)
HEADERS = tuple(column.header for column in COLUMNS)
MAX_LENGTHS = {"real_name": 50, "username": 150, "email": 254, "unit": 120, "title": 30}


# ---- the shared rules -------------------------------------------------------------------


def split_terms(text):
    """Disciplines or keywords from text separated by 、，,;；: trimmed, without repeats, in order."""
    if isinstance(text, (list, tuple)):
        text = "、".join(str(term) for term in text)
    terms = []
    for term in SEPARATORS.split(text or ""):
        term = term.strip()
        if term and term not in terms:
            terms.append(term)
    return terms


def join_terms(terms):
    return "、".join(terms or [])


def clean_profile_text(text):
    """One publication or project a line: lines trimmed, blank lines dropped."""
    return "\n".join(line.strip() for line in (text or "").replace("\r\n", "\n").split("\n") if line.strip())


def resolve_unit(text, units=None):
    """``(institution, unit_name)``: a registered unit of exactly that name, else the text as written."""
    text = (text or "").strip()
    if not text:
        return None, ""
    institution = units.get(text) if units is not None else Institution.objects.filter(name=text).first()
    return (institution, "") if institution else (None, text)


def json_list_contains(field_name, term):
    """A filter for a JSON list field whose text contains ``term``.

    SQLite stores JSON with non-ASCII characters escaped (\\uXXXX), PostgreSQL
    stores them as they are: ask for both spellings.
    """
    escaped = json.dumps(term)[1:-1]
    return Q(**{f"{field_name}__icontains": term}) | Q(**{f"{field_name}__icontains": escaped})


def pool_queryset():
    """The pool for lists and exports: people and units joined, current assignments counted.

    An assignment is current while it counts for a round still being prepared or open.
    """
    current = Q(
        assignments__status__in=(AssignmentStatus.PROPOSED, AssignmentStatus.INVITED, AssignmentStatus.ACCEPTED),
        assignments__round__state__in=(RoundState.DRAFT, RoundState.OPEN),
    )
    return ExpertProfile.objects.select_related("user", "institution").annotate(
        current_assignments=Count("assignments", filter=current)
    ).order_by("user__real_name", "pk")  # an aggregate drops Meta.ordering


def site_url(base_url=None):
    """Scheme and host for links in mail: the request's, else ``settings.SITE_URL``."""
    return (base_url or getattr(settings, "SITE_URL", "") or "http://localhost:8000").rstrip("/")


def _require_secretariat(by):
    if not is_secretariat(None, by):
        raise PermissionDenied(_("Only the secretariat manages the expert pool."))


# ---- writing one expert -------------------------------------------------------------------


def _new_username(email, taken):
    """The address itself (experts log in with what they know), made unique if needed."""
    base = email.lower()[:150]
    candidate, number = base, 2
    while candidate in taken or User.objects.filter(username=candidate).exists():
        suffix = f"-{number}"
        candidate, number = base[: 150 - len(suffix)] + suffix, number + 1
    taken.add(candidate)
    return candidate


def _profile_values(values, units=None):
    """The ExpertProfile fields of ``values`` (which holds sheet keys such as ``unit``)."""
    result = {}
    for name in ("title", "disciplines", "keywords", "profile_text", "load_limit", "active"):
        if name in values:
            result[name] = values[name]
    if "disciplines" in result:
        result["disciplines"] = split_terms(result["disciplines"])
    if "keywords" in result:
        result["keywords"] = split_terms(result["keywords"])
    if "profile_text" in result:
        result["profile_text"] = clean_profile_text(result["profile_text"])
    if "title" in result:
        result["title"] = (result["title"] or "").strip()
    if "unit" in values:
        result["institution"], result["unit_name"] = resolve_unit(values["unit"], units)
    return result


def _save_expert(user, values, *, units=None, is_expert=None):
    """Create or update the expert ``values`` describes; ``(profile, outcome)``.

    ``user`` is the matched account (``None``: a new one is made from ``values``);
    ``outcome`` is "created" (no profile before), "updated" or "unchanged".
    ``is_expert`` says whether the account holds the expert role (``None``: ask).
    """
    wanted = _profile_values(values, units)
    changed = False
    if user is None:
        user = _new_account(values, wanted)
        is_expert = False
    elif values.get("real_name") and user.real_name != values["real_name"]:
        user.real_name = values["real_name"]
        user.save(update_fields=["real_name"])
        changed = True
    if is_expert is None:
        is_expert = roles.has_role(user, roles.EXPERT)
    if not is_expert:
        roles.grant_role(user, roles.EXPERT)
        changed = True

    if "_pool_profile" in user.__dict__:
        profile = user._pool_profile
    else:
        profile = ExpertProfile.objects.filter(user=user).first()
    if profile is None:
        wanted.setdefault("load_limit", rule("EXPERT_LOAD_LIMIT"))
        return ExpertProfile.objects.create(user=user, **wanted), "created"
    differing = [name for name, value in wanted.items() if _current(profile, name) != _comparable(name, value)]
    for name in differing:
        setattr(profile, name, wanted[name])
    if differing:
        profile.save(update_fields=[*differing, "updated_at"])
    return profile, "updated" if (differing or changed) else "unchanged"


def _new_account(values, wanted):
    """An account for a new expert: no usable password until the invitation's link sets one."""
    user = User(
        username=values["username"],
        email=User.objects.normalize_email(values["email"]),
        real_name=values.get("real_name", ""),
        title=wanted.get("title", ""),
        institution=wanted.get("institution"),
    )
    user.set_unusable_password()
    user.save()
    user._pool_profile = None
    return user


def _current(profile, name):
    return profile.institution_id if name == "institution" else getattr(profile, name)


def _comparable(name, value):
    return value.pk if name == "institution" and value is not None else value


# ---- invitations (专家邀请) -------------------------------------------------------------------


def invite_expert(*, email, real_name, by, base_url=None, **profile_fields):
    """Add one expert by hand and mail the invitation after the commit.

    An account with this address (whatever its case) is reused; otherwise one is
    made without a usable password, which the invitation's link lets the expert
    choose. ``profile_fields`` are those of the sheet: title, unit (text),
    disciplines, keywords (lists or text), profile_text, load_limit, active.
    """
    _require_secretariat(by)
    email = User.objects.normalize_email((email or "").strip())
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": _("Enter a valid e-mail address.")}) from None
    unknown = set(profile_fields) - set(SECRETARIAT_FIELDS)
    if unknown:
        raise TypeError(f"invite_expert() got unexpected fields: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        user = User.objects.select_for_update().filter(email__iexact=email).first()
        values = {**profile_fields, "email": email, "real_name": (real_name or "").strip()}
        if user is None:
            values["username"] = _new_username(email, set())
        profile, _outcome = _save_expert(user, values)
        transaction.on_commit(partial(_send_invitation, profile.user_id, site_url(base_url)))
    logger.info("expert %s invited by %s", profile.user_id, by.pk)
    return profile


def _send_invitation(user_id, base_url):
    from .tasks_pool import send_expert_invitation

    send_expert_invitation.delay(user_id, base_url)


def set_password_path(user):
    """The path of Django's password reset page for ``user`` (works once, expires)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("password_reset_confirm", args=[uid, default_token_generator.make_token(user)])


def mail_invitation(user_id, base_url=None):
    """Mail the invitation to join the pool; False when there is nobody to tell.

    Someone without a password gets the link to choose one; someone who has an
    account already gets the login page. Safe to run twice (a second mail).
    """
    user = User.objects.filter(pk=user_id, expert_profile__isnull=False).first()
    if user is None:
        return False
    base = site_url(base_url)
    needs_password = not user.has_usable_password()
    context = {
        "user": user,
        "needs_password": needs_password,
        "link": base + (set_password_path(user) if needs_password else reverse("login")),
        "profile_link": base + reverse("expert-profile-own"),
        "valid_days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400),
    }

    def write():
        subject = "".join(render_to_string("reviews/pool/email/invitation_subject.txt", context).splitlines())
        return subject, render_to_string("reviews/pool/email/invitation_body.txt", context)

    return tell(user, write)


# ---- later edits ---------------------------------------------------------------------------------


def update_expert(profile, *, by, **fields):
    """Change a profile: the secretariat any of ``SECRETARIAT_FIELDS``, the expert only ``OWN_FIELDS``."""
    allowed = SECRETARIAT_FIELDS if is_secretariat(None, by) else OWN_FIELDS if profile.user_id == by.pk else ()
    refused = set(fields) - set(allowed)
    if not allowed or refused:
        raise PermissionDenied(_("You may not change these fields of the profile."))
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=profile.user_id)
        user._pool_profile = ExpertProfile.objects.select_for_update().get(pk=profile.pk)
        updated, _outcome = _save_expert(user, fields, is_expert=True)
    return updated


def set_active(profile, active, *, by):
    """Take an expert into the pool again (在库) or out of it (停用); current assignments stay."""
    _require_secretariat(by)
    return update_expert(profile, by=by, active=bool(active))


# ---- the sheet: export --------------------------------------------------------------------------


def expert_row(profile):
    """The cells of one expert, in the order of ``COLUMNS``, as the import reads them back."""
    return [
        profile.user.real_name,
        profile.user.username,
        profile.user.email,
        profile.unit_label,
        profile.title,
        join_terms(profile.disciplines),
        join_terms(profile.keywords),
        profile.profile_text,
        profile.load_limit,
        STATUS_LABELS[profile.active],
    ]


def export_experts(queryset=None):
    """The experts of ``queryset`` (the whole pool by default) as the bytes of an .xlsx workbook."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    if queryset is None:
        queryset = ExpertProfile.objects.all()
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET_NAME
    sheet.append(HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "B2"
    for index, column in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    wrap = Alignment(wrap_text=True, vertical="top")
    profile_column = HEADERS.index("代表性成果与课题") + 1
    for profile in queryset.select_related("user", "institution").order_by("user__real_name", "pk"):
        sheet.append(expert_row(profile))
        sheet.cell(row=sheet.max_row, column=profile_column).alignment = wrap
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# ---- the sheet: import --------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """One problem: its Excel row and column header (``None`` for the file as a whole) and why."""

    row: int | None
    column: str | None
    message: str

    def __str__(self):
        if self.row is None:
            return self.message
        if self.column is None:
            return _("Row %(row)s: %(message)s") % {"row": self.row, "message": self.message}
        return _("Row %(row)s, “%(column)s”: %(message)s") % {
            "row": self.row, "column": self.column, "message": self.message}


@dataclass
class ImportReport:
    """What an import read and did; nothing is written when ``errors`` is not empty."""

    total: int = 0  # data rows read (blank rows do not count)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    invited: int = 0  # new accounts mailed an invitation
    errors: list = field(default_factory=list)

    @property
    def ok(self):
        return not self.errors

    def summary(self):
        if self.errors:
            return _("Nothing was imported: the sheet has %(count)s error(s).") % {"count": len(self.errors)}
        return _("%(created)s created, %(updated)s updated, %(unchanged)s unchanged.") % {
            "created": self.created, "updated": self.updated, "unchanged": self.unchanged}


class SheetUnreadable(Exception):
    """The upload is not a workbook the import can read; the message says why."""


@dataclass
class ParsedRow:
    row: int
    values: dict
    user: User | None = None


def _cell_text(value):
    """A cell as trimmed text: whole numbers without “.0”, dates as YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).replace("\r\n", "\n").replace("\r", "\n").strip()


def _read_rows(fileobj):
    """``(header, [(row_number, cells), …])`` of the first sheet; blank rows left out.

    Stops reading after ``MAX_ROWS`` data rows plus one, so that a huge sheet is refused quickly.
    """
    from openpyxl import load_workbook

    if hasattr(fileobj, "seek"):
        fileobj.seek(0)
    problem = workbook_problem(fileobj)
    if problem:
        raise SheetUnreadable(problem)
    try:
        workbook = load_workbook(fileobj, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds on a damaged file
        raise SheetUnreadable(_("The workbook cannot be read; save it again as .xlsx in Excel.")) from error
    try:
        if not workbook.worksheets:
            raise SheetUnreadable(_("The workbook has no sheet."))
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()
        header, rows = None, []
        for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            if header is None:
                header = cells
            elif any(_cell_text(cell) for cell in cells):
                rows.append((number, cells))
                if len(rows) > MAX_ROWS:
                    break
        return header, rows
    except SheetUnreadable:
        raise
    except Exception as error:
        raise SheetUnreadable(_("The workbook cannot be read; save it again as .xlsx in Excel.")) from error
    finally:
        workbook.close()


def _header_map(header, report):
    """``{key: (index, header as written)}`` for the columns found; errors go to ``report``."""
    by_spelling = {}
    for column in COLUMNS:
        for spelling in (column.header, *column.aliases):
            by_spelling[spelling.lower()] = column
    found = {}
    for index, cell in enumerate(header or ()):
        text = _cell_text(cell)
        if not text:
            continue
        column = by_spelling.get(text.lower())
        if column is None:
            report.errors.append(RowError(1, text, _("this column is not one of the sheet's (%(allowed)s).") % {
                "allowed": "、".join(HEADERS)}))
        elif column.key in found:
            report.errors.append(RowError(1, text, _("this column appears twice.")))
        else:
            found[column.key] = (index, text)
    for column in COLUMNS:
        if column.required and column.key not in found:
            report.errors.append(RowError(1, None, _("the column “%(header)s” is missing.") % {"header": column.header}))
    return found


def _parse_row(number, cells, columns):
    """``(values, errors)`` of one data row; ``values`` are the sheet's keys, cleaned."""
    text = {key: _cell_text(cells[index]) if index < len(cells) else "" for key, (index, _h) in columns.items()}
    raw = {key: cells[index] if index < len(cells) else None for key, (index, _h) in columns.items()}
    errors = []

    def error(key, message):
        errors.append(RowError(number, columns[key][1], message))

    values = {key: text[key] for key in ("real_name", "username", "title", "unit", "profile_text") if key in text}
    values["disciplines"] = split_terms(text["disciplines"])
    values["keywords"] = split_terms(text["keywords"])
    if not values["real_name"]:
        error("real_name", _("the name is missing."))
    email = text["email"]
    if not email:
        error("email", _("the e-mail address is missing."))
    else:
        try:
            validate_email(email)
        except ValidationError:
            error("email", _("“%(value)s” is not an e-mail address.") % {"value": email})
    values["email"] = User.objects.normalize_email(email)
    for key, limit in MAX_LENGTHS.items():
        if key in values and len(values[key]) > limit:
            error(key, _("%(length)s characters; at most %(limit)s are allowed.") % {
                "length": len(values[key]), "limit": limit})
    if values.get("username"):
        try:
            User.username_validator(values["username"])
        except ValidationError:
            error("username", _("“%(value)s” may contain only letters, digits and @ . + - _.") % {
                "value": values["username"]})
    values["load_limit"] = _load_limit(raw["load_limit"], text["load_limit"], lambda m: error("load_limit", m))
    status = text["status"]
    values["active"] = STATUSES.get(status, STATUSES.get(status.lower())) if status else True
    if values["active"] is None:
        error("status", _("“%(value)s” is not one of %(allowed)s.") % {"value": status, "allowed": "、".join(STATUS_LABELS.values())})
    return values, errors


def _load_limit(raw, text, error):
    if not text:
        return rule("EXPERT_LOAD_LIMIT")
    if isinstance(raw, bool):
        number = None
    elif isinstance(raw, int) or (isinstance(raw, float) and raw.is_integer()):
        number = int(raw)
    else:
        number = int(text) if re.fullmatch(r"\d+", text) else None
    if number is None:
        error(_("“%(value)s” is not a whole number.") % {"value": text})
    elif not 1 <= number <= MAX_LOAD_LIMIT:
        error(_("%(value)s is not between 1 and %(limit)s.") % {"value": number, "limit": MAX_LOAD_LIMIT})
        number = None
    return number


def _check_across(parsed, columns, report):
    """Addresses and usernames: not twice in the sheet, and usernames not another person's."""
    first_email, first_username = {}, {}
    for item in parsed:
        email, username = item.values["email"].lower(), item.values.get("username", "")
        if email in first_email:
            report.errors.append(RowError(item.row, columns["email"][1], _(
                "the address %(email)s is already in row %(first)s.") % {"email": email, "first": first_email[email]}))
        elif email:
            first_email[email] = item.row
        if username and username in first_username:
            report.errors.append(RowError(item.row, columns["username"][1], _(
                "the username %(username)s is already in row %(first)s.") % {
                "username": username, "first": first_username[username]}))
        elif username:
            first_username[username] = item.row

    users = _users_by_email(first_email)
    owners = dict(User.objects.filter(username__in=list(first_username)).values_list("username", Lower("email")))
    for item in parsed:
        item.user = users.get(item.values["email"].lower())
        username = item.values.get("username", "")
        if not username:
            continue
        if item.user is not None and item.user.username != username:
            report.errors.append(RowError(item.row, columns["username"][1], _(
                "the account of %(email)s has the username %(current)s; an import does not change usernames.") % {
                "email": item.values["email"], "current": item.user.username}))
        elif item.user is None and username in owners:
            report.errors.append(RowError(item.row, columns["username"][1], _(
                "the username %(username)s belongs to another account.") % {"username": username}))


def _users_by_email(emails):
    """Accounts by lower-cased address, each with its profile (``_pool_profile``) loaded."""
    users = {}
    emails = list(emails)
    for start in range(0, len(emails), 500):
        chunk = emails[start:start + 500]
        for user in User.objects.annotate(email_lower=Lower("email")).filter(email_lower__in=chunk):
            users[user.email_lower] = user
    profiles = {p.user_id: p for p in ExpertProfile.objects.filter(user__in=[u.pk for u in users.values()])}
    for user in users.values():
        user._pool_profile = profiles.get(user.pk)
    return users


def read_sheet(fileobj):
    """Read and check a sheet without writing: ``(report, parsed rows, columns)``."""
    report = ImportReport()
    try:
        header, rows = _read_rows(fileobj)
    except SheetUnreadable as error:
        report.errors.append(RowError(None, None, str(error)))
        return report, [], {}
    if header is None:
        report.errors.append(RowError(None, None, _("The sheet is empty.")))
        return report, [], {}
    if len(rows) > MAX_ROWS:
        report.errors.append(RowError(None, None, _(
            "The sheet has more than %(limit)s experts; import at most %(limit)s at a time.") % {"limit": MAX_ROWS}))
        return report, [], {}
    columns = _header_map(header, report)
    if report.errors:
        return report, [], columns
    report.total = len(rows)
    parsed = []
    for number, cells in rows:
        values, errors = _parse_row(number, cells, columns)
        report.errors.extend(errors)
        parsed.append(ParsedRow(number, values))
    _check_across(parsed, columns, report)
    report.errors.sort(key=lambda error: error.row)  # stable: a row's errors stay in column order
    return report, parsed, columns


def import_experts(fileobj, *, by, base_url=None):
    """Check every row, then create or update the experts, all or nothing; the report says what happened."""
    _require_secretariat(by)
    report, parsed, _columns = read_sheet(fileobj)
    if report.errors:
        return report
    units = {unit.name: unit for unit in Institution.objects.all()}
    experts = set(User.objects.filter(pk__in=[p.user.pk for p in parsed if p.user], groups__name=roles.EXPERT)
                  .values_list("pk", flat=True))
    try:
        invited = _write_rows(parsed, report, units, experts, site_url(base_url))
    except IntegrityError:
        # Someone added an account with one of these addresses or usernames since the check.
        report.created = report.updated = report.unchanged = 0
        report.errors.append(RowError(None, None, _(
            "The pool changed while the sheet was being imported; nothing was imported. Import it again.")))
        return report
    report.invited = len(invited)
    logger.info("expert sheet imported by %s: %s", by.pk, report.summary())
    return report


def _write_rows(parsed, report, units, experts, base_url):
    """Create or update every row in one transaction; the ids of the new accounts (invited after the commit)."""
    taken = {item.values["username"] for item in parsed if item.values.get("username")}
    invited = []
    with transaction.atomic():
        for item in parsed:
            values = item.values
            if item.user is None:
                values["username"] = values.get("username") or _new_username(values["email"], taken)
            profile, outcome = _save_expert(
                item.user, values, units=units, is_expert=(item.user.pk in experts) if item.user else None
            )
            setattr(report, outcome, getattr(report, outcome) + 1)
            if item.user is None:
                invited.append(profile.user_id)
        for user_id in invited:
            transaction.on_commit(partial(_send_invitation, user_id, base_url))
    return invited


# Labels of the columns for the import page's description of the sheet.
COLUMN_HELP = {
    "real_name": gettext_lazy("required"),
    "username": gettext_lazy("optional; new accounts use the e-mail address"),
    "email": gettext_lazy("required; matches the expert already in the pool"),
    "unit": gettext_lazy("a registered unit when the name is the same"),
    "disciplines": gettext_lazy("several separated by 、 or commas"),
    "keywords": gettext_lazy("several separated by 、 or commas"),
    "profile_text": gettext_lazy("one per line"),
    "load_limit": gettext_lazy("a whole number; empty: the default"),
    "status": gettext_lazy("在库 or 停用; empty: 在库"),
}
