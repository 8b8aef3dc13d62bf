"""The archive's read-only JSON API: shapes, status codes, no leaks, and the OpenAPI description.

Every response a test receives goes through ``check_against_openapi``, a small
validator of the OpenAPI schema subset the description uses (type, nullable,
required, properties, items, enum, $ref), so the description and the code
cannot drift apart.
"""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from archive.openapi import openapi_document
from archive.search import index_records
from tests.archive.factories import make_record as make_imported_record
from tests.factories import ProjectFactory

LEAKS = ("SB202377777", "依据中的机密字串甲乙丙", "内容中的机密字串丁戊己", "基础中的机密字串庚辛壬",
         "13900001111", "leaky-pi@example.org")


# ---- a tiny OpenAPI 3.0 schema checker ----------------------------------------------

TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
}


def _resolve(document, schema):
    while "$ref" in schema:
        node = document
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def schema_errors(document, schema, value, where="$"):
    schema = _resolve(document, schema)
    if value is None:
        return [] if schema.get("nullable") else [f"{where}: null but not nullable"]
    kind = schema.get("type")
    if kind:
        expected = TYPES[kind]
        if isinstance(value, bool) and kind in ("integer", "number"):
            return [f"{where}: boolean where {kind} expected"]
        if not isinstance(value, expected):
            return [f"{where}: {type(value).__name__} where {kind} expected"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where}: {value!r} not in {schema['enum']}"]
    errors = []
    if kind == "object":
        errors += [f"{where}: missing {name}" for name in schema.get("required", []) if name not in value]
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                errors += schema_errors(document, sub, value[name], f"{where}.{name}")
        undocumented = set(value) - set(schema.get("properties", {}))
        errors += [f"{where}: undocumented property {name}" for name in sorted(undocumented)]
    if kind == "array":
        for i, item in enumerate(value):
            errors += schema_errors(document, schema.get("items", {}), item, f"{where}[{i}]")
    return errors


def check_against_openapi(response, path_template):
    """Assert the response's status is documented for the path and its body matches the schema."""
    document = openapi_document()
    operation = document["paths"][path_template]["get"]
    status = str(response.status_code)
    assert status in operation["responses"], f"{status} not documented for {path_template}"
    assert response["Content-Type"].startswith("application/json")
    schema = operation["responses"][status]["content"]["application/json"]["schema"]
    assert schema_errors(document, schema, response.json()) == []
    return response.json()


def test_the_checker_catches_mismatches():
    document = openapi_document()
    hit = {"$ref": "#/components/schemas/SearchHit"}
    assert schema_errors(document, hit, {"number": "x"})  # required properties missing
    good = {"number": "X", "title": "t", "class": "A", "year": 2023, "pi": "p", "unit": "u", "keywords": [],
            "state": "ongoing", "grade": None, "url": "http://x/", "snippet": ""}
    assert schema_errors(document, hit, good) == []
    assert schema_errors(document, hit, {**good, "year": "2023"})
    assert schema_errors(document, hit, {**good, "state": "draft"})
    assert schema_errors(document, hit, {**good, "keywords": [1]})
    assert schema_errors(document, hit, {**good, "score": 1.0})


# ---- data ---------------------------------------------------------------------------


def make_record(number, **fields):
    """An indexed Record: the API answers from the search index."""
    record = make_imported_record(number, **fields)
    index_records([record])
    return record



@pytest.fixture
def leaky_project(db):
    return ProjectFactory(
        state="active", number="CAEA2023A901", receipt_number=LEAKS[0], title="老年教育数字化转型路径研究",
        basis=LEAKS[1], content=LEAKS[2], foundation=LEAKS[3],
        pi__username="leakypi", pi__real_name="赵明辉", pi__phone=LEAKS[4], pi__email=LEAKS[5],
    )


