"""Attachments: refused by content, cleaned of their author, and read for the identity scan."""

import dataclasses
import datetime as dt
import io
import re
import struct
import zipfile
import zlib

import docx
import pytest
from django.utils import translation
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, NumberObject, TextStringObject

from projects import uploads
from projects.uploads import DOCX, JPEG, PDF, PNG, UploadRejected, clean, clean_docx, clean_pdf, extract_text_parts, inspect_upload

MB = 2**20
LIMIT = 20 * MB
PLANTED = ("张三", "李四", "王五", "某某大学", "zhangsan")


@pytest.fixture(autouse=True)
def english():
    """Messages in English, whatever catalogue is installed later."""
    with translation.override("en"):
        yield


def rejection(name, data, **kwargs):
    with pytest.raises(UploadRejected) as caught:
        inspect_upload(name, data, max_bytes=kwargs.pop("max_bytes", LIMIT), **kwargs)
    return caught.value.message


# --- Building documents ----------------------------------------------------------------------


def make_docx(
    body="本课题研究乡村教育的数字化转型。", table_cell="研究基础良好", header="课题活页", footer="第 1 页", comment=None
):
    document = docx.Document()
    paragraph = document.add_paragraph(body)
    document.add_table(rows=1, cols=1).cell(0, 0).text = table_cell
    document.sections[0].header.paragraphs[0].text = header
    document.sections[0].footer.paragraphs[0].text = footer
    if comment:
        document.add_comment(paragraph.runs, text=comment["text"], author=comment["author"], initials=comment["initials"])
    document.core_properties.title = "乡村教育数字化研究"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def members(data):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rezip(data, changes):
    """``data`` with members replaced (bytes), edited (a function of the old text) or added."""
    old = members(data)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in old.items():
            change = changes.get(name, content)
            archive.writestr(name, change(content.decode()).encode() if callable(change) else change)
        for name, content in changes.items():
            if name not in old:
                archive.writestr(name, content)
    return out.getvalue()


def insert_before(marker, xml):
    return lambda text: text.replace(marker, xml + marker, 1)


