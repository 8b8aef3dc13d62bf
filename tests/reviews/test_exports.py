"""The score matrix (Excel) and the review summary (Word) of a class ranking: content, and no expert in them."""

import io

import pytest
from django.urls import reverse
from docx import Document
from openpyxl import load_workbook

from tests.factories import CallClassFactory
from tests.reviews.test_aggregation import make_expert, make_proposal_with, make_round


@pytest.fixture
def experts(db):
    return [make_expert(n) for n in range(1, 6)]


@pytest.fixture
def ranked(experts):
    call_class = CallClassFactory(quota=1)
    round = make_round(call_class)
    projects = [
        make_proposal_with(round, [90, 90, 80, 90, 90], experts, list("AAAAB"), title="终身学习成果认证研究"),
        make_proposal_with(round, [80, 60, 70], experts, list("ABB"), title="社区教育治理研究"),
        make_proposal_with(round, [60, 60, 60], experts, list("BBB"), title="开放大学转型研究"),
        make_proposal_with(round, [100], experts, title="老年数字素养研究"),
    ]
    return round, projects


def download(client, user, name, round):
    client.force_login(user)
    response = client.get(reverse(name, args=[round.call_class.pk]))
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    return response.content


def test_score_matrix(client, english, ranked, secretary, experts):
    round, (first, second, third, short) = ranked
    sheet = load_workbook(io.BytesIO(download(client, secretary, "class-ranking-xlsx", round))).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    header = rows[0]
    assert header[:3] == ["Rank", "Receipt number", "Title"]
    assert header[3:8] == ["专家1 选题", "专家1 论证", "专家1 研究基础", "专家1 total", "专家1 recommendation"]
    assert "专家5 total" in header and "专家6 total" not in header
    assert sheet.freeze_panes == "D2"
    assert sheet.column_dimensions["C"].width == 40
    assert [row[:3] for row in rows[1:]] == [
        [1, first.receipt_number, first.title],
        [2, second.receipt_number, second.title],
        [3, third.receipt_number, third.title],
        [None, short.receipt_number, short.title],
    ]
    first_row = dict(zip(header, rows[1]))
    assert first_row["专家3 选题"] == 8 and first_row["专家3 total"] == 80
    assert first_row["专家5 recommendation"] == "不建议入围"
    assert (first_row["Mean"], first_row["Trimmed mean"]) == (88, 90)
    assert (first_row["A 建议入围"], first_row["B 不建议入围"]) == (4, 1)
    assert first_row["Within quota"] == "Yes" and first_row["Shortlist"] == "Yes"
    second_row = dict(zip(header, rows[2]))
    assert second_row["Disagreement"] == "Yes" and not second_row["Within quota"]
    assert second_row["专家4 total"] is None  # only three reviews
    assert dict(zip(header, rows[4]))["Note"] == "Too few valid reviews"
    text = repr(rows)
    for expert in experts:
        assert expert.user.real_name not in text and expert.user.username not in text


def test_review_summary(client, ranked, committee_user, experts):
    round, (first, second, third, short) = ranked
    doc = Document(io.BytesIO(download(client, committee_user, "class-ranking-docx", round)))
    paragraphs = "\n".join(p.text for p in doc.paragraphs)
    assert "评审结果汇总表" in paragraphs
    assert round.call_class.call.title in paragraphs
    assert "限额：1 项　入围：2 项　参评课题：4 项" in paragraphs
    table = doc.tables[0]
    cells = [[cell.text for cell in row.cells] for row in table.rows]
    assert cells[0][:3] == ["排名", "受理编号", "课题名称"]
    assert cells[1][:5] == ["1", first.receipt_number, first.title, first.pi.display_name, first.institution.name]
    assert cells[1][7] == "90.00" and cells[1][-1] == "入围"
    assert "以上为限额内课题（限额 1 项）" in cells[2][0]
    assert cells[3][2] == second.title and cells[3][-2] == "是" and cells[3][-1] == "入围"
    assert cells[4][-1] == ""
    assert cells[5][0] == "—" and cells[5][-1] == "评审不足"
    assert doc.core_properties.author == "" and doc.core_properties.last_modified_by == ""
    everything = paragraphs + repr(cells)
    for expert in experts:
        assert expert.user.real_name not in everything and expert.user.username not in everything


@pytest.fixture
def committee_user(db):
    from accounts import roles
    from tests.factories import UserFactory

    return UserFactory(username="committee", role=roles.COMMITTEE)


def test_exports_of_a_class_without_a_round(client, english, secretary):
    call_class = CallClassFactory()
    client.force_login(secretary)
    for name in ("class-ranking-xlsx", "class-ranking-docx"):
        assert client.get(reverse(name, args=[call_class.pk])).status_code == 200
