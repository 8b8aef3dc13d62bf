"""Attachments of the application form: what they are, and what they tell about their author.

Every file an applicant attaches goes through three steps:

1. ``inspect_upload`` decides what the file is by its content, never by its name; it accepts
   PDF, Word (.docx), PNG and JPEG only, and refuses archives built to exhaust the server
   (zip bombs), unsafe paths, encrypted and damaged files;
2. ``clean`` removes the traces of the author (document properties, comment and revision
   authors, the people list, XMP, EXIF...), so that the anonymous part (活页) reaches the
   experts without a name — blind review (匿名评审) depends on it;
3. ``extract_text_parts`` gives the text, place by place, for the identity scan that looks for
   the names of the PI, the members and the institutions, and says where a hit is.

Pure functions of bytes: no model, no request. Untrusted XML is parsed without DTDs, entities
or network access; zip members are read with their declared sizes as a hard cap.
"""

import hashlib
import io
import posixpath
import re
import struct
import zipfile
from collections import Counter
from dataclasses import dataclass, field

import puremagic
from django.utils.translation import gettext as _
from lxml import etree
from pypdf import PdfReader, PdfWriter
from pypdf.generic import NameObject, TextStringObject

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PNG = "image/png"
JPEG = "image/jpeg"
ALLOWED_TYPES = (PDF, DOCX, PNG, JPEG)
# The first extension of each type is the one to store the file under.
EXTENSIONS = {PDF: (".pdf",), DOCX: (".docx",), PNG: (".png",), JPEG: (".jpg", ".jpeg")}

# Limits of a Word archive. A real 活页 has a few dozen parts and a few MB unpacked.
MAX_ZIP_ENTRIES = 1000
MAX_UNCOMPRESSED_BYTES = 50 * 2**20
MAX_COMPRESSION_RATIO = 100
# Small parts may compress far better than 100:1 (a run of identical empty cells) and are
# harmless whatever their ratio, so the ratio is only asked of parts larger than this.
RATIO_CHECKED_FROM_BYTES = 2**20

ANONYMOUS = "匿名"
ANONYMOUS_INITIALS = "N"