def identified_docx():
    """A 活页 carrying its author everywhere Word hides a name."""
    document = docx.Document()
    document.add_paragraph("本课题研究乡村教育的数字化转型。")
    document.add_table(rows=1, cols=1).cell(0, 0).text = "研究基础良好"
    document.sections[0].header.paragraphs[0].text = "课题活页"
    commented = document.add_paragraph("研究假设需要再斟酌。")
    document.add_comment(commented.runs, text="请核对", author="张三", initials="ZS")
    props = document.core_properties
    props.author, props.last_modified_by, props.revision = "张三", "李四", 7
    props.last_printed = dt.datetime(2024, 5, 1, 8, 0)
    props.title = "乡村教育数字化研究"
    out = io.BytesIO()
    document.save(out)

    tracked = (
        '<w:p><w:ins w:id="91" w:author="李四" w:date="2024-05-01T08:00:00Z"><w:r><w:t>新增一句。</w:t></w:r></w:ins>'
        '<w:del w:id="92" w:author="李四" w:date="2024-05-01T08:00:00Z"><w:r><w:delText>删去一句。</w:delText></w:r></w:del>'
        '<w:r><w:rPr><w:b/><w:rPrChange w:id="93" w:author="李四" w:date="2024-05-01T08:00:00Z"><w:rPr/></w:rPrChange></w:rPr>'
        "<w:t>加粗</w:t></w:r></w:p>"
    )
    header_change = '<w:p><w:ins w:id="94" w:author="王五" w:date="2024-05-02T08:00:00Z"><w:r><w:t>修订</w:t></w:r></w:ins></w:p>'
    people = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<w15:people xmlns:w15="http://schemas.microsoft.com/office/word/2012/wordml">'
        '<w15:person w15:author="张三"><w15:presenceInfo w15:providerId="None" w15:userId="zhangsan@example.edu.cn"/>'
        "</w15:person></w15:people>"
    )
    custom = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" '
        'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
        '<property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="2" name="负责人"><vt:lpwstr>张三</vt:lpwstr></property>'
        "</Properties>"
    )
    settings_rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/attachedTemplate" '
        'Target="file:///C:\\Users\\zhangsan\\Templates\\Normal.dotm" TargetMode="External"/></Relationships>'
    )
    ct = "application/vnd.openxmlformats-officedocument."
    return rezip(
        out.getvalue(),
        {
            "word/document.xml": insert_before("<w:sectPr", tracked),
            "word/header1.xml": insert_before("</w:hdr>", header_change),
            "docProps/app.xml": lambda text: text.replace("<Company/>", "<Company>某某大学</Company>")
            .replace("<Manager/>", "<Manager>王五</Manager>")
            .replace("<HyperlinkBase/>", "<HyperlinkBase>file:///D:/zhangsan/</HyperlinkBase>")
            .replace("Normal.dotm", "zhangsan.dotm"),
            "word/settings.xml": lambda text: re.sub(r"(<w:settings[^>]*>)", r'\1<w:attachedTemplate r:id="rId1"/>', text, count=1),
            "word/_rels/settings.xml.rels": settings_rels.encode(),
            "[Content_Types].xml": insert_before(
                "</Types>",
                f'<Override PartName="/word/people.xml" ContentType="{ct}wordprocessingml.people+xml"/>'
                f'<Override PartName="/docProps/custom.xml" ContentType="{ct}custom-properties+xml"/>',
            ),
            "word/_rels/document.xml.rels": insert_before(
                "</Relationships>",
                '<Relationship Id="rId90" Type="http://schemas.microsoft.com/office/2011/relationships/people" Target="people.xml"/>',
            ),
            "_rels/.rels": insert_before(
                "</Relationships>",
                '<Relationship Id="rId90" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
                'custom-properties" Target="docProps/custom.xml"/>',
            ),
            "word/people.xml": people.encode(),
            "docProps/custom.xml": custom.encode(),
        },
    )


def make_pdf(info=None, xmp=None, annotation_author=None, password=None):
    writer = PdfWriter()
    page = writer.add_blank_page(200, 200)
    if info:
        writer.add_metadata(info)
    if xmp:
        writer.xmp_metadata = xmp
    if annotation_author:
        note = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Annot"),
                NameObject("/Subtype"): NameObject("/Text"),
                NameObject("/Rect"): ArrayObject([NumberObject(n) for n in (10, 10, 30, 30)]),
                NameObject("/T"): TextStringObject(annotation_author),
                NameObject("/Contents"): TextStringObject("请补充数据"),
            }
        )
        page[NameObject("/Annots")] = ArrayObject([writer._add_object(note)])
    if password:
        writer.encrypt(password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


XMP = (
    '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator><rdf:Seq><rdf:li>张三</rdf:li></rdf:Seq></dc:creator>'
    '</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
).encode()


def text_pdf(text):
    """A one-page PDF showing ``text`` in a CID font whose ToUnicode map lets it be extracted."""
    codes = {char: index for index, char in enumerate(dict.fromkeys(text), start=1)}
    shown = "".join(f"{codes[char]:04X}" for char in text)
    content = f"BT /F1 12 Tf 20 100 Td <{shown}> Tj ET".encode()
    mapping = "".join(f"<{code:04X}> <{ord(char):04X}>\n" for char, code in codes.items())
    cmap = (
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /Keti def /CMapType 2 def\n"
        "1 begincodespacerange <0000> <FFFF> endcodespacerange\n"
        f"{len(codes)} beginbfchar\n{mapping}endbfchar\n"
        "endcmap CMapName currentdict /CMap defineresource pop end end"
    ).encode()

    def stream(data):
        return b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"

    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        stream(content),
        b"<< /Type /Font /Subtype /Type0 /BaseFont /SimSun /Encoding /Identity-H /DescendantFonts [6 0 R] /ToUnicode 7 0 R >>",
        b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /SimSun "
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /DW 1000 >>",
        stream(cmap),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def make_png(*extra_chunks, trailing=b""):
    header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    pixels = png_chunk(b"IDAT", zlib.compress(b"\x00\x00"))
    return b"\x89PNG\r\n\x1a\n" + header + b"".join(extra_chunks) + pixels + png_chunk(b"IEND", b"") + trailing


def jpeg_segment(marker, payload):
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def exif(orientation, artist):
    """A little-endian EXIF block with Orientation and Artist in IFD0."""
    artist = artist.encode() + b"\0"
    entries = struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack("<HHII", 0x013B, 2, len(artist), 38)
    tiff = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 2) + entries + struct.pack("<I", 0) + artist
    return b"Exif\0\0" + tiff


