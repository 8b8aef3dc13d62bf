"""The expert pool (专家库): the Excel sheet both ways, and invitations with their set-password link."""

from io import BytesIO
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from openpyxl import Workbook, load_workbook

from accounts import roles
from reviews import pool
from reviews.models import ExpertProfile
from tests.factories import UserFactory
from tests.reviews.factories import ExpertProfileFactory

User = get_user_model()
pytestmark = pytest.mark.django_db


def sheet(*rows, headers=pool.HEADERS):
    """An .xlsx upload with ``headers`` and ``rows`` (lists of cells, or dicts by Chinese header)."""
    workbook = Workbook()
    ws = workbook.active
    ws.append(list(headers))
    for row in rows:
        ws.append([row.get(h, "") for h in headers] if isinstance(row, dict) else list(row))
    buffer = BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return buffer


def row(**fields):
    base = {
        "姓名": "王建国", "电子邮箱": "wang@example.org", "工作单位": "华东师范大学", "职称": "教授",
        "学科": "成人教育学、终身教育", "研究关键词": "学分银行，资历框架; 终身学习", "代表性成果与课题": "《终身教育研究》\n国家课题一项",
        "每轮最多评审数": 15, "状态": "在库",
    }
    base.update(fields)
    return base


def run_import(upload, by, capture):
    with capture(execute=True):
        return pool.import_experts(upload, by=by, base_url="http://testserver/")


def profile_count():
    return ExpertProfile.objects.count(), User.objects.count()


# ---- import: the happy path -------------------------------------------------------------------


def test_import_creates_accounts_roles_profiles_and_invites_new_people(
    secretary, unit, mailoutbox, django_capture_on_commit_callbacks
):
    known = UserFactory(username="li", email="Li.Hua@Example.org", real_name="李华")
    upload = sheet(
        row(),
        row(姓名="李华", 电子邮箱="li.hua@example.ORG", 工作单位="某市社区学院", 每轮最多评审数="", 状态="停用", 用户名=""),
    )

    report = run_import(upload, secretary, django_capture_on_commit_callbacks)

    assert report.ok, [str(e) for e in report.errors]
    assert (report.total, report.created, report.updated, report.unchanged) == (2, 2, 0, 0)
    wang = User.objects.get(email="wang@example.org")
    assert not wang.has_usable_password() and wang.username == "wang@example.org"
    assert roles.has_role(wang, roles.EXPERT)
    profile = wang.expert_profile
    assert profile.institution == unit and profile.unit_name == ""
    assert profile.disciplines == ["成人教育学", "终身教育"]
    assert profile.keywords == ["学分银行", "资历框架", "终身学习"]
    assert profile.profile_text == "《终身教育研究》\n国家课题一项"
    assert (profile.title, profile.load_limit, profile.active) == ("教授", 15, True)

    known.refresh_from_db()
    assert User.objects.filter(email__iexact="li.hua@example.org").count() == 1
    assert roles.has_role(known, roles.EXPERT) and known.has_usable_password()
    assert known.expert_profile.unit_name == "某市社区学院" and known.expert_profile.institution is None
    assert known.expert_profile.load_limit == pool.rule("EXPERT_LOAD_LIMIT")
    assert known.expert_profile.active is False
    # Only the new account is invited.
    assert [m.to for m in mailoutbox] == [["wang@example.org"]]


def test_a_second_import_updates_by_address_and_counts_what_did_not_change(
    secretary, unit, django_capture_on_commit_callbacks, mailoutbox
):
    run_import(sheet(row(), row(姓名="张丽华", 电子邮箱="zhang@example.org")), secretary,
               django_capture_on_commit_callbacks)
    mailoutbox.clear()

    report = run_import(sheet(row(电子邮箱="WANG@example.org", 每轮最多评审数=8), row(姓名="张丽华", 电子邮箱="zhang@example.org")),
                        secretary, django_capture_on_commit_callbacks)

    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    assert ExpertProfile.objects.get(user__email="wang@example.org").load_limit == 8
    assert mailoutbox == []


def test_english_headers_in_any_order_are_read(secretary, unit, django_capture_on_commit_callbacks):
    upload = sheet(["wu@example.org", "吴晓东", "active", "社区教育"],
                   headers=["E-mail", "Name", "Status", "Disciplines", "Unit", "Title", "Keywords",
                            "Publications and projects", "Load limit"])
    report = run_import(upload, secretary, django_capture_on_commit_callbacks)
    assert report.ok, [str(e) for e in report.errors]
    assert ExpertProfile.objects.get(user__email="wu@example.org").disciplines == ["社区教育"]


