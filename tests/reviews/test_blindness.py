"""Blindness (匿名评审), tested the way a curious expert would try it: crawl everything.

``crawl_as`` logs nothing in: it takes a logged-in test client, starts at the
expert's dashboard and follows every same-site link and every GET form it
finds, downloads every file, and returns every text it saw (HTML as sent, with
its attributes and addresses; the paragraphs, tables, headers, footers and core
properties of each .docx; the cells of each .xlsx). The test then looks for the
names, units and numbers of the proposals' people in all of it.

Reusable (the demo-data test imports it)::

    from tests.reviews.test_blindness import crawl_as, identity_strings, leaks
    texts = crawl_as(client)
    assert not leaks(texts, identity_strings(projects))
"""

import io
import re
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin, urlsplit

import docx
import pytest

from projects.models import Member
from reviews import services
from tests.factories import CallClassFactory, InstitutionFactory, ProjectFactory, UserFactory
from tests.reviews.factories import AssignmentFactory, ExpertProfileFactory, ReviewRoundFactory

# Not followed: logging out, switching language, the admin, static files, and the account's own
# pages (/accounts/: login, password, profile), which read no proposal but whose unit
# drop-down lists every registered unit, the PIs' among them, as choices for the user's own.
SKIP_PREFIXES = ("/accounts/", "/i18n/", "/admin/", "/static/")
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CORE_PROPERTIES = ("author", "last_modified_by", "title", "subject", "keywords", "comments", "category")


# ---- the crawler ---------------------------------------------------------------------------------