class UploadRejected(ValueError):
    """A file the form must refuse; ``message`` says why, in words for the applicant."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class UploadInfo:
    content_type: str
    extension: str  # canonical, with the dot: ".pdf", ".docx", ".png", ".jpg"
    size: int
    sha256: str


@dataclass
class CleanResult:
    data: bytes
    removed: list[str] = field(default_factory=list)


# --- Messages ---------------------------------------------------------------------------------


def _type_label(content_type):
    return {
        PDF: _("PDF document"),
        DOCX: _("Word document (.docx)"),
        PNG: _("PNG image"),
        JPEG: _("JPEG image"),
    }[content_type]


def _megabytes(size):
    return f"{size / 2**20:.1f}".removesuffix(".0")


def _not_allowed(allowed):
    return UploadRejected(
        _(
            "This type of file is not accepted. Accepted types: %(types)s. "
            "The content of the file was checked, not only its name."
        )
        % {"types": ", ".join(_type_label(t) for t in allowed)}
    )


def _damaged():
    return UploadRejected(
        _("The file is damaged and cannot be read. Save or export it again and upload the new file.")
    )


def _encrypted():
    return UploadRejected(
        _(
            "The file is protected by a password or encrypted. "
            "Remove the protection, save it again and upload the new file."
        )
    )


# --- Inspection -------------------------------------------------------------------------------


def inspect_upload(name: str, data: bytes, *, max_bytes: int, allowed: tuple[str, ...] = ALLOWED_TYPES) -> UploadInfo:
    """What ``data`` is, judged by content; raise ``UploadRejected`` if the form must refuse it.

    ``name`` is only asked for its extension, which must agree with the content. ``allowed``
    narrows the accepted types for a field (e.g. only ``DOCX`` for the anonymous part).
    """
    if not data:
        raise UploadRejected(_("The file is empty."))
    if len(data) > max_bytes:
        raise UploadRejected(
            _("The file is %(size)s MB; files may be at most %(limit)s MB.")
            % {"size": _megabytes(len(data)), "limit": _megabytes(max_bytes)}
        )
    content_type = _detect(data)
    if content_type is None or content_type not in allowed:
        raise _not_allowed(allowed)
    extension = _extension_of(name)
    if extension not in EXTENSIONS[content_type]:
        raise UploadRejected(
            _("The file is a %(type)s but its name ends in “%(extension)s”. Rename it to end in “%(expected)s”.")
            % {
                "type": _type_label(content_type),
                "extension": extension or _("(no extension)"),
                "expected": EXTENSIONS[content_type][0],
            }
        )
    if content_type == PDF:
        _open_pdf(data)
    elif content_type == PNG:
        list(_png_chunks(data))
    elif content_type == JPEG:
        list(_jpeg_segments(data))
    return UploadInfo(
        content_type=content_type,
        extension=EXTENSIONS[content_type][0],
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


_SIGNATURES = {
    b"%PDF-": "pdf",
    b"PK\x03\x04": "zip",
    b"\x89PNG\r\n\x1a\n": "png",
    b"\xff\xd8\xff": "jpeg",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1": "ole",
}


def _sniff(data):
    """The container named by the magic number at the start of ``data``, or None."""
    try:
        matches = puremagic.magic_string(data)
    except puremagic.PureError:
        return None
    for match in matches:  # puremagic names the format; the whole signature at offset 0 confirms it
        if match.offset != 0:
            continue
        for signature, kind in _SIGNATURES.items():
            if data.startswith(signature) and signature.startswith(match.byte_match[: len(signature)]):
                return kind
    return None


def _detect(data):
    """The content type of ``data``, None if it is none of ours; refuses what cannot be opened."""
    kind = _sniff(data)
    if kind == "pdf":
        return PDF
    if kind == "png":
        return PNG
    if kind == "jpeg":
        return JPEG
    if kind == "ole":
        raise UploadRejected(
            _(
                "The file is in an old Office format (such as .doc) or is a password-protected "
                "Office document. Save it as .docx without a password and upload it again."
            )
        )
    if kind == "zip":
        with _open_archive(data) as archive:
            if _is_word_document(archive):
                return DOCX
    return None


def content_type_of(data):
    """The content type of stored bytes (checked when they were uploaded), or None."""
    try:
        return _detect(data)
    except UploadRejected:
        return None


def _extension_of(name):
    basename = name.replace("\\", "/").rsplit("/", 1)[-1].strip().rstrip(".")
    stem, dot, extension = basename.rpartition(".")
    return f".{extension.lower()}" if dot and stem else ""


# --- Zip archives -----------------------------------------------------------------------------

_ARCHIVE_EXTENSIONS = {
    ".zip", ".docx", ".docm", ".dotx", ".xlsx", ".xlsm", ".pptx", ".pptm", ".odt", ".ods",
    ".odp", ".jar", ".7z", ".rar", ".gz", ".tgz", ".bz2", ".xz", ".tar", ".cab",
}
# By content only the long magic numbers: two bytes of gzip would match the odd font or .emz picture.
_ARCHIVE_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"Rar!\x1a\x07", b"7z\xbc\xaf\x27\x1c")


def _open_archive(data):
    """The zip in ``data``, opened after every check that protects the server and the reader."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise _damaged() from None
    if len(infos) > MAX_ZIP_ENTRIES:
        raise UploadRejected(
            _("The document has too many parts (%(count)d; at most %(limit)d are accepted).")
            % {"count": len(infos), "limit": MAX_ZIP_ENTRIES}
        )
    if any(info.flag_bits & 0x1 for info in infos):
        raise _encrypted()
    total = sum(info.file_size for info in infos)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise UploadRejected(
            _("The document is %(size)s MB once unpacked; at most %(limit)s MB is accepted.")
            % {"size": _megabytes(total), "limit": _megabytes(MAX_UNCOMPRESSED_BYTES)}
        )
    names = set()
    for info in infos:
        if _unsafe_path(info.filename):
            raise UploadRejected(
                _("The document contains an unsafe file path (%(path)s) and cannot be accepted.")
                % {"path": info.filename}
            )
        if info.filename in names:
            raise _damaged()
        names.add(info.filename)
        if info.file_size > RATIO_CHECKED_FROM_BYTES and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
            raise UploadRejected(
                _("The document contains a suspiciously compressed part (%(path)s) and cannot be accepted.")
                % {"path": info.filename}
            )
    for info in infos:
        content = _read_member(archive, info)
        if posixpath.splitext(info.filename.lower())[1] in _ARCHIVE_EXTENSIONS or content.startswith(_ARCHIVE_MAGIC):
            raise UploadRejected(
                _(
                    "The document contains an embedded file or archive (%(path)s). Embedded files can "
                    "carry their author's name: paste charts and tables as pictures or plain content "
                    "and upload the document again."
                )
                % {"path": info.filename}
            )
    return archive


