import hashlib
import io
import zipfile

import cv2
import numpy as np
import pytest

from pipeline.config import PipelineSettings
from pipeline.errors import CorruptDocument, DocumentTooLarge, UnsupportedDocument
from pipeline.ingest import ingest_bytes
from pipeline.types import DocType

IMAGE = np.full((40, 60, 3), 200, np.uint8)


def _encoded(ext: str) -> bytes:
    ok, buf = cv2.imencode(ext, IMAGE)
    assert ok
    return buf.tobytes()


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize(("ext", "media_type"), [
    (".jpg", "image/jpeg"), (".png", "image/png"), (".webp", "image/webp"), (".bmp", "image/bmp"),
    (".tiff", "image/tiff"),
])
def test_images_are_sniffed_by_content(ext, media_type):
    doc = ingest_bytes("photo.pdf", _encoded(ext))  # the extension is ignored
    assert (doc.doc_type, doc.media_type) == (DocType.IMAGE, media_type)


def test_document_carries_bytes_hash_and_base_name():
    data = b"%PDF-1.7\n%rest"
    doc = ingest_bytes("C:\\Users\\li\\Desktop\\dzfp_123.pdf", data)
    assert doc.doc_type is DocType.PDF and doc.media_type == "application/pdf"
    assert doc.sha256 == hashlib.sha256(data).hexdigest()
    assert doc.data == data and doc.name == "dzfp_123.pdf"


def test_pdf_header_after_leading_junk_within_first_kib():
    assert ingest_bytes("a.pdf", b"\r\n" * 100 + b"%PDF-1.4\n").doc_type is DocType.PDF


def test_zip_with_ofd_xml_is_ofd_and_other_zip_is_zip():
    ofd = _zip({"OFD.xml": b"<ofd:OFD/>", "Doc_0/Document.xml": b"<x/>"})
    assert ingest_bytes("a.ofd", ofd).doc_type is DocType.OFD
    batch = _zip({"发票批量下载/dzfp_1.pdf": b"%PDF-1.7", "__MACOSX/._x": b""})
    assert ingest_bytes("batch.zip", batch).doc_type is DocType.ZIP


@pytest.mark.parametrize(("folder", "what"), [("word/", "Word document"), ("xl/", "Excel workbook")])
def test_office_files_are_refused_with_their_name(folder, what):
    data = _zip({"[Content_Types].xml": b"<Types/>", folder + "document.xml": b"<x/>"})
    with pytest.raises(UnsupportedDocument, match=f"file type not supported: looks like an? {what}"):
        ingest_bytes("invoice.docx", data)


def test_old_office_file_is_refused():
    with pytest.raises(UnsupportedDocument, match="Office"):
        ingest_bytes("a.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100))


@pytest.mark.parametrize("data", [
    b'<?xml version="1.0" encoding="UTF-8"?><EInvoice/>',
    b"\xef\xbb\xbf<?xml version='1.0'?><EInvoice/>",
    b"\n\t  <EInvoice><Header/></EInvoice>",
    '\ufeff<?xml version="1.0" encoding="UTF-16"?><EInvoice/>'.encode("utf-16-le"),
    '<?xml version="1.0" encoding="UTF-16"?><EInvoice/>'.encode("utf-16"),
    '<?xml version="1.0" encoding="GBK"?><发票>名称</发票>'.encode("gb18030"),
    b'<:eInvoice xmlns:="">',  # malformed root seen in real OFD attachments
    b"<?xml version='1.0'?>" + "<a>价税合计</a>".encode() * 200,  # multi-byte char cut by the sniff window
])
def test_xml_text_with_or_without_bom(data):
    doc = ingest_bytes("invoice.xml", data)
    assert (doc.doc_type, doc.media_type) == (DocType.XML, "application/xml")


def test_html_is_refused_as_web_page():
    with pytest.raises(UnsupportedDocument, match="web page"):
        ingest_bytes("a.xml", b"<!DOCTYPE html><html><body>invoice</body></html>")


def test_plain_text_and_unknown_binary_are_refused():
    with pytest.raises(UnsupportedDocument, match="plain text"):
        ingest_bytes("a.txt", "发票号码 12345678".encode())
    with pytest.raises(UnsupportedDocument, match="unrecognised"):
        ingest_bytes("a.bin", bytes(range(256)) * 4)


def test_heic_photo_gets_an_export_hint():
    with pytest.raises(UnsupportedDocument, match="HEIC"):
        ingest_bytes("IMG_0001.HEIC", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64))


def test_empty_file_is_a_clear_error():
    with pytest.raises(CorruptDocument, match="empty"):
        ingest_bytes("a.pdf", b"")


def test_damaged_zip_is_corrupt():
    with pytest.raises(CorruptDocument, match="zip"):
        ingest_bytes("a.zip", b"PK\x03\x04" + b"\x00garbage" * 10)


def test_size_limit_is_enforced_before_parsing():
    settings = PipelineSettings(max_file_bytes=1024)
    assert ingest_bytes("a.pdf", b"%PDF-1.4" + bytes(1016), settings).doc_type is DocType.PDF
    with pytest.raises(DocumentTooLarge, match="limit"):
        ingest_bytes("a.pdf", b"%PDF-1.4" + bytes(1017), settings)
