"""The archive's pages: public search, public project page, export, the secretariat's search.

Records are made directly and indexed through ``archive.search``; a linked
``Project`` carries planted strings (receipt number, 活页, the PI's phone and
e-mail) that must never reach a public page, the search or the export.
"""

import datetime as dt
from io import BytesIO
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from archive.search import index_records
from tests.archive.factories import make_record
from tests.factories import ProjectFactory

LEAKS = {
    "receipt": "SB202377777",
    "basis": "依据中的机密字串甲乙丙",
    "content": "内容中的机密字串丁戊己",
    "foundation": "基础中的机密字串庚辛壬",
    "phone": "13900001111",
    "email": "leaky-pi@example.org",
}



def index(*records):
    index_records(list(records))
    return records


@pytest.fixture
def leaky_project(db):
    """An active project whose Record is in the archive, with identity and 活页 strings planted."""
    return ProjectFactory(
        state="active",
        number="CAEA2023A901",
        receipt_number=LEAKS["receipt"],
        title="老年教育数字化转型路径研究",
        basis=LEAKS["basis"],
        content=LEAKS["content"],
        foundation=LEAKS["foundation"],
        pi__username="leakypi",
        pi__real_name="赵明辉",
        pi__phone=LEAKS["phone"],
        pi__email=LEAKS["email"],
    )


@pytest.fixture
def linked_record(leaky_project):
    (record,) = index(make_record(
        leaky_project.number,
        title=leaky_project.title,
        pi_name="赵明辉",
        unit_name=leaky_project.institution.name,
        keywords=["老年教育", "数字化"],
        abstract="面向老年学习者的数字化学习支持研究。",
        state="completed",
        grade="excellent",
        completed_on=dt.date(2025, 6, 30),
        outputs="论文《老年数字学习》，《开放教育研究》2024年第3期\n研究报告一份",
        source="workflow",
        project=leaky_project,
    ))
    return record


def assert_no_leaks(text, project=None):
    for name, planted in LEAKS.items():
        assert planted not in text, f"{name} leaked"
    if project is not None:
        assert reverse("project-detail", args=[project.pk]) not in text


def hit_numbers(response):
    return [item["hit"].number for item in response.context["hits"]]


# ---- search -------------------------------------------------------------------------


def test_search_finds_and_highlights(client, db):
    index(
        make_record("CAEA2023A001", title="老年教育课程体系研究", keywords=["老年教育"]),
        make_record("CAEA2023A002", title="职业院校产教融合研究", keywords=["产教融合"],
                    abstract="校企合作的机制。"),
    )
    response = client.get(reverse("archive-search"), {"q": "老年教育"})
    assert response.status_code == 200
    assert hit_numbers(response) == ["CAEA2023A001"]
    text = response.content.decode()
    assert "<mark>" in text
    assert "老年教育课程体系研究" in text
    assert "职业院校产教融合研究" not in text
    assert reverse("archive-project", args=["CAEA2023A001"]) in text
    assert response.context["result"].count == 1


def test_titles_are_escaped_but_snippets_keep_their_marks(client, db):
    index(make_record("CAEA2023A003", title="<b>社区</b>学习研究", abstract="社区学习 <script>x</script>"))
    text = client.get(reverse("archive-search"), {"q": "社区"}).content.decode()
    assert "<b>社区</b>" not in text
    assert "&lt;b&gt;" in text
    assert "<script>x</script>" not in text
    assert "<mark>" in text


def test_empty_query_lists_everything(client, db):
    index(make_record("CAEA2023A001"), make_record("CAEA2022B001", class_code="B", year=2022))
    response = client.get(reverse("archive-search"))
    assert response.status_code == 200
    assert sorted(hit_numbers(response)) == ["CAEA2022B001", "CAEA2023A001"]


def test_facet_links_filter_and_keep_the_other_parameters(client, db):
    index(
        make_record("CAEA2021A001", year=2021, title="社区教育治理研究甲"),
        make_record("CAEA2023A001", year=2023, title="社区教育治理研究乙"),
        make_record("CAEA2023B001", year=2023, class_code="B", class_name="专项课题", title="社区教育治理研究丙"),
    )
    url = reverse("archive-search")
    response = client.get(url, {"q": "社区教育", "sort": "year"})
    groups = {group["param"]: group for group in response.context["facet_groups"]}
    years = {choice["value"]: choice for choice in groups["year"]["choices"]}
    assert years["2023"]["count"] == 2 and years["2021"]["count"] == 1
    classes = {choice["value"]: choice for choice in groups["class"]["choices"]}
    assert classes["B"]["label"] == "B 专项课题"
    link = years["2023"]["url"]
    assert link in response.content.decode().replace("&amp;", "&")
    query = parse_qs(urlsplit(link).query)
    assert query == {"q": ["社区教育"], "sort": ["year"], "year": ["2023"]}

    filtered = client.get(link)
    assert sorted(hit_numbers(filtered)) == ["CAEA2023A001", "CAEA2023B001"]
    groups = {group["param"]: group for group in filtered.context["facet_groups"]}
    assert groups["year"]["selected"] == "2023"
    # A second filter keeps the first.
    class_b = next(c for c in groups["class"]["choices"] if c["value"] == "B")
    assert parse_qs(urlsplit(class_b["url"]).query)["year"] == ["2023"]
    both = client.get(class_b["url"])
    assert hit_numbers(both) == ["CAEA2023B001"]
    assert parse_qs(urlsplit(both.context["clear_all_url"]).query) == {"q": ["社区教育"], "sort": ["year"]}
    # Clearing the year keeps the query and the sort.
    clear = groups["year"]["clear_url"]
    assert parse_qs(urlsplit(clear).query) == {"q": ["社区教育"], "sort": ["year"]}
    assert len(hit_numbers(client.get(clear))) == 3