def _unsafe_path(name):
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or ".." in parts or re.match(r"^[A-Za-z]:", name) is not None or "\0" in name


def _read_member(archive, info):
    """The bytes of one member, never more than it declares (zipfile checks the CRC at the end)."""
    try:
        with archive.open(info) as member:
            content = member.read(info.file_size + 1)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, ValueError, EOFError, OSError):
        raise _damaged() from None
    if len(content) != info.file_size:
        raise _damaged()
    return content


CONTENT_TYPES = "[Content_Types].xml"
_CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_WML = "application/vnd.openxmlformats-officedocument.wordprocessingml."
_MAIN_PART = _WML + "document.main+xml"


def _is_word_document(archive):
    names = set(archive.namelist())
    if CONTENT_TYPES not in names or "word/document.xml" not in names:
        return False
    overrides = _overrides(_parse(_read_member(archive, archive.getinfo(CONTENT_TYPES))))
    return overrides.get("word/document.xml") == _MAIN_PART


def _overrides(types_root):
    """``{part name: content type}`` of the Override entries of ``[Content_Types].xml``."""
    return {
        element.get("PartName", "").lstrip("/"): element.get("ContentType", "")
        for element in types_root.iter(f"{{{_CT_NS}}}Override")
    }


def _parse(xml):
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError:
        raise _damaged() from None
    if root.getroottree().docinfo.doctype:
        raise _damaged()  # OOXML never declares a DTD; one is an attack or a forgery
    return root


def _serialize(root):
    standalone = True if root.getroottree().docinfo.standalone else None
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8", standalone=standalone)


def _local(tag):
    return etree.QName(tag).localname if isinstance(tag, str) else ""


# --- Word (.docx) -----------------------------------------------------------------------------

_CORE = "application/vnd.openxmlformats-package.core-properties+xml"
_APP = "application/vnd.openxmlformats-officedocument.extended-properties+xml"
_CUSTOM = "application/vnd.openxmlformats-officedocument.custom-properties+xml"
_PEOPLE = _WML + "people+xml"
_DEFAULT_NAMES = {
    _CORE: "docProps/core.xml",
    _APP: "docProps/app.xml",
    _CUSTOM: "docProps/custom.xml",
    _PEOPLE: "word/people.xml",
}
_CORE_REMOVED = ("creator", "lastModifiedBy", "lastPrinted", "revision")
_APP_REMOVED = ("Company", "Manager", "Template", "HyperlinkBase")
_ATTACHED_TEMPLATE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/attachedTemplate"


def _is_word_namespace(namespace):
    return namespace in (
        "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
        "http://purl.oclc.org/ooxml/wordprocessingml/main",  # strict OOXML
    ) or (namespace or "").startswith("http://schemas.microsoft.com/office/word/")


