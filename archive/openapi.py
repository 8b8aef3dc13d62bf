"""The OpenAPI 3.0 description of the archive's public JSON API, as a Python dict.

``tests/archive/test_api.py`` validates every real response of ``archive.api``
against these schemas, so the description and the code cannot drift apart.
"""

from copy import deepcopy

from .models import ArchiveState, RecordGrade

STATES = list(ArchiveState.values)
GRADES = list(RecordGrade.values)

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string", "description": "What is wrong and how to fix it."}},
}

_HIT = {
    "type": "object",
    "required": ["number", "title", "class", "year", "pi", "unit", "keywords", "state", "grade", "url", "snippet"],
    "properties": {
        "number": {"type": "string", "example": "CAEA2023A001"},
        "title": {"type": "string"},
        "class": {"type": "string", "description": "Class code (A 学术性课题, B 专项课题, …).", "example": "A"},
        "year": {"type": "integer", "description": "Year approved.", "example": 2023},
        "pi": {"type": "string", "description": "Principal investigator (课题负责人)."},
        "unit": {"type": "string", "description": "The PI's institution (单位)."},
        "keywords": {"type": "array", "items": {"type": "string"}},
        "state": {"type": "string", "enum": STATES},
        "grade": {"type": "string", "enum": GRADES, "nullable": True,
                  "description": "Completion grade (结题等级), null until graded."},
        "url": {"type": "string", "format": "uri", "description": "The public project page."},
        "snippet": {"type": "string", "description": "Plain-text excerpt around the matched words."},
    },
}

_SEARCH = {
    "type": "object",
    "required": ["count", "page", "pages", "results"],
    "properties": {
        "count": {"type": "integer", "description": "Number of matching projects (all pages)."},
        "page": {"type": "integer"},
        "pages": {"type": "integer"},
        "results": {"type": "array", "items": {"$ref": "#/components/schemas/SearchHit"}},
    },
}

_PROJECT = {
    "type": "object",
    "required": [
        "number", "title", "class", "class_name", "year", "pi", "unit", "members", "field", "keywords",
        "abstract", "state", "grade", "completed_on", "outputs", "url",
    ],
    "properties": {
        "number": {"type": "string"},
        "title": {"type": "string"},
        "class": {"type": "string"},
        "class_name": {"type": "string"},
        "year": {"type": "integer"},
        "pi": {"type": "string"},
        "unit": {"type": "string"},
        "members": {"type": "array", "items": {"type": "string"}},
        "field": {"type": "string", "description": "Discipline (学科)."},
        "keywords": {"type": "array", "items": {"type": "string"}},
        "abstract": {"type": "string"},
        "state": {"type": "string", "enum": STATES},
        "grade": {"type": "string", "enum": GRADES, "nullable": True},
        "completed_on": {"type": "string", "format": "date", "nullable": True},
        "outputs": {"type": "array", "items": {"type": "string"},
                    "description": "Outputs (成果) with their citation data, one per item."},
        "url": {"type": "string", "format": "uri"},
    },
}


def _query(name, description, schema):
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def _json_content(ref):
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}


_DOCUMENT = {
    "openapi": "3.0.3",
    "info": {
        "title": "Keti archive API",
        "version": "1.0.0",
        "description": (
            "Read-only access to the public archive (成果库) of an association's research projects: "
            "full-text search in Chinese and the public fields of one project. "
            "Scores, reviewers and the anonymous part (活页) are never published."
        ),
    },
    "paths": {
        "/api/archive/search": {
            "get": {
                "operationId": "searchArchive",
                "summary": "Search the archive, ranked by relevance, 20 per page.",
                "parameters": [
                    _query("q", "Words to look for (Chinese is segmented into words).", {"type": "string"}),
                    _query("year", "Year approved.", {"type": "integer"}),
                    _query("class", "Class code, e.g. A or B.", {"type": "string"}),
                    _query("state", "State in the archive.", {"type": "string", "enum": STATES}),
                    _query("unit", "Unit (institution) name, exactly.", {"type": "string"}),
                    _query("page", "Page number, from 1.", {"type": "integer", "minimum": 1, "default": 1}),
                ],
                "responses": {
                    "200": {"description": "One page of results.", "content": _json_content("SearchResult")},
                    "400": {"description": "A parameter is invalid.", "content": _json_content("Error")},
                },
            }
        },
        "/api/archive/projects/{number}": {
            "get": {
                "operationId": "getArchiveProject",
                "summary": "The public fields of one project.",
                "parameters": [
                    {"name": "number", "in": "path", "required": True, "description": "Project number.",
                     "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": {"description": "The project.", "content": _json_content("Project")},
                    "404": {"description": "No project with this number.", "content": _json_content("Error")},
                },
            }
        },
    },
    "components": {
        "schemas": {"SearchResult": _SEARCH, "SearchHit": _HIT, "Project": _PROJECT, "Error": _ERROR},
    },
}


def openapi_document(server_url=None):
    """The description, with ``server_url`` (the site's root) as its server when given."""
    document = deepcopy(_DOCUMENT)
    if server_url:
        document["servers"] = [{"url": server_url.rstrip("/") or "/"}]
    return document
