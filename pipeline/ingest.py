"""Ingest: one uploaded file's bytes -> ``SourceDocument`` (sniffed type, sha256, size limit).

Contract: ``ingest_bytes(name, data, settings)`` looks only at the bytes (magic numbers, the zip's member names,
the first characters of XML text), never at the file name's extension, and either returns a ``SourceDocument`` or
raises one of ``pipeline.errors``:

* ``CorruptDocument``    empty file, a zip whose directory cannot be read;
* ``DocumentTooLarge``   more than ``settings.max_file_bytes`` bytes (checked before anything else is parsed);
* ``UnsupportedDocument`` anything that is not a JPEG/PNG/WebP/BMP/TIFF image, PDF, OFD, XML or zip, with a
  message naming what the file looks like ("looks like a Word document").

Types: images -> ``IMAGE``; ``%PDF`` (within the first 1 KiB, as PDF readers accept) -> ``PDF``; a zip with
``OFD.xml`` at its root -> ``OFD``; any other zip -> ``ZIP`` (batch downloads), except Office Open XML files which
are refused; XML text in UTF-8/UTF-16 with or without a byte-order mark -> ``XML``.
``SourceDocument.name`` is the base name of ``name`` (any directory part a client sent is dropped).
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from pathlib import PurePosixPath

from pipeline.config import PipelineSettings, get_pipeline_settings
from pipeline.errors import CorruptDocument, DocumentTooLarge, UnsupportedDocument
from pipeline.types import DocType, SourceDocument

_IMAGE_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)

# Files people upload by mistake: magic prefix -> what to tell them.
_KNOWN_UNSUPPORTED: tuple[tuple[bytes, str], ...] = (
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Microsoft Office document (Word/Excel .doc/.xls)"),
    (b"GIF87a", "a GIF image; please upload a JPEG or PNG"),
    (b"GIF89a", "a GIF image; please upload a JPEG or PNG"),
    (b"Rar!\x1a\x07", "a RAR archive; please upload a zip"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive; please upload a zip"),
    (b"\x1f\x8b", "a gzip archive; please upload a zip"),
    (b"{\\rtf", "an RTF document"),
    (b"\x7fELF", "a program, not a document"),
)

_OOXML_KINDS = (("word/", "a Word document"), ("xl/", "an Excel workbook"), ("ppt/", "a PowerPoint presentation"))
_BMP_HEADER_SIZES = {12, 40, 52, 56, 64, 108, 124}
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1", b"avif")
_XML_START = re.compile(r"<[A-Za-z_:?!]")
_HTML_START = re.compile(r"<(!doctype\s+html|html[\s>])", re.I)
_SNIFF_CHARS = 1024


def ingest_bytes(name: str, data: bytes, settings: PipelineSettings | None = None) -> SourceDocument:
    """Sniff, hash and size-check one file. Raises a ``PipelineError`` subclass with a user-readable message."""
    settings = settings or get_pipeline_settings()
    if len(data) > settings.max_file_bytes:
        raise DocumentTooLarge(
            f"file is {_mib(len(data))}, larger than the {_mib(settings.max_file_bytes)} limit")
    if not data:
        raise CorruptDocument("the file is empty (0 bytes)")
    doc_type, media_type = sniff(data)
    return SourceDocument(name=_base_name(name), data=data, sha256=hashlib.sha256(data).hexdigest(),
                          doc_type=doc_type, media_type=media_type)


def sniff(data: bytes) -> tuple[DocType, str]:
    """``(DocType, media type)`` of ``data`` from its content; raises ``UnsupportedDocument``/``CorruptDocument``."""
    for magic, media_type in _IMAGE_MAGIC:
        if data.startswith(magic):
            return DocType.IMAGE, media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return DocType.IMAGE, "image/webp"
    if data[:2] == b"BM" and len(data) >= 18 and int.from_bytes(data[14:18], "little") in _BMP_HEADER_SIZES:
        return DocType.IMAGE, "image/bmp"
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):  # before the PDF scan: a stored zip may hold a PDF
        return _sniff_zip(data)
    if b"%PDF-" in data[:_SNIFF_CHARS]:
        return DocType.PDF, "application/pdf"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        raise UnsupportedDocument("file type not supported: looks like a HEIC/AVIF photo; "
                                  "please export it as JPEG (most phones can: Settings > Camera > Formats)")
    for magic, what in _KNOWN_UNSUPPORTED:
        if data.startswith(magic):
            raise UnsupportedDocument(f"file type not supported: looks like {what}")
    text = _decode_text_head(data)
    if text is not None:
        head = text.lstrip()
        if _HTML_START.match(head):
            raise UnsupportedDocument("file type not supported: looks like a web page (HTML), "
                                      "not an invoice file; download the invoice's PDF, OFD or XML instead")
        if _XML_START.match(head):
            return DocType.XML, "application/xml"
        raise UnsupportedDocument("file type not supported: looks like plain text; "
                                  "upload the invoice as PDF, OFD, XML, zip or a photo (JPEG/PNG)")
    raise UnsupportedDocument("file type not supported: unrecognised format; "
                              "upload the invoice as PDF, OFD, XML, zip or a photo (JPEG/PNG)")


def _sniff_zip(data: bytes) -> tuple[DocType, str]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise CorruptDocument(f"the zip file is damaged or incomplete ({exc})") from None
    roots = {n.lstrip("/") for n in names}
    if any(n.lower() == "ofd.xml" for n in roots):
        return DocType.OFD, "application/ofd"
    if "[Content_Types].xml" in roots:
        for prefix, what in _OOXML_KINDS:
            if any(n.startswith(prefix) for n in roots):
                raise UnsupportedDocument(f"file type not supported: looks like {what}; "
                                          "upload the invoice itself (PDF, OFD, XML or a photo)")
        raise UnsupportedDocument("file type not supported: looks like a Microsoft Office document")
    if "mimetype" in roots and any(n == "content.xml" for n in roots):
        raise UnsupportedDocument("file type not supported: looks like an OpenDocument (LibreOffice/WPS) file")
    return DocType.ZIP, "application/zip"


def _decode_text_head(data: bytes) -> str | None:
    """The first characters of ``data`` if it is UTF-8/UTF-16/GB18030 text (BOM or not), else ``None``."""
    head = data[:_SNIFF_CHARS]
    if head.startswith(b"\xef\xbb\xbf"):
        encodings, head = ("utf-8",), head[3:]
    elif head.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings = ("utf-16",)
    elif len(head) >= 2 and head[0] == 0 and head[1] != 0:
        encodings = ("utf-16-be",)
    elif len(head) >= 2 and head[0] != 0 and head[1] == 0:
        encodings = ("utf-16-le",)
    else:
        encodings = ("utf-8", "gb18030")
    for encoding in encodings:
        text = _decode_prefix(head, encoding, truncated=len(data) > _SNIFF_CHARS)
        if text is not None and not any(c < " " and c not in "\t\r\n" for c in text):
            return text
    return None


def _decode_prefix(head: bytes, encoding: str, truncated: bool) -> str | None:
    """``head`` decoded, tolerating one multi-byte character cut off by the sniff window; ``None`` if not text."""
    if encoding.startswith("utf-16"):
        head = head[: len(head) // 2 * 2]
    try:
        return head.decode(encoding)
    except UnicodeDecodeError as exc:
        if truncated and exc.start >= len(head) - 4:
            return head[: exc.start].decode(encoding, errors="strict")
        return None


def _base_name(name: str) -> str:
    return PurePosixPath(name.replace("\\", "/")).name or "upload"


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


__all__ = ["ingest_bytes", "sniff"]