class _Package:
    """The members of a checked .docx, in order, with their content types."""

    def __init__(self, data):
        with _open_archive(data) as archive:
            if not _is_word_document(archive):
                raise _not_allowed((DOCX,))
            self.infos = archive.infolist()
            self.comment = archive.comment
            self.parts = {info.filename: _read_member(archive, info) for info in self.infos}
        self.overrides = _overrides(_parse(self.parts[CONTENT_TYPES]))

    def part_of_type(self, content_type):
        """The part holding ``content_type``, by its override or, failing that, its usual name."""
        for name, part_type in self.overrides.items():
            if part_type == content_type and name in self.parts:
                return name
        default = _DEFAULT_NAMES.get(content_type)
        return default if default in self.parts else None

    def kind(self, name):
        """What a part under word/ holds: "document", "header", "comments"... from its type or name."""
        content_type = self.overrides.get(name, "")
        if content_type.startswith(_WML):
            base = content_type.removeprefix(_WML).split("+")[0]
            return {"document.main": "document", "document.glossary": "glossary"}.get(base, base)
        match = re.fullmatch(r"word/([a-zA-Z]+?)\d*\.xml", name)
        return match.group(1) if match else ""

    def xml_parts(self, folder="word/"):
        return [n for n in self.parts if n.startswith(folder) and n.endswith(".xml") and "/_rels/" not in n]

    def write(self, replaced, dropped):
        out = io.BytesIO()
        order = sorted(self.infos, key=lambda info: info.filename != CONTENT_TYPES)
        with zipfile.ZipFile(out, "w") as archive:
            for info in order:
                if info.filename in dropped:
                    continue
                copy = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                copy.compress_type = info.compress_type
                copy.external_attr = info.external_attr
                archive.writestr(copy, replaced.get(info.filename, self.parts[info.filename]))
        return out.getvalue()


def clean_docx(data: bytes) -> CleanResult:
    """A copy of a Word document without its author's traces, and the list of what went.

    Removed: the creator, last author, last printing and revision count of the core
    properties; company, manager, template and hyperlink base of the application properties;
    the custom properties and the people list (parts, relationships and content types); the
    attached template's path; the zip comment. Comment authors and initials, and the author of
    every tracked change (in any part under word/), become "匿名"/"N", without dates. Title,
    subject and keywords stay, and so do the text and other parts, byte for byte.
    """
    package = _Package(data)
    removed, replaced, dropped = [], {}, set()
    if package.comment:
        removed.append(_("zip comment: %(comment)s") % {"comment": package.comment.decode("utf-8", "replace")})

    custom = package.part_of_type(_CUSTOM)
    if custom:
        dropped.add(custom)
        for prop in _parse(package.parts[custom]):
            value = "".join(prop.itertext()).strip()
            removed.append(_("custom property %(name)s: %(value)s") % {"name": prop.get("name", ""), "value": value})
    people = package.part_of_type(_PEOPLE)
    if people:
        dropped.add(people)
        names = [p.get(q) for p in _parse(package.parts[people]) for q in p.attrib if _local(q) == "author"]
        removed.append(_("people list (%(part)s): %(names)s") % {"part": people, "names": ", ".join(names)})
    dropped |= {_rels_of(name) for name in dropped}

    for name, fields in ((package.part_of_type(_CORE), _CORE_REMOVED), (package.part_of_type(_APP), _APP_REMOVED)):
        if name:
            root = _parse(package.parts[name])
            changed = False
            for element in list(root):
                if _local(element.tag) in fields:
                    value = (element.text or "").strip()
                    if value:
                        removed.append(f"{posixpath.basename(name)} {_local(element.tag)}: {value}")
                    root.remove(element)
                    changed = True
            if changed:
                replaced[name] = _serialize(root)

    types_root = _parse(package.parts[CONTENT_TYPES])
    stale = [o for o in types_root.iter(f"{{{_CT_NS}}}Override") if o.get("PartName", "").lstrip("/") in dropped]
    for override in stale:
        types_root.remove(override)
    if stale:
        replaced[CONTENT_TYPES] = _serialize(types_root)

    for name in package.parts:
        if name.endswith(".rels") and name not in dropped:
            root = _parse(package.parts[name])
            changed = False
            for rel in list(root.iter(f"{{{_REL_NS}}}Relationship")):
                if rel.get("Type") == _ATTACHED_TEMPLATE:
                    removed.append(_("attached template: %(path)s") % {"path": rel.get("Target", "")})
                elif rel.get("TargetMode") == "External" or _resolve(name, rel.get("Target", "")) not in dropped:
                    continue
                root.remove(rel)
                changed = True
            if changed:
                replaced[name] = _serialize(root)

    comment_authors = Counter()
    for name in package.xml_parts():
        if name in dropped:
            continue
        root = _parse(package.parts[name])
        change_authors = Counter()
        if _anonymise(root, comment_authors, change_authors):
            replaced[name] = _serialize(root)
        if change_authors:
            removed.append(
                _("tracked-change authors in %(part)s: %(names)s") % {"part": name, "names": _counted(change_authors)}
            )
    if comment_authors:
        removed.append(_("comment authors: %(names)s") % {"names": _counted(comment_authors)})

    return CleanResult(package.write(replaced, dropped), removed)