def make_jpeg(*extra_segments, trailing=b""):
    jfif = jpeg_segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0")
    quantisation = jpeg_segment(0xDB, b"\0" + bytes(range(64)))
    scan = jpeg_segment(0xDA, b"\x01\x01\0\0\x3f\0") + b"\x12\x34\xff\x00\x56"
    return b"\xff\xd8" + jfif + b"".join(extra_segments) + quantisation + scan + b"\xff\xd9" + trailing


def zip_of(entries, compression=zipfile.ZIP_DEFLATED):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return out.getvalue()


def with_docx_skeleton(entries):
    """A zip that would pass for Word if it were not for ``entries``."""
    return {**members(make_docx()), **entries}


# --- Inspection ------------------------------------------------------------------------------


def test_accepts_each_allowed_type_by_content():
    cases = [("活页.docx", make_docx(), DOCX, ".docx"), ("附件.PDF", make_pdf(), PDF, ".pdf"),
             ("图.png", make_png(), PNG, ".png"), ("照片.jpeg", make_jpeg(), JPEG, ".jpg")]
    for name, data, content_type, extension in cases:
        info = inspect_upload(name, data, max_bytes=LIMIT)
        assert (info.content_type, info.extension, info.size) == (content_type, extension, len(data))
        assert len(info.sha256) == 64
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.size = 0


def test_empty_file_is_refused():
    assert rejection("活页.docx", b"") == "The file is empty."


def test_file_over_the_limit_names_the_limit_in_mb():
    message = rejection("附件.pdf", b"%PDF-1.4\n" + bytes(3 * MB), max_bytes=2 * MB)
    assert "at most 2 MB" in message and "3 MB" in message


def test_text_file_renamed_pdf_is_refused_naming_the_allowed_types():
    message = rejection("附件.pdf", "这是一段文字。".encode())
    assert "not accepted" in message
    for label in ("PDF document", "Word document (.docx)", "PNG image", "JPEG image"):
        assert label in message


def test_executable_renamed_docx_is_refused():
    assert "not accepted" in rejection("活页.docx", b"MZ\x90\x00\x03\x00\x00\x00" + bytes(120) + b"PE\0\0")


def test_zip_of_other_files_renamed_docx_is_refused():
    data = zip_of({"a.txt": b"hello", "pictures/b.png": make_png()})
    assert "not accepted" in rejection("活页.docx", data)


def test_macro_enabled_word_is_not_a_docx():
    macro = "application/vnd.ms-word.document.macroEnabled.main+xml"
    data = rezip(make_docx(), {"[Content_Types].xml": lambda text: text.replace(uploads._MAIN_PART, macro)})
    assert "not accepted" in rejection("活页.docx", data)


def test_allowed_narrows_the_types_of_a_field():
    message = rejection("附件.pdf", make_pdf(), allowed=(DOCX,))
    assert "Word document (.docx)" in message and "PDF document" not in message