class _Page(HTMLParser):
    """The links and GET forms of one HTML page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links, self.forms = [], []
        self._form = None
        self._select = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        elif tag == "form":
            method = (attrs.get("method") or "get").lower()
            self._form = {"action": attrs.get("action") or "", "fields": []} if method == "get" else None
            if self._form is not None:
                self.forms.append(self._form)
        elif self._form is not None and tag == "input" and attrs.get("name"):
            kind = (attrs.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            self._form["fields"].append((attrs["name"], attrs.get("value") or ("on" if kind == "checkbox" else "")))
        elif self._form is not None and tag == "select" and attrs.get("name"):
            self._select = {"name": attrs["name"], "first": None, "chosen": None}
        elif self._select is not None and tag == "option":
            value = attrs.get("value", "")
            if self._select["first"] is None:
                self._select["first"] = value
            if "selected" in attrs:
                self._select["chosen"] = value
        elif self._form is not None and tag == "textarea" and attrs.get("name"):
            self._textarea = [attrs["name"], ""]

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select" and self._select is not None:
            chosen = self._select["chosen"] if self._select["chosen"] is not None else self._select["first"]
            if self._form is not None and chosen is not None:
                self._form["fields"].append((self._select["name"], chosen))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            if self._form is not None:
                self._form["fields"].append(tuple(self._textarea))
            self._textarea = None


def _same_site(base, href, skip):
    """The path (and query) of ``href`` when it stays on the site and is not skipped, else None."""
    if href.startswith(("mailto:", "tel:", "javascript:", "data:")):
        return None
    parts = urlsplit(urljoin(base, href))
    if parts.scheme not in ("", "http", "https") or parts.netloc not in ("", "testserver"):
        return None
    if not parts.path or parts.path.startswith(skip):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _form_target(url, form):
    """Where a GET form goes: its action (the page itself when empty) with the fields as the query."""
    action = urlsplit(urljoin(url, form["action"] or url))
    return f"{action.path}?{urlencode(form['fields'])}"


def _body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def docx_texts(data):
    """Paragraphs, table cells (nested too), headers and footers, and the core properties of a .docx."""
    document = docx.Document(io.BytesIO(data))
    texts = [p.text for p in document.paragraphs] + list(_cells(document.tables))
    for section in document.sections:
        for part in (section.header, section.footer, section.first_page_header, section.first_page_footer,
                     section.even_page_header, section.even_page_footer):
            texts += [p.text for p in part.paragraphs] + list(_cells(part.tables))
    properties = document.core_properties
    texts += [f"{name}: {getattr(properties, name) or ''}" for name in CORE_PROPERTIES]
    return texts


def _cells(tables):
    for table in tables:
        for row in table.rows:
            for cell in row.cells:
                yield cell.text
                yield from _cells(cell.tables)


def xlsx_texts(data):
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(data), read_only=True)
    props = workbook.properties
    texts = [str(getattr(props, name) or "") for name in ("creator", "lastModifiedBy", "title", "subject",
                                                             "keywords", "description", "category")]
    for sheet in workbook.worksheets:
        texts.append(sheet.title)
        for row in sheet.iter_rows(values_only=True):
            texts += [str(value) for value in row if value is not None]
    return texts


def _file_texts(response, data):
    kind = response.get("Content-Type", "")
    if kind.startswith(DOCX) or data[:2] == b"PK" and b"word/" in data[:4000]:
        return docx_texts(data)
    if kind.startswith(XLSX):
        return xlsx_texts(data)
    return [data.decode("utf-8", errors="replace")]


def crawl_as(client, start="/review/", *, skip=SKIP_PREFIXES, limit=3000):
    """Every text ``client`` can reach from ``start`` by links, GET forms and redirects.

    Returns a list with one text per address visited, each starting with the
    address and the response's Content-Disposition (a file name can leak too);
    HTML as sent (so attributes, hidden fields and link targets are checked),
    files read as a person would read them. ``limit`` bounds the addresses visited.
    """
    queue, seen, texts = [start], {start}, []
    while queue and len(seen) <= limit:
        url = queue.pop(0)
        response = client.get(url)
        header = f"{url}\n{response.get('Content-Disposition', '')}\n"
        found = []
        if response.status_code in (301, 302, 303, 307, 308):
            found.append(response["Location"])
            texts.append(header + response["Location"])
        elif response.status_code == 200:
            data = _body(response)
            if response.get("Content-Type", "").startswith("text/html"):
                html = data.decode(response.charset or "utf-8", errors="replace")
                texts.append(header + html)
                page = _Page()
                page.feed(html)
                found += page.links
                found += [_form_target(url, form) for form in page.forms]
            else:
                texts.append(header + "\n".join(_file_texts(response, data)))
        else:
            texts.append(header + data_or_empty(response))
        for href in found:
            target = _same_site(url, href, skip)
            if target is not None and target not in seen:
                seen.add(target)
                queue.append(target)
    return texts


def data_or_empty(response):
    try:
        return _body(response).decode("utf-8", errors="replace")
    except Exception:  # noqa: BLE001 - an error page that cannot be read holds nothing to check
        return ""


def identity_strings(projects):
    """What would tell an expert whose proposal it is: names, units and numbers of each project."""
    strings = set()
    for project in projects:
        pi = project.pi
        strings.add(pi.real_name)
        if pi.institution_id:
            strings.add(pi.institution.name)
        if project.institution_id:
            strings.add(project.institution.name)
        for member in Member.objects.filter(project=project):
            strings.update({member.name, member.unit})
        strings.update({project.receipt_number or "", project.number or ""})
    return {s.strip() for s in strings if s and s.strip()}


def leaks(texts, strings):
    """[(string, the address where it was found)] for every string found in the crawled texts."""
    return [(s, text.split("\n", 1)[0]) for text in texts for s in strings if s in text]


# ---- the test ------------------------------------------------------------------------------------

PROPOSALS = [
    {
        "pi": ("欧阳明远", "东海滨江师范学院"),
        "members": [("司马静怡", "南湖教育学院"), ("上官婉清", "北岭开放大学")],
        "receipt_number": "SB202398761",
        "number": "ZCX2023A987",
    },
    {
        "pi": ("诸葛云帆", "西山职业技术学院"),
        "members": [("慕容晓峰", "东海滨江师范学院分院"), ("端木秋实", "中原社区学院")],
        "receipt_number": "SB202398762",
        "number": "ZCX2023A988",
    },
]
COMPLETE = {
    "scores": {"topic": "8", "argument": "7", "foundation": "9"},
    "recommendation": "A",
    "comments_to_applicant": "选题具有现实意义，论证较为充分。",
    "comments_to_committee": "建议入围。",
}


@pytest.fixture
def blind_round(db):
    call_class = CallClassFactory(code="A")
    review_round = ReviewRoundFactory(call_class=call_class, state="open", experts_see_each_other=True)
    projects = []
    for spec in PROPOSALS:
        name, unit = spec["pi"]
        pi = UserFactory(real_name=name, institution=InstitutionFactory(name=unit), phone="13900001111")
        project = ProjectFactory(
            call_class=call_class, pi=pi, state="in_review",
            receipt_number=spec["receipt_number"], number=spec["number"],
        )
        for order, (member, member_unit) in enumerate(spec["members"]):
            Member.objects.create(project=project, order=order, name=member, title="副教授", unit=member_unit, task="调研")
        projects.append(project)
    experts = [
        ExpertProfileFactory(user__username=f"blind-expert-{i}", user__institution=InstitutionFactory(name=f"评审专家学院{i}"))
        for i in range(3)
    ]
    for project in projects:
        for expert in experts:
            AssignmentFactory(round=review_round, project=project, expert=expert)
    return review_round, projects, experts


def _review(review_round, experts):
    """Expert 0 submits both; expert 1 submits one and keeps a draft of the other; expert 2 only signs."""
    from reviews.aggregation import ensure_aliases

    for expert in experts:
        services.sign_declaration(expert, review_round)
    for assignment in review_round.assignments.filter(expert=experts[0]):
        services.submit_review(assignment, COMPLETE, by=experts[0].user)
    first, second = review_round.assignments.filter(expert=experts[1]).order_by("project_id")
    services.submit_review(first, COMPLETE, by=experts[1].user)
    services.save_review(second, COMPLETE, by=experts[1].user)
    ensure_aliases(review_round)


def test_no_expert_can_reach_a_name_a_unit_or_a_number(client, blind_round):
    review_round, projects, experts = blind_round
    _review(review_round, experts)
    secrets = identity_strings(projects) | {p.pi.email for p in projects} | {p.pi.phone for p in projects}
    assert {"欧阳明远", "慕容晓峰", "西山职业技术学院", "北岭开放大学", "SB202398761", "ZCX2023A988"} <= secrets
    for expert in experts:
        client.force_login(expert.user)
        texts = crawl_as(client)
        visited = [text.split("\n", 1)[0] for text in texts]
        assert sum(url.endswith("/huoye.docx") for url in visited) == 2
        assert not leaks(texts, secrets), expert.user.username
        other_experts = {e.user.real_name for e in experts if e != expert}  # reviews are shown under aliases
        assert not leaks(texts, other_experts), expert.user.username
        project_urls = {f"/projects/{project.pk}/" for project in projects}
        assert not leaks(texts, project_urls), expert.user.username
        client.logout()


def test_the_crawler_reads_what_it_downloads(client, blind_round):
    """The crawler itself: it reaches the dossiers and reads the .docx it downloads (else the test above proves nothing)."""
    review_round, projects, experts = blind_round
    _review(review_round, experts)
    client.force_login(experts[0].user)
    texts = crawl_as(client)
    dossier_pages = [t for t in texts if t.startswith("/review/") and projects[0].title in t]
    assert dossier_pages
    files = [t for t in texts if t.split("\n", 1)[0].endswith("huoye.docx")]
    assert len(files) == 2
    assert all("评审意见表" in t and "author: \n" in t and 'filename="huoye.docx"' in t for t in files)
    # The other expert's submitted review is there, under an alias only.
    assert any(re.search(r"<h3>专家\d</h3>", t) for t in dossier_pages)


def test_a_leak_would_be_found(client, blind_round):
    """A title that carries the PI's name is found in the page and in the .docx: the net has no hole."""
    review_round, projects, experts = blind_round
    projects[0].title = "欧阳明远团队的老年教育研究"
    projects[0].save(update_fields=["title"])
    _review(review_round, experts)
    client.force_login(experts[0].user)
    found = leaks(crawl_as(client), {"欧阳明远"})
    addresses = {address for _string, address in found}
    assert any(a.endswith("huoye.docx") for a in addresses)
    assert any(a.startswith("/review/") and not a.endswith(".docx") for a in addresses)