def _anonymise(root, comment_authors, change_authors):
    """Replace author and initials, drop dates and the attached template; True if anything changed."""
    changed = False
    for element in list(root.iter(etree.Element)):
        if _local(element.tag) == "attachedTemplate" and _is_word_namespace(etree.QName(element).namespace):
            element.getparent().remove(element)
            changed = True
            continue
        for attribute in list(element.attrib):
            name = etree.QName(attribute)
            if not _is_word_namespace(name.namespace):
                continue
            value = element.get(attribute)
            if name.localname == "author" and value != ANONYMOUS:
                (comment_authors if _local(element.tag) == "comment" else change_authors)[value] += 1
                element.set(attribute, ANONYMOUS)
            elif name.localname == "initials" and value != ANONYMOUS_INITIALS:
                element.set(attribute, ANONYMOUS_INITIALS)
            elif name.localname in ("date", "dateUtc"):
                del element.attrib[attribute]
            else:
                continue
            changed = True
    return changed


def _counted(counter):
    return ", ".join(f"{name} ({count})" for name, count in counter.most_common())


def _rels_of(part):
    folder, base = posixpath.split(part)
    return posixpath.join(folder, "_rels", f"{base}.rels")


def _resolve(rels_name, target):
    """The part a relationship of ``rels_name`` points at (``word/_rels/x.rels`` → under word/)."""
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    source_folder = posixpath.dirname(posixpath.dirname(rels_name))
    return posixpath.normpath(posixpath.join(source_folder, target))


_TEXT_PLACES = {  # kind of part under word/ → where its text is, for the applicant
    "document": "正文",
    "header": "页眉 ({part})",
    "footer": "页脚 ({part})",
    "footnotes": "脚注",
    "endnotes": "尾注",
    "comments": "批注",
    "glossary": "文档部件",
}
# Document properties that are counts, flags and dates: nothing a name could hide in.
_STATISTICS = {
    "created", "modified", "lastPrinted", "revision", "TotalTime", "Pages", "Words", "Characters",
    "CharactersWithSpaces", "Lines", "Paragraphs", "DocSecurity", "ScaleCrop", "LinksUpToDate",
    "SharedDoc", "HyperlinksChanged", "AppVersion", "HeadingPairs",
}


def _docx_text_parts(data):
    package = _Package(data)
    trees = {name: _parse(package.parts[name]) for name in sorted(package.xml_parts(), key=_natural)}
    parts = []
    for kind, place in _TEXT_PLACES.items():
        for name, root in trees.items():
            if package.kind(name) != kind:
                continue
            for paragraph, in_table in _paragraphs(root):
                text = _paragraph_text(paragraph)
                if text.strip():
                    where = "正文表格" if kind == "document" and in_table else place.format(part=posixpath.basename(name))
                    parts.append((where, text))
    authors = {}  # (where, name), once each
    for name, root in trees.items():
        for element in root.iter(etree.Element):
            for attribute, value in element.attrib.items():
                if value and _local(attribute) in ("author", "initials") and _is_word_namespace(etree.QName(attribute).namespace):
                    where = {"comment": "批注作者", "person": f"审阅者列表 ({posixpath.basename(name)})"}.get(
                        _local(element.tag), f"修订作者 ({posixpath.basename(name)})"
                    )
                    authors[(where, value)] = None
    parts.extend(authors)
    for name, root in trees.items():  # DrawingML text: SmartArt data and chart captions and values
        folder, base = posixpath.split(name)
        if (folder, base[:4]) in (("word/diagrams", "data"), ("word/charts", "char")):
            text = " ".join((e.text or "").strip() for e in root.iter(etree.Element) if _local(e.tag) in ("t", "v"))
            if text.strip():
                parts.append((f"{'图示' if folder.endswith('diagrams') else '图表'} ({base})", " ".join(text.split())))

    for content_type in (_CORE, _APP):
        name = package.part_of_type(content_type)
        for element in _parse(package.parts[name]) if name else ():
            text = " ".join(t.strip() for t in element.itertext() if t.strip())
            if text and _local(element.tag) not in _STATISTICS:
                parts.append((f"文档属性 {_local(element.tag)}", text))
    custom = package.part_of_type(_CUSTOM)
    for prop in _parse(package.parts[custom]) if custom else ():
        value = "".join(prop.itertext()).strip()
        if value:
            parts.append((f"自定义属性 {prop.get('name', '')}", value))
    for name in package.xml_parts("customXml/"):
        if not posixpath.basename(name).startswith("itemProps"):
            text = " ".join(t.strip() for t in _parse(package.parts[name]).itertext() if t.strip())
            if text:
                parts.append((f"自定义 XML ({posixpath.basename(name)})", text))
    return parts