def test_real_pdf_named_docx_is_refused_with_the_right_extension():
    message = rejection("活页.docx", make_pdf())
    assert message == "The file is a PDF document but its name ends in “.docx”. Rename it to end in “.pdf”."


def test_real_docx_named_pdf_or_without_extension_is_refused():
    assert "Rename it to end in “.docx”" in rejection("活页.pdf", make_docx())
    assert "(no extension)" in rejection("活页", make_docx())


def test_old_word_or_protected_office_file_is_explained():
    message = rejection("活页.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1024))
    assert "old Office format" in message and ".docx without a password" in message


@pytest.fixture(scope="module")
def zip_bomb():
    """One part of 60 MB of zeros, deflated to about 60 KB."""
    return zip_of(with_docx_skeleton({"word/media/zeros.bin": bytes(60 * MB)}))


def test_zip_bomb_is_refused_by_its_unpacked_size(zip_bomb):
    assert len(zip_bomb) < 200_000
    message = rejection("活页.docx", zip_bomb)
    assert "once unpacked" in message and "at most 50 MB" in message


def test_part_compressed_over_100_to_1_is_refused():
    data = zip_of(with_docx_skeleton({"word/media/zeros.bin": bytes(5 * MB)}))
    assert "suspiciously compressed part (word/media/zeros.bin)" in rejection("活页.docx", data)


def test_too_many_parts_are_refused():
    data = zip_of(with_docx_skeleton({f"word/media/p{i}.txt": b"x" for i in range(1001)}))
    assert "too many parts" in rejection("活页.docx", data)


@pytest.mark.parametrize("path", ["../../etc/cron.d/evil", "word/../../evil.xml", "/etc/passwd", "C:/evil.xml"])
def test_path_traversal_is_refused(path):
    data = zip_of(with_docx_skeleton({path: b"x"}))
    assert f"unsafe file path ({path})" in rejection("活页.docx", data)


@pytest.mark.parametrize("name, content", [("word/embeddings/data.xlsx", b"x"), ("word/media/image9.bin", zip_of({"a": b"b"}))])
def test_nested_archive_is_refused(name, content):
    data = zip_of(with_docx_skeleton({name: content}))
    assert f"embedded file or archive ({name})" in rejection("活页.docx", data)


def test_encrypted_zip_is_refused():
    data = bytearray(make_docx())
    for match in re.finditer(rb"PK\x01\x02", bytes(data)):  # central directory: general purpose flag at +8
        data[match.start() + 8] |= 0x01
    assert "protected by a password or encrypted" in rejection("活页.docx", bytes(data))


def test_damaged_zip_is_refused():
    data = make_docx()
    assert "damaged" in rejection("活页.docx", data[: len(data) // 2])


def test_xml_with_a_dtd_is_refused_as_damaged():
    laughs = '<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "aaaaaaaaaa">]><t>&a;</t>'
    data = rezip(make_docx(), {"word/document.xml": laughs.encode()})
    with pytest.raises(UploadRejected, match="damaged"):
        clean_docx(data)


def test_encrypted_pdf_is_refused():
    assert "protected by a password" in rejection("附件.pdf", make_pdf(password="secret"))


def test_damaged_pdf_is_refused():
    assert "damaged" in rejection("附件.pdf", b"%PDF-1.4\n" + b"garbage " * 50)


def test_damaged_png_is_refused():
    assert "damaged" in rejection("图.png", make_png()[:30])


# --- Cleaning Word ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cleaned():
    with translation.override("en"):
        original = identified_docx()
        return original, clean_docx(original)


def test_docx_cleaning_leaves_no_planted_name_in_any_part(cleaned):
    original, result = cleaned
    assert any("张三".encode() in content for content in members(original).values())
    for name, content in members(result.data).items():
        if name.endswith((".xml", ".rels")):
            for planted in PLANTED:
                assert planted.encode() not in content, f"{planted} still in {name}"


def test_docx_cleaning_lists_each_category_removed(cleaned):
    removed = cleaned[1].removed
    for expected in (
        "core.xml creator: 张三",
        "core.xml lastModifiedBy: 李四",
        "core.xml revision: 7",
        "core.xml lastPrinted: 2024-05-01T08:00:00Z",
        "app.xml Company: 某某大学",
        "app.xml Manager: 王五",
        "app.xml Template: zhangsan.dotm",
        "app.xml HyperlinkBase: file:///D:/zhangsan/",
        "custom property 负责人: 张三",
        "people list (word/people.xml): 张三",
        "attached template: file:///C:\\Users\\zhangsan\\Templates\\Normal.dotm",
        "comment authors: 张三 (1)",
        "tracked-change authors in word/document.xml: 李四 (3)",
        "tracked-change authors in word/header1.xml: 王五 (1)",
    ):
        assert expected in removed


def test_docx_cleaning_drops_people_and_custom_parts_and_their_references(cleaned):
    parts = members(cleaned[1].data)
    assert "word/people.xml" not in parts and "docProps/custom.xml" not in parts
    assert list(parts)[0] == "[Content_Types].xml"
    for name in ("[Content_Types].xml", "_rels/.rels", "word/_rels/document.xml.rels"):
        assert b"people" not in parts[name] and b"custom.xml" not in parts[name]
    assert b"attachedTemplate" not in parts["word/settings.xml"]
    assert b"attachedTemplate" not in parts["word/_rels/settings.xml.rels"]


def test_docx_cleaning_keeps_text_and_untouched_parts(cleaned):
    original, result = cleaned
    document = docx.Document(io.BytesIO(result.data))
    assert document.paragraphs[0].text == "本课题研究乡村教育的数字化转型。"
    assert document.tables[0].cell(0, 0).text == "研究基础良好"
    assert document.sections[0].header.paragraphs[0].text == "课题活页"
    assert document.core_properties.title == "乡村教育数字化研究"
    assert document.core_properties.author == ""
    assert [(c.author, c.initials, c.text) for c in document.comments] == [("匿名", "N", "请核对")]
    document_xml = members(result.data)["word/document.xml"].decode()
    assert "新增一句。" in document_xml and "w:date" not in document_xml
    before, after = members(original), members(result.data)
    for name in ("word/styles.xml", "word/numbering.xml", "word/fontTable.xml", "docProps/thumbnail.jpeg"):
        assert after[name] == before[name]


def test_docx_cleaning_twice_finds_nothing_more(cleaned):
    again = clean_docx(cleaned[1].data)
    assert again.removed == []
    assert members(again.data) == members(cleaned[1].data)


# --- Cleaning PDF and images -----------------------------------------------------------------


def test_pdf_cleaning_removes_info_xmp_and_annotation_authors():
    info = {"/Author": "张三", "/Creator": "WPS 文字", "/Producer": "某某大学印刷厂", "/Company": "某某大学",
            "/SourceModified": "D:20240501080000", "/Department": "教育学院"}
    result = clean_pdf(make_pdf(info=info, xmp=XMP, annotation_author="张三"))
    reader = PdfReader(io.BytesIO(result.data))
    assert not reader.metadata or "/Author" not in reader.metadata
    assert "/Metadata" not in reader.trailer["/Root"]
    assert str(reader.pages[0]["/Annots"][0].get_object()["/T"]) == "匿名"
    for planted in ("张三", "某某大学"):
        assert planted.encode("utf-8") not in result.data and planted.encode("utf-16-be") not in result.data
    assert "document information /Author: 张三" in result.removed
    assert "document information /Department: 教育学院" in result.removed
    assert "XMP metadata" in result.removed
    assert "annotation authors: 张三 (1)" in result.removed


def test_png_cleaning_drops_text_chunks_and_trailing_data():
    data = make_png(png_chunk(b"tEXt", b"Author\0Zhang San"), png_chunk(b"iTXt", "Comment\0\0\0\0\0张三".encode()),
                    png_chunk(b"tIME", bytes(7)), trailing=b"PK\x03\x04secret")
    result = clean(PNG, data)
    assert result.data == make_png()
    assert result.removed == ["PNG text Author", "PNG text Comment", "PNG tIME data", "data after the end of the image"]


def test_jpeg_cleaning_drops_exif_but_keeps_orientation():
    data = make_jpeg(jpeg_segment(0xE1, exif(6, "Zhang San")), jpeg_segment(0xFE, b"Zhang San"),
                     jpeg_segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0<x>Zhang San</x>"), trailing=b"secret")
    result = clean(JPEG, data)
    assert b"Zhang San" not in result.data and not result.data.endswith(b"secret")
    assert result.removed == ["JPEG EXIF data", "JPEG comment", "JPEG XMP metadata", "data after the end of the image"]
    exif_segment = next(s for marker, s in uploads._jpeg_segments(result.data) if marker == 0xE1)
    assert uploads._exif_orientation(exif_segment[10:]) == 6
    assert inspect_upload("照片.jpg", result.data, max_bytes=LIMIT).content_type == JPEG


# --- Text for the identity scan --------------------------------------------------------------


def test_docx_text_parts_find_a_name_wherever_it_is_planted():
    comment = {"text": "张三请看", "author": "张三", "initials": "ZS"}
    data = make_docx(table_cell="负责人：张三", header="张三课题组", footer="张三 制", comment=comment)
    document = docx.Document(io.BytesIO(data))
    document.core_properties.author = "张三"
    out = io.BytesIO()
    document.save(out)
    parts = extract_text_parts(DOCX, out.getvalue())
    hits = {where for where, text in parts if "张三" in text}
    assert {"正文表格", "页眉 (header1.xml)", "页脚 (footer1.xml)", "批注", "批注作者", "文档属性 creator"} <= hits
    assert ("正文", "本课题研究乡村教育的数字化转型。") in parts


def test_docx_text_parts_include_tracked_changes_and_custom_properties():
    parts = extract_text_parts(DOCX, identified_docx())
    assert ("正文", "新增一句。删去一句。加粗") in parts
    assert ("修订作者 (header1.xml)", "王五") in parts
    assert ("自定义属性 负责人", "张三") in parts
    assert ("审阅者列表 (people.xml)", "张三") in parts
    assert ("文档属性 Company", "某某大学") in parts


def test_docx_text_parts_include_smartart_text():
    diagram = (
        '<dgm:dataModel xmlns:dgm="http://schemas.openxmlformats.org/drawingml/2006/diagram" '
        'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><dgm:ptLst><dgm:pt modelId="1"><dgm:t>'
        "<a:bodyPr/><a:p><a:r><a:t>张三团队</a:t></a:r></a:p></dgm:t></dgm:pt></dgm:ptLst></dgm:dataModel>"
    )
    parts = extract_text_parts(DOCX, rezip(make_docx(), {"word/diagrams/data1.xml": diagram.encode()}))
    assert ("图示 (data1.xml)", "张三团队") in parts


def test_pdf_text_parts_give_pages_info_and_xmp():
    parts = extract_text_parts(PDF, text_pdf("申请人张三"))
    assert ("第 1 页", "申请人张三") in parts
    parts = extract_text_parts(PDF, make_pdf(info={"/Author": "张三"}, xmp=XMP, annotation_author="李四"))
    assert ("文档属性 /Author", "张三") in parts
    assert ("第 1 页批注", "李四") in parts
    assert any(where == "文档属性 XMP" and "张三" in text for where, text in parts)


def test_images_have_no_text_parts():
    assert extract_text_parts(PNG, make_png()) == []
    assert extract_text_parts(JPEG, make_jpeg()) == []