@pytest.fixture
def linked_record(leaky_project):
    return make_record(
        leaky_project.number, title=leaky_project.title, pi_name="赵明辉", unit_name="华东师范大学",
        keywords=["老年教育", "数字化"], abstract="面向<老年>学习者的数字化学习支持研究。", state="completed",
        grade="excellent", completed_on=dt.date(2025, 6, 30),
        outputs="论文《老年数字学习》，《开放教育研究》2024年第3期\n研究报告一份",
        source="workflow", project=leaky_project,
    )


SEARCH = "/api/archive/search"
PROJECT = "/api/archive/projects/{number}"


def api_search(client, **params):
    return client.get(reverse("archive-api-search"), params)


# ---- search -------------------------------------------------------------------------


def test_search_answers_the_documented_shape(client, linked_record):
    make_record("CAEA2022B001", class_code="B", class_name="专项课题", year=2022, title="职业教育研究",
                keywords=["职业教育"], abstract="产教融合。")
    assert reverse("archive-api-search") == SEARCH
    response = api_search(client, q="老年教育")
    assert response.status_code == 200
    body = check_against_openapi(response, SEARCH)
    assert body["count"] == 1 and body["page"] == 1 and body["pages"] == 1
    (hit,) = body["results"]
    assert hit == {
        "number": "CAEA2023A901",
        "title": "老年教育数字化转型路径研究",
        "class": "A",
        "year": 2023,
        "pi": "赵明辉",
        "unit": "华东师范大学",
        "keywords": ["老年教育", "数字化"],
        "state": "completed",
        "grade": "excellent",
        "url": "http://testserver/archive/projects/CAEA2023A901/",
        "snippet": hit["snippet"],
    }
    assert "老年" in hit["snippet"]
    assert "<mark>" not in hit["snippet"] and "&lt;" not in hit["snippet"]


def test_search_ranks_by_relevance(client, db):
    make_record("CAEA2023A001", title="学分银行研究", keywords=["学习成果"], abstract="学分银行的制度设计。")
    make_record("CAEA2023A002", title="学分银行与学分银行认证：学分银行建设", keywords=["学分银行"],
                abstract="学分银行，学分银行，学分银行。")
    body = check_against_openapi(api_search(client, q="学分银行"), SEARCH)
    assert [hit["number"] for hit in body["results"]] == ["CAEA2023A002", "CAEA2023A001"]


def test_search_filters(client, db):
    make_record("CAEA2021A001", year=2021)
    make_record("CAEA2023A001", unit_name="国家开放大学")
    make_record("CAEA2023B001", class_code="B", state="completed", grade="good")

    def numbers(**params):
        return sorted(hit["number"] for hit in check_against_openapi(api_search(client, **params), SEARCH)["results"])

    assert numbers(year="2021") == ["CAEA2021A001"]
    assert numbers(**{"class": "B"}) == ["CAEA2023B001"]
    assert numbers(state="completed") == ["CAEA2023B001"]
    assert numbers(unit="国家开放大学") == ["CAEA2023A001"]
    assert numbers(q="社区教育", year="2023", state="ongoing") == ["CAEA2023A001"]
    assert numbers() == ["CAEA2021A001", "CAEA2023A001", "CAEA2023B001"]


def test_search_pages(client, db):
    for n in range(1, 23):
        make_record(f"CAEA2023A{n:03d}")
    first = check_against_openapi(api_search(client, q="社区教育"), SEARCH)
    second = check_against_openapi(api_search(client, q="社区教育", page="2"), SEARCH)
    assert (first["count"], first["pages"], len(first["results"])) == (22, 2, 20)
    assert (second["page"], len(second["results"])) == (2, 2)


@pytest.mark.parametrize("params", [
    {"year": "2023年"}, {"year": "abc"}, {"page": "x"}, {"page": "0"}, {"page": "-1"},
    {"state": "draft"}, {"state": "active"}, {"class": "Z"},
])
def test_invalid_parameters_are_400(client, db, params):
    make_record("CAEA2023A001")
    response = api_search(client, **params)
    assert response.status_code == 400
    body = check_against_openapi(response, SEARCH)
    assert set(body) == {"error"} and body["error"]