def _natural(name):
    return [int(piece) if piece.isdigit() else piece for piece in re.split(r"(\d+)", name)]


def _paragraphs(root):
    """Each ``w:p`` of a part, and whether it sits in a table."""
    for element in root.iter(etree.Element):
        if _is_word_paragraph(element):
            in_table = any(_local(a.tag) == "tbl" for a in element.iterancestors())
            yield element, in_table


def _paragraph_text(paragraph):
    """The text of a paragraph, deleted revisions included, without that of nested text boxes."""
    pieces = []
    for element in paragraph.iter(etree.Element):
        local = _local(element.tag)
        if local in ("t", "delText") and _nearest_paragraph(element) is paragraph:
            pieces.append(element.text or "")
        elif local == "tab" and _nearest_paragraph(element) is paragraph:
            pieces.append("\t")
    return "".join(pieces)


def _nearest_paragraph(element):
    for ancestor in element.iterancestors():
        if _is_word_paragraph(ancestor):
            return ancestor
    return None


def _is_word_paragraph(element):
    return _local(element.tag) == "p" and _is_word_namespace(etree.QName(element).namespace)


# --- PDF --------------------------------------------------------------------------------------


def _open_pdf(data):
    """A reader over ``data`` whose page tree could be read; damaged or encrypted → refused."""
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise _encrypted()
        if len(reader.pages) == 0:
            raise _damaged()
        reader.trailer["/Root"].get_object()
    except UploadRejected:
        raise
    except Exception:  # pypdf raises many kinds on hostile input; all mean "cannot be read"
        raise _damaged() from None
    return reader


def clean_pdf(data: bytes) -> CleanResult:
    """A copy of a PDF without document information, XMP metadata or annotation authors.

    The whole info dictionary goes (Author, Creator, Producer, Title, Company, SourceModified
    and any custom key: none is needed to read the document), and so do the XMP streams of
    the catalogue and of the pages and the applications' private data (``/PieceInfo``).
    Annotation authors (``/T``) become "匿名". Objects left unreferenced are not written, so
    neither the old values nor earlier incremental revisions survive in the file.
    """
    reader = _open_pdf(data)
    removed = []
    try:
        info = reader.metadata or {}
        for key, value in info.items():
            removed.append(_("document information %(key)s: %(value)s") % {"key": key, "value": str(value)})
        writer = PdfWriter(clone_from=reader)
        writer.metadata = None
        root = writer.root_object
        for key, label in (("/Metadata", _("XMP metadata")), ("/PieceInfo", _("application private data"))):
            if key in root:
                del root[key]
                removed.append(label)
        page_metadata, annotation_authors = 0, Counter()
        for page in writer.pages:
            for key in ("/Metadata", "/PieceInfo"):
                if key in page:
                    del page[key]
                    page_metadata += 1
            for annotation in _annotations(page):
                author = str(annotation["/T"]) if "/T" in annotation else ANONYMOUS
                if author != ANONYMOUS:
                    annotation_authors[author] += 1
                    annotation[NameObject("/T")] = TextStringObject(ANONYMOUS)
        if page_metadata:
            removed.append(_("page metadata (%(count)d)") % {"count": page_metadata})
        if annotation_authors:
            removed.append(_("annotation authors: %(names)s") % {"names": _counted(annotation_authors)})
        writer.compress_identical_objects(remove_duplicates=False, remove_unreferenced=True)
        out = io.BytesIO()
        writer.write(out)
    except UploadRejected:
        raise
    except Exception:  # see _open_pdf
        raise _damaged() from None
    return CleanResult(out.getvalue(), removed)