def test_state_and_grade_filters_show_labels_in_the_users_language(client, db):
    index(
        make_record("CAEA2021A001", year=2021, state="completed", grade="excellent"),
        make_record("CAEA2023A001", state="ongoing"),
    )
    response = client.get(reverse("archive-search"), HTTP_ACCEPT_LANGUAGE="en")
    groups = {group["param"]: group for group in response.context["facet_groups"]}
    assert {c["label"] for c in groups["state"]["choices"]} == {"Completed", "Ongoing"}
    assert [c["label"] for c in groups["grade"]["choices"]] == ["Excellent"]
    chinese = client.get(reverse("archive-search"), {"state": "completed"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert hit_numbers(chinese) == ["CAEA2021A001"]
    text = chinese.content.decode()
    assert "已结题" in text and "优秀" in text


def test_sort_by_year(client, db):
    index(
        make_record("CAEA2019A001", year=2019),
        make_record("CAEA2023A001", year=2023),
        make_record("CAEA2021A001", year=2021),
    )
    response = client.get(reverse("archive-search"), {"q": "社区教育", "sort": "year"})
    assert hit_numbers(response) == ["CAEA2023A001", "CAEA2021A001", "CAEA2019A001"]


def test_pagination_twenty_a_page(client, db):
    index(*[make_record(f"CAEA2023A{n:03d}") for n in range(1, 26)])
    url = reverse("archive-search")
    first = client.get(url, {"q": "社区教育"})
    assert first.context["result"].count == 25
    assert len(hit_numbers(first)) == 20
    next_url = first.context["pagination"]["next"]
    assert parse_qs(urlsplit(next_url).query) == {"q": ["社区教育"], "page": ["2"]}
    second = client.get(next_url)
    assert len(hit_numbers(second)) == 5
    assert not set(hit_numbers(first)) & set(hit_numbers(second))
    assert 'aria-current="page"' in second.content.decode()


def test_bad_parameters_are_ignored_with_a_message(client, db):
    index(make_record("CAEA2023A001"))
    response = client.get(reverse("archive-search"), {"year": "二〇二三", "page": "x", "state": "secret"},
                          HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert set(response.context["errors"]) == {"year", "page", "state"}
    assert hit_numbers(response) == ["CAEA2023A001"]


def test_search_page_query_count_does_not_grow_with_results(client, db):
    url = reverse("archive-search")

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url, {"q": "社区教育", "class": "A"}).status_code == 200
        return len(captured)

    index(make_record("CAEA2023A001"))
    one = queries()
    index(make_record("CAEA2023A002"), make_record("CAEA2023A003"))
    assert len(hit_numbers(client.get(url, {"q": "社区教育"}))) == 3
    assert queries() == one


# ---- the public project page --------------------------------------------------------


def test_project_page_shows_exactly_the_public_fields(client, linked_record, leaky_project):
    response = client.get(reverse("archive-project", args=[linked_record.number]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    text = response.content.decode()
    for shown in (
        "CAEA2023A901", "老年教育数字化转型路径研究", "A 学术性课题", "2023", "赵明辉", leaky_project.institution.name,
        "李晓东、张丽华", "成人教育学", "老年教育；数字化", "面向老年学习者的数字化学习支持研究。", "Completed",
        "Excellent", "2025-06-30", "<li>论文《老年数字学习》，《开放教育研究》2024年第3期</li>", "<li>研究报告一份</li>",
    ):
        assert shown in text, shown
    assert_no_leaks(text, leaky_project)
    record = response.context["record"]
    assert not hasattr(record, "project") and not hasattr(record, "project_id")
    assert set(record.__dataclass_fields__) == {
        "number", "title", "class_code", "class_name", "year", "pi_name", "unit_name", "members", "field",
        "keywords", "abstract", "state", "grade", "completed_on", "outputs",
    }


def test_project_page_404_for_unknown_numbers(client, db):
    assert client.get(reverse("archive-project", args=["CAEA2099Z999"])).status_code == 404


def test_a_project_without_record_is_not_reachable_nor_listed(client, linked_record):
    draft = ProjectFactory(state="draft", title="尚未提交的草稿课题研究")
    for key in (draft.title, str(draft.pk), draft.receipt_number or "none"):
        assert client.get(reverse("archive-project", args=[key])).status_code == 404
    response = client.get(reverse("archive-search"), {"q": "草稿课题"})
    assert response.context["result"].count == 0
    assert draft.title not in response.content.decode()
    everything = client.get(reverse("archive-search"))
    assert hit_numbers(everything) == [linked_record.number]


def test_search_page_does_not_leak(client, linked_record, leaky_project):
    for query in ("老年教育", ""):
        response = client.get(reverse("archive-search"), {"q": query})
        assert response.context["result"].count == 1
        assert_no_leaks(response.content.decode(), leaky_project)
    for planted in LEAKS.values():  # the 活页 and the identity are not even searchable
        response = client.get(reverse("archive-search"), {"q": planted})
        assert response.context["result"].count == 0
        others = {name: value for name, value in LEAKS.items() if value != planted}
        assert not any(value in response.content.decode() for value in others.values())


# ---- export -------------------------------------------------------------------------


def _sheet_rows(response):
    from openpyxl import load_workbook

    workbook = load_workbook(BytesIO(b"".join(response) if response.streaming else response.content))
    return [[cell for cell in row] for row in workbook.active.iter_rows(values_only=True)]


def test_export_link_keeps_the_query(client, db):
    index(make_record("CAEA2023A001"))
    response = client.get(reverse("archive-search"), {"q": "社区", "year": "2023", "sort": "year"})
    export_url = response.context["export_url"]
    assert urlsplit(export_url).path == reverse("archive-export") == "/archive/export.xlsx"
    assert parse_qs(urlsplit(export_url).query) == {"q": ["社区"], "year": ["2023"], "sort": ["year"]}
    assert export_url in response.content.decode().replace("&amp;", "&")


def test_export_is_public_in_rank_order_and_does_not_leak(client, linked_record, leaky_project):
    index(
        make_record("CAEA2019A001", year=2019, title="社区老年教育研究"),
        make_record("CAEA2021A001", year=2021, title="职业教育研究", keywords=["职业教育"], abstract="无关。"),
    )
    response = client.get(reverse("archive-export"), {"q": "老年教育", "sort": "year"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    rows = _sheet_rows(response)
    header, data = rows[0], [row for row in rows[1:] if any(row)]
    assert len(header) == 14
    numbers = [row[0] for row in data]
    assert numbers == ["CAEA2023A901", "CAEA2019A001"]
    assert_no_leaks(repr(rows), leaky_project)


def test_export_is_capped(client, db, monkeypatch):
    import archive.views

    index(*[make_record(f"CAEA2023A{n:03d}") for n in range(1, 6)])
    monkeypatch.setattr(archive.views, "EXPORT_MAX_ROWS", 3)
    rows = _sheet_rows(client.get(reverse("archive-export"), {"q": "社区教育"}))
    assert len([row for row in rows[1:] if any(row)]) == 3


# ---- the secretariat's search -------------------------------------------------------


def test_staff_search_needs_the_secretariat(client, db, applicant):
    url = reverse("archive-staff-search")
    assert url == "/secretariat/archive/"
    response = client.get(url)
    assert response.status_code == 302 and reverse("login") in response["Location"]
    client.force_login(applicant)
    assert client.get(url).status_code == 403


def test_staff_search_links_workflow_projects_and_shows_the_source(client, secretary, linked_record, leaky_project):
    index(make_record("CAEA2018A001", year=2018, title="社区老年教育史研究", source="import"))
    client.force_login(secretary)
    response = client.get(reverse("archive-staff-search"), {"q": "老年教育"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    items = {item["hit"].number: item for item in response.context["hits"]}
    assert items["CAEA2023A901"]["project_url"] == reverse("project-detail", args=[leaky_project.pk])
    assert items["CAEA2018A001"]["project_url"] is None
    text = response.content.decode()
    assert reverse("project-detail", args=[leaky_project.pk]) in text
    assert "Managed in Keti" in text and "Imported" in text
    assert "<mark>" in text


def test_staff_search_query_count_does_not_grow_with_results(client, secretary):
    client.force_login(secretary)
    url = reverse("archive-staff-search")

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url, {"q": "社区教育"}).status_code == 200
        return len(captured)

    index(make_record("CAEA2023A001"))
    one = queries()
    index(make_record("CAEA2023A002", source="workflow", project=ProjectFactory(state="active")),
          make_record("CAEA2023A003"))
    assert queries() == one


def test_urls(db):
    assert reverse("archive-search") == "/archive/"
    assert reverse("archive-project", args=["CAEA2023A001"]) == "/archive/projects/CAEA2023A001/"
    assert reverse("archive-export") == "/archive/export.xlsx"