def test_search_does_not_leak(client, linked_record, leaky_project):
    for query in ("老年教育", "", *LEAKS):
        response = api_search(client, q=query)
        text = response.content.decode()
        assert not any(planted in text for planted in LEAKS)
        assert f'"id": {leaky_project.pk}' not in text
        check_against_openapi(response, SEARCH)
    for planted in LEAKS:
        assert api_search(client, q=planted).json()["count"] == 0


def test_search_query_count_does_not_grow_with_results(client, db):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert api_search(client, q="社区教育", **{"class": "A"}).status_code == 200
        return len(captured)

    make_record("CAEA2023A001")
    one = queries()
    make_record("CAEA2023A002")
    make_record("CAEA2023A003")
    assert api_search(client, q="社区教育").json()["count"] == 3
    assert queries() == one


def test_only_get(client, db):
    assert client.post(reverse("archive-api-search")).status_code == 405


# ---- one project --------------------------------------------------------------------


def test_project_answers_the_public_fields(client, linked_record, leaky_project):
    url = reverse("archive-api-project", args=[linked_record.number])
    assert url == PROJECT.format(number=linked_record.number)
    response = client.get(url)
    assert response.status_code == 200
    body = check_against_openapi(response, PROJECT)
    assert body == {
        "number": "CAEA2023A901",
        "title": "老年教育数字化转型路径研究",
        "class": "A",
        "class_name": "学术性课题",
        "year": 2023,
        "pi": "赵明辉",
        "unit": "华东师范大学",
        "members": ["李晓东", "张丽华"],
        "field": "成人教育学",
        "keywords": ["老年教育", "数字化"],
        "abstract": "面向<老年>学习者的数字化学习支持研究。",
        "state": "completed",
        "grade": "excellent",
        "completed_on": "2025-06-30",
        "outputs": ["论文《老年数字学习》，《开放教育研究》2024年第3期", "研究报告一份"],
        "url": "http://testserver/archive/projects/CAEA2023A901/",
    }
    text = response.content.decode()
    assert not any(planted in text for planted in LEAKS)


def test_project_without_grade_or_date(client, db):
    make_record("CAEA2023A001")
    body = check_against_openapi(client.get(reverse("archive-api-project", args=["CAEA2023A001"])), PROJECT)
    assert body["grade"] is None and body["completed_on"] is None and body["outputs"] == []


def test_unknown_project_is_a_json_404(client, db):
    draft = ProjectFactory(state="draft", title="尚未提交的草稿课题研究")
    for key in ("CAEA2099Z999", draft.title, str(draft.pk)):
        response = client.get(reverse("archive-api-project", args=[key]))
        assert response.status_code == 404
        assert set(check_against_openapi(response, PROJECT)) == {"error"}


# ---- the description ----------------------------------------------------------------


def test_openapi_is_served_and_describes_both_endpoints(client, db):
    response = client.get(reverse("archive-openapi"))
    assert reverse("archive-openapi") == "/api/archive/openapi.json"
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.0")
    assert set(document["paths"]) == {SEARCH, PROJECT}
    assert document["servers"] == [{"url": "http://testserver"}]
    search = document["paths"][SEARCH]["get"]
    assert {p["name"] for p in search["parameters"]} == {"q", "year", "class", "state", "unit", "page"}
    assert set(search["responses"]) == {"200", "400"}
    assert set(document["paths"][PROJECT]["get"]["responses"]) == {"200", "404"}
    # Every $ref points somewhere.
    refs = []

    def walk(node):
        if isinstance(node, dict):
            refs.extend([node["$ref"]] if "$ref" in node else [])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    assert refs
    for ref in refs:
        assert _resolve(document, {"$ref": ref})