def test_export_then_import_changes_nothing(secretary, unit, other_unit, django_capture_on_commit_callbacks):
    ExpertProfileFactory(user__email="a@example.org", institution=unit, disciplines=["成人教育学", "终身教育"],
                         keywords=["老年教育", "数字素养"], profile_text="甲\n乙", load_limit=12)
    ExpertProfileFactory(user__email="b@example.org", institution=None, unit_name="某研究所", active=False)
    ExpertProfileFactory(user__email="c@example.org", institution=other_unit, disciplines=[], keywords=[],
                         profile_text="", title="")
    before = list(ExpertProfile.objects.order_by("pk").values())

    data = pool.export_experts()
    report = run_import(BytesIO(data), secretary, django_capture_on_commit_callbacks)

    assert report.ok, [str(e) for e in report.errors]
    assert (report.created, report.updated, report.unchanged) == (0, 0, 3)
    assert list(ExpertProfile.objects.order_by("pk").values()) == before


def test_export_has_the_header_row_frozen_and_widths(unit):
    ExpertProfileFactory(user__real_name="王建国", institution=unit)
    ws = load_workbook(BytesIO(pool.export_experts())).active
    assert [c.value for c in ws[1]] == list(pool.HEADERS)
    assert ws.freeze_panes == "B2" and ws[1][0].font.bold
    assert ws.column_dimensions["C"].width == 28
    assert ws["A2"].value == "王建国" and ws["D2"].value == "华东师范大学" and ws["J2"].value == "在库"


# ---- import: every kind of error, and nothing written ----------------------------------------------


def errors_of(report):
    return [str(error) for error in report.errors]


def test_every_row_error_is_reported_with_row_and_column_and_nothing_is_written(
    english, secretary, unit, mailoutbox, django_capture_on_commit_callbacks
):
    before = profile_count()
    upload = sheet(
        row(),  # row 2 is right, but is not imported either
        row(姓名="", 电子邮箱="a@example.org"),  # 3
        row(电子邮箱="not-an-address"),  # 4
        row(电子邮箱="b@example.org", 状态="退休"),  # 5
        row(电子邮箱="c@example.org", 每轮最多评审数="十五"),  # 6
        row(电子邮箱="WANG@example.org"),  # 7: the address of row 2 again
        row(电子邮箱="d@example.org", 每轮最多评审数=0),  # 8
    )

    report = run_import(upload, secretary, django_capture_on_commit_callbacks)

    assert errors_of(report) == [
        "Row 3, “姓名”: the name is missing.",
        "Row 4, “电子邮箱”: “not-an-address” is not an e-mail address.",
        "Row 5, “状态”: “退休” is not one of 在库、停用.",
        "Row 6, “每轮最多评审数”: “十五” is not a whole number.",
        "Row 7, “电子邮箱”: the address wang@example.org is already in row 2.",
        "Row 8, “每轮最多评审数”: 0 is not between 1 and 200.",
    ]
    assert report.summary() == "Nothing was imported: the sheet has 6 error(s)."
    assert profile_count() == before and mailoutbox == []


def test_usernames_are_not_taken_from_others_nor_changed(english, secretary, unit, django_capture_on_commit_callbacks):
    UserFactory(username="wangjg", email="someone@example.org")
    UserFactory(username="zhang", email="zhang@example.org")
    report = run_import(sheet(
        row(用户名="wangjg"),
        row(电子邮箱="zhang@example.org", 用户名="zhang2"),
        row(电子邮箱="x@example.org", 用户名="same"),
        row(电子邮箱="y@example.org", 用户名="same"),
        row(电子邮箱="z@example.org", 用户名="bad name!"),
    ), secretary, django_capture_on_commit_callbacks)
    assert errors_of(report) == [
        "Row 2, “用户名”: the username wangjg belongs to another account.",
        "Row 3, “用户名”: the account of zhang@example.org has the username zhang; an import does not change usernames.",
        "Row 5, “用户名”: the username same is already in row 4.",
        "Row 6, “用户名”: “bad name!” may contain only letters, digits and @ . + - _.",
    ]
    assert not ExpertProfile.objects.exists()