def _annotations(page):
    annotations = page.get("/Annots")
    for annotation in annotations.get_object() if annotations is not None else ():
        annotation = annotation.get_object()
        if hasattr(annotation, "get"):
            yield annotation


def _pdf_text_parts(data):
    reader = _open_pdf(data)
    parts = []
    try:
        for number, page in enumerate(reader.pages, start=1):
            text = page.extract_text() or ""
            if text.strip():
                parts.append((f"第 {number} 页", text))
            for annotation in _annotations(page):
                for key in ("/T", "/Contents"):
                    if key in annotation and str(annotation[key]).strip():
                        parts.append((f"第 {number} 页批注", str(annotation[key])))
        for key, value in (reader.metadata or {}).items():
            if str(value).strip():
                parts.append((f"文档属性 {key}", str(value)))
        metadata = reader.trailer["/Root"].get("/Metadata")
        if metadata is not None:
            text = " ".join(t.strip() for t in _parse(metadata.get_object().get_data()).itertext() if t.strip())
            if text:
                parts.append(("文档属性 XMP", text))
    except UploadRejected:
        raise
    except Exception:  # see _open_pdf
        raise _damaged() from None
    return parts


# --- Images -----------------------------------------------------------------------------------

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_METADATA = {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME"}


def _png_chunks(data):
    """``(type, chunk bytes)`` of a PNG up to IEND, then ``(None, trailing bytes)`` if any."""
    if not data.startswith(_PNG_SIGNATURE):
        raise _damaged()
    position = len(_PNG_SIGNATURE)
    while True:
        if position + 12 > len(data):
            raise _damaged()
        length = int.from_bytes(data[position : position + 4], "big")
        chunk_type = data[position + 4 : position + 8]
        end = position + 12 + length
        if end > len(data):
            raise _damaged()
        yield chunk_type, data[position:end]
        position = end
        if chunk_type == b"IEND":
            break
    if position < len(data):
        yield None, data[position:]


def clean_png(data: bytes) -> CleanResult:
    """A PNG without its text chunks (Author, Comment...), EXIF, modification time or trailing data."""
    kept, removed = [_PNG_SIGNATURE], []
    for chunk_type, chunk in _png_chunks(data):
        if chunk_type is None:
            removed.append(_("data after the end of the image"))
        elif chunk_type in (b"tEXt", b"zTXt", b"iTXt"):
            keyword = chunk[8:].split(b"\0", 1)[0].decode("latin-1")
            removed.append(_("PNG text %(keyword)s") % {"keyword": keyword})
        elif chunk_type in _PNG_METADATA:
            removed.append(_("PNG %(chunk)s data") % {"chunk": chunk_type.decode("ascii")})
        else:
            kept.append(chunk)
    return CleanResult(b"".join(kept), removed)


_SOS, _EOI = 0xDA, 0xD9


def _jpeg_segments(data):
    """``(marker, segment bytes)`` of a JPEG's header, then ``(SOS, the rest)`` from the scan on."""
    if not data.startswith(b"\xff\xd8"):
        raise _damaged()
    position = 2
    while True:
        if position + 2 > len(data) or data[position] != 0xFF:
            raise _damaged()
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in (_SOS, _EOI):
            yield _SOS, data[position:]
            return
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            yield marker, data[position : position + 2]
            position += 2
            continue
        if position + 4 > len(data):
            raise _damaged()
        end = position + 2 + int.from_bytes(data[position + 2 : position + 4], "big")
        if end < position + 4 or end > len(data):
            raise _damaged()
        yield marker, data[position:end]
        position = end


def clean_jpeg(data: bytes) -> CleanResult:
    """A JPEG without EXIF (camera, owner, GPS, thumbnail), XMP, IPTC, comments or trailing data.

    Only the EXIF orientation is kept, in a minimal EXIF block of its own, so that photos
    still stand the right way up. Colour profiles (APP2) and Adobe's colour marker (APP14) stay.
    """
    kept, removed = [b"\xff\xd8"], []
    for marker, segment in _jpeg_segments(data):
        payload = segment[4:]
        if marker == 0xE1 and payload.startswith(b"Exif\0\0"):
            removed.append(_("JPEG EXIF data"))
            orientation = _exif_orientation(payload[6:])
            if orientation not in (None, 1):
                kept.append(_minimal_exif(orientation))
        elif marker == 0xE1:
            removed.append(_("JPEG XMP metadata"))
        elif marker in (0xEC, 0xED):
            removed.append(_("JPEG IPTC or Photoshop data"))
        elif marker == 0xFE:
            removed.append(_("JPEG comment"))
        elif marker == _SOS:
            end = segment.rfind(b"\xff\xd9") + 2
            if 2 <= end < len(segment):
                removed.append(_("data after the end of the image"))
                segment = segment[:end]
            kept.append(segment)
        else:
            kept.append(segment)
    return CleanResult(b"".join(kept), removed)


def _exif_orientation(tiff):
    """The Orientation tag (0x0112) of the first IFD of an EXIF TIFF block, or None."""
    order = {b"II": "little", b"MM": "big"}.get(tiff[:2])
    if order is None or len(tiff) < 8:
        return None
    ifd = int.from_bytes(tiff[4:8], order)
    if ifd + 2 > len(tiff):
        return None
    for index in range(int.from_bytes(tiff[ifd : ifd + 2], order)):
        entry = ifd + 2 + 12 * index
        if entry + 12 > len(tiff):
            return None
        if int.from_bytes(tiff[entry : entry + 2], order) == 0x0112:
            value = int.from_bytes(tiff[entry + 8 : entry + 10], order)
            return value if 1 <= value <= 8 else None
    return None


def _minimal_exif(orientation):
    """An APP1 EXIF segment holding the orientation alone (big-endian TIFF, one IFD entry)."""
    entry = struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0)  # tag, SHORT, count 1, value, padding
    tiff = b"MM\x00\x2a" + struct.pack(">IH", 8, 1) + entry + struct.pack(">I", 0)
    payload = b"Exif\0\0" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


