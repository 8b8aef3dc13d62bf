"""The Simplified Chinese catalogue is complete, consistent and compiled.

The .po file is read with the standard library only; the compiled .mo is read
with ``gettext.GNUTranslations``. No database is needed.
"""

import ast
import gettext as stdlib_gettext
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.utils.translation import gettext, override

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale" / "zh_Hans" / "LC_MESSAGES"
PO_PATH = LOCALE_DIR / "django.po"
MO_PATH = LOCALE_DIR / "django.mo"

PLACEHOLDER = re.compile(r"%\([^)]+\)[sd]|%[sd]")
KEYWORD = re.compile(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+(\".*\")\s*$")


@dataclass
class Entry:
    line: int
    flags: set = field(default_factory=set)
    msgctxt: str | None = None
    msgid: str | None = None
    msgid_plural: str | None = None
    msgstr: dict = field(default_factory=dict)  # "" for singular, "0", "1"… for plural forms
    obsolete: bool = False

    @property
    def translations(self):
        return list(self.msgstr.values())


def _unquote(literal, lineno):
    # A PO string literal uses C escapes, which Python's string syntax accepts.
    try:
        return ast.literal_eval(literal)
    except (ValueError, SyntaxError) as error:  # pragma: no cover - only on a broken file
        raise AssertionError(f"django.po:{lineno}: bad string literal {literal!r}") from error


def parse_po(path):
    """Return the entries of a .po file (the header included, as msgid "")."""
    entries, entry, target = [], None, None

    def finish():
        if entry is not None and entry.msgid is not None:
            entries.append(entry)

    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            finish()
            entry, target = None, None
            continue
        if line.startswith("#~"):
            # Obsolete entries are ignored by msgfmt; note them but do not check them.
            if entry is None:
                entry = Entry(line=lineno, obsolete=True)
            entry.obsolete = True
            continue
        if entry is None:
            entry = Entry(line=lineno)
        if line.startswith("#,"):
            entry.flags.update(flag.strip() for flag in line[2:].split(",") if flag.strip())
            continue
        if line.startswith("#"):
            continue
        match = KEYWORD.match(line)
        if match:
            keyword, literal = match.groups()
            value = _unquote(literal, lineno)
            if keyword == "msgctxt":
                entry.msgctxt, target = value, ("msgctxt", None)
            elif keyword == "msgid":
                entry.msgid, target = value, ("msgid", None)
            elif keyword == "msgid_plural":
                entry.msgid_plural, target = value, ("msgid_plural", None)
            else:
                index = keyword[7:-1] if "[" in keyword else ""
                entry.msgstr[index] = value
                target = ("msgstr", index)
            continue
        if line.startswith('"') and target is not None:
            value = _unquote(line, lineno)
            name, index = target
            if name == "msgstr":
                entry.msgstr[index] += value
            else:
                setattr(entry, name, getattr(entry, name) + value)
            continue
        raise AssertionError(f"django.po:{lineno}: cannot read {raw!r}")
    finish()
    return [e for e in entries if not e.obsolete]


@pytest.fixture(scope="module")
def entries():
    return parse_po(PO_PATH)


@pytest.fixture(scope="module")
def messages(entries):
    return [e for e in entries if e.msgid != ""]


def _where(entry):
    return f"django.po:{entry.line} {entry.msgid!r}"


def test_the_catalogue_has_messages(messages):
    assert len(messages) > 250


def test_header_is_filled_in_and_not_fuzzy(entries):
    header = next(e for e in entries if e.msgid == "")
    assert "fuzzy" not in header.flags
    text = header.msgstr[""]
    assert "Language: zh_Hans\n" in text
    assert "charset=UTF-8" in text
    assert "Plural-Forms: nplurals=1; plural=0;" in text


def test_no_entry_is_fuzzy(entries):
    fuzzy = [_where(e) for e in entries if "fuzzy" in e.flags]
    assert fuzzy == []


def test_no_msgstr_is_empty(messages):
    empty = [_where(e) for e in messages if not e.msgstr or any(not s.strip() for s in e.translations)]
    assert empty == []


def test_plural_entries_have_exactly_one_form(messages):
    plurals = [e for e in messages if e.msgid_plural is not None]
    wrong = [_where(e) for e in plurals if sorted(e.msgstr) != ["0"]]
    assert wrong == []


def test_placeholders_are_kept(messages):
    problems = []
    for entry in messages:
        wanted = set(PLACEHOLDER.findall(entry.msgid))
        if entry.msgid_plural is not None:
            wanted |= set(PLACEHOLDER.findall(entry.msgid_plural))
        for translation in entry.translations:
            missing = wanted - set(PLACEHOLDER.findall(translation))
            extra = set(PLACEHOLDER.findall(translation)) - wanted
            if missing or extra:
                problems.append(f"{_where(entry)}: missing {sorted(missing)}, extra {sorted(extra)}")
    assert problems == []


def test_compiled_catalogue_is_up_to_date(messages):
    with MO_PATH.open("rb") as fp:
        catalogue = stdlib_gettext.GNUTranslations(fp)
    # GNUTranslations keys the header as "", plurals as (msgid, n) and contexts as "ctxt\x04msgid".
    compiled = {}
    for key, value in catalogue._catalog.items():
        msgid = key[0] if isinstance(key, tuple) else key
        if msgid != "" and value:
            compiled[msgid] = value
    expected = {(f"{e.msgctxt}\x04{e.msgid}" if e.msgctxt is not None else e.msgid) for e in messages}
    assert len(compiled) == len(expected)
    assert set(compiled) == expected
    for entry in messages:
        if entry.msgctxt is None and entry.msgid_plural is None:
            assert catalogue.gettext(entry.msgid) == entry.msgstr[""], _where(entry)


def test_django_serves_the_chinese(messages):
    submit = next(e for e in messages if e.msgid == "Submit" and e.msgctxt is None)
    with override("zh-hans"):
        assert gettext("Submit") == submit.msgstr[""] == "提交"
        assert gettext("Log in") == "登录"
    with override("en"):
        assert gettext("Submit") == "Submit"