def test_too_many_rows_are_refused_with_a_message(english, secretary, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(pool, "MAX_ROWS", 3)  # the limit is a setting of the module; 5,000 rows would be slow
    rows = [row(电子邮箱=f"e{n}@example.org") for n in range(4)]
    report = run_import(sheet(*rows), secretary, django_capture_on_commit_callbacks)
    assert errors_of(report) == ["The sheet has more than 3 experts; import at most 3 at a time."]
    assert not ExpertProfile.objects.exists()


def test_a_missing_or_unknown_header_is_an_error(english, secretary, django_capture_on_commit_callbacks):
    headers = [h for h in pool.HEADERS if h != "电子邮箱"] + ["备注"]
    report = run_import(sheet(headers=headers), secretary, django_capture_on_commit_callbacks)
    assert errors_of(report) == [
        f"Row 1, “备注”: this column is not one of the sheet's ({'、'.join(pool.HEADERS)}).",
        "Row 1: the column “电子邮箱” is missing.",
    ]


@pytest.mark.parametrize("content", [b"name,email\n", b"PK\x03\x04 not really a zip", b""])
def test_a_file_that_is_not_a_workbook_gets_a_clear_message(english, secretary, content,
                                                            django_capture_on_commit_callbacks):
    report = run_import(BytesIO(content), secretary, django_capture_on_commit_callbacks)
    assert errors_of(report) == ["The file is not an Excel workbook (.xlsx)."]


def test_only_the_secretariat_imports(applicant):
    with pytest.raises(PermissionDenied):
        pool.import_experts(sheet(row()), by=applicant)


# ---- invitations (专家邀请) ----------------------------------------------------------------------


def test_invite_creates_account_role_profile_and_one_mail_with_a_working_link(
    english, client, secretary, unit, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        profile = pool.invite_expert(
            email="Zhao.Ming@Example.org", real_name="赵明辉", by=secretary, base_url="http://testserver/",
            unit="华东师范大学", title="研究员", disciplines="职业教育、成人教育学", keywords=["产教融合"], load_limit=10,
        )

    user = profile.user
    assert user.email == "Zhao.Ming@example.org" and user.real_name == "赵明辉" and not user.has_usable_password()
    assert roles.has_role(user, roles.EXPERT)
    assert (profile.institution, profile.title, profile.load_limit) == (unit, "研究员", 10)
    assert profile.disciplines == ["职业教育", "成人教育学"] and profile.keywords == ["产教融合"]

    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    # The mail is written in the association's language (zh-hans), whatever the sender's.
    assert mail.to == ["Zhao.Ming@example.org"] and mail.subject
    link = next(word for word in mail.body.split() if "/password/reset/" in word)
    assert link.startswith("http://testserver/")
    assert user.username in mail.body and "http://testserver/experts/me/" in mail.body

    response = client.get(urlsplit(link).path, follow=True)
    assert response.status_code == 200 and response.context["validlink"]
    form_url = response.redirect_chain[-1][0]
    response = client.post(form_url, {"new_password1": "Kx7-review-2024", "new_password2": "Kx7-review-2024"})
    assert response.status_code == 302
    assert client.login(username=user.username, password="Kx7-review-2024")
    # The link worked once.
    client.logout()
    assert not client.get(urlsplit(link).path, follow=True).context["validlink"]


def test_invite_reuses_an_account_by_address_and_points_to_the_login(
    english, secretary, mailoutbox, django_capture_on_commit_callbacks
):
    known = UserFactory(username="chen", email="chen@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        profile = pool.invite_expert(email="CHEN@example.org", real_name="陈海燕", by=secretary,
                                     base_url="http://testserver/")
    assert profile.user == known and User.objects.filter(email__iexact="chen@example.org").count() == 1
    assert profile.load_limit == pool.rule("EXPERT_LOAD_LIMIT")
    assert "http://testserver/accounts/login/" in mailoutbox[0].body and "/password/reset/" not in mailoutbox[0].body


def test_invite_refuses_a_bad_address_and_strangers(english, secretary, applicant):
    with pytest.raises(ValidationError):
        pool.invite_expert(email="nobody", real_name="某人", by=secretary)
    with pytest.raises(PermissionDenied):
        pool.invite_expert(email="x@example.org", real_name="某人", by=applicant)
    assert not ExpertProfile.objects.exists()


def test_the_invitation_task_is_safe_when_the_expert_is_gone(db):
    from reviews.tasks_pool import send_expert_invitation

    assert send_expert_invitation(987654) is False


# ---- later edits -------------------------------------------------------------------------------


def test_experts_change_only_their_own_fields(secretary):
    profile = ExpertProfileFactory(load_limit=20)
    other = ExpertProfileFactory()
    pool.update_expert(profile, by=profile.user, keywords="老年教育，数字素养", disciplines=["老年教育"])
    profile.refresh_from_db()
    assert profile.keywords == ["老年教育", "数字素养"]
    with pytest.raises(PermissionDenied):
        pool.update_expert(profile, by=profile.user, load_limit=50)
    with pytest.raises(PermissionDenied):
        pool.update_expert(profile, by=other.user, keywords=["x"])
    pool.update_expert(profile, by=secretary, load_limit=5, unit="某研究所")
    profile.refresh_from_db()
    assert (profile.load_limit, profile.unit_name, profile.institution) == (5, "某研究所", None)


def test_split_terms_reads_every_separator():
    assert pool.split_terms(" 甲、乙，丙,丁;戊；甲 ") == ["甲", "乙", "丙", "丁", "戊"]


def test_a_generated_username_avoids_one_given_in_the_same_sheet(secretary, unit, django_capture_on_commit_callbacks):
    report = run_import(sheet(row(电子邮箱="a@example.org", 用户名="b@example.org"), row(电子邮箱="b@example.org")),
                        secretary, django_capture_on_commit_callbacks)
    assert report.ok, errors_of(report)
    assert User.objects.get(email="b@example.org").username == "b@example.org-2"