# --- Dispatch ---------------------------------------------------------------------------------


def clean(content_type: str, data: bytes) -> CleanResult:
    """The cleaned copy of an inspected upload (see the ``clean_*`` function of its type)."""
    cleaners = {PDF: clean_pdf, DOCX: clean_docx, PNG: clean_png, JPEG: clean_jpeg}
    if content_type not in cleaners:
        raise ValueError(f"no cleaner for {content_type!r}")
    return cleaners[content_type](data)


def extract_text_parts(content_type: str, data: bytes) -> list[tuple[str, str]]:
    """``(where, text)`` pairs for the identity scan, ``where`` naming the place for the applicant.

    Word: body paragraphs ("正文") and tables ("正文表格"), each header and footer
    ("页眉 (header1.xml)"), footnotes, endnotes, comments and their authors, tracked-change
    authors, the people list, SmartArt and chart text, document and custom properties, custom
    XML (bibliography...).
    PDF: each page ("第 N 页"), annotations, the info dictionary ("文档属性 /Author") and XMP.
    Images have no text to scan (their metadata goes in ``clean``): an empty list.
    """
    if content_type == DOCX:
        return _docx_text_parts(data)
    if content_type == PDF:
        return _pdf_text_parts(data)
    if content_type in (PNG, JPEG):
        return []
    raise ValueError(f"no text extraction for {content_type!r}")


# ---- storing: files are not part of the transaction ---------------------------------------------


class files_removed_on_failure:
    """Files written to storage do not roll back with the transaction: remove those stored in the block
    when it fails (a refusal, a database error), so that no orphan file stays behind.

    ``with files_removed_on_failure() as stored: ... field_file.save(...); stored.add(field_file)``.
    Put it *outside* ``transaction.atomic()``, so that a failure of the commit itself is covered.
    """

    def __enter__(self):
        self.files = []
        return self

    def add(self, field_file):
        """Remember a file just saved (a ``FieldFile``): its storage and its name at this moment."""
        if field_file and field_file.name:
            self.files.append((field_file.storage, field_file.name))

    def __exit__(self, kind, error, traceback):
        if error is not None:
            for storage, name in self.files:
                storage.delete(name)
        return False


def delete_stored_file(storage, name):
    """Delete a replaced file (call it on commit: the new one is then safely in place)."""
    if name:
        storage.delete(name)
