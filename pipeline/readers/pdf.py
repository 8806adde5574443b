"""Reader for PDF files: text layer (pdfplumber), page renders (pdfium) for QR codes and for OCR of pages
without text, and the structured invoice keys some 数电 PDFs carry.

Contract: ``read_pdf(doc, settings) -> ReadResult`` with one ``PageContent`` per page (``page_no`` from 0).
All boxes (text lines and QR codes) are in PDF points with the origin at the page's top-left, as pdfplumber
reports them; ``width``/``height`` are the page size in points.

* Text-layer pages (``source`` TEXT_LAYER): words (``extract_words``, blanks dropped) are grouped into rows by
  vertical position; a row is cut where the gap between two words exceeds ``COLUMN_GAP`` text heights (a column
  break, as OCR would cut it: ``名称：甲公司 | 名称：乙公司``), and each piece becomes one ``TextLine`` of its words
  joined left to right with single spaces, its box spanning them. Lines come row by row, left to right.
  Overlapping duplicate glyphs are dropped (``dedupe_chars``); a line whose every word is a doubled string
  (``开开票票日日期期``) is collapsed, unless it is purely numeric (``1100`` stays).
* Pages with (almost) no usable text (fewer than ``MIN_TEXT_CHARS`` characters, or mostly ``(cid:N)``
  placeholders) are rendered and OCRed (``source`` OCR) with a warning.
* The first ``QR_PAGES`` pages are rendered (grey, at ``settings.pdf_render_scale`` capped to
  ``MAX_RENDER_SIDE`` pixels and ``settings.max_image_pixels``) and QR-decoded without upscaled passes (the
  render is the upscale); a page needing OCR is rendered once in colour and that render serves both.
* ``structured`` gets the keys ``InvoiceNumber IssueTime TotalTax-includedAmount BuyerIdNum SellerIdNum
  TotalAmWithoutTax TotalTaxAm`` when the PDF carries them (Info dictionary first, else any dictionary in the
  file, object streams included), as hints to verify against the QR code.
* ``timings``: ``text`` (open, words, keys), ``render``, ``qr``, ``ocr`` in seconds.
* Raises ``CorruptDocument`` for damaged or password-protected files, ``DocumentTooLarge`` for more than
  ``settings.max_pdf_pages`` pages: counted by pdfium from ``/Count`` before any page is parsed, and, since
  ``/Count`` may lie, by walking the page tree lazily no further than one page past the limit.
"""

from __future__ import annotations

import io
import logging
import re
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import islice

import cv2
import pdfplumber
import pypdf
import pypdfium2 as pdfium
from pdfminer.pdfpage import PDFPage
from pdfminer.psexceptions import PSException
from pdfplumber.utils.exceptions import MalformedPDFException, PdfminerException

from pipeline.config import PipelineSettings, get_pipeline_settings
from pipeline.errors import CorruptDocument, DocumentTooLarge
from pipeline.readers.image import ocr_lines
from pipeline.readers.layout import group_rows
from pipeline.readers.qr import decode_qr
from pipeline.types import (
    FieldSource,
    PageContent,
    QrCode,
    ReadResult,
    SourceDocument,
    TextLine,
)

log = logging.getLogger(__name__)

STRUCTURED_KEYS = ("InvoiceNumber", "IssueTime", "TotalTax-includedAmount", "BuyerIdNum", "SellerIdNum",
                   "TotalAmWithoutTax", "TotalTaxAm")
COLUMN_GAP = 2.0  # a gap wider than this many text heights separates two columns of a row
MIN_TEXT_CHARS = 10
QR_PAGES = 5
MAX_RENDER_SIDE = 3200
_MAX_SCANNED_OBJECTS = 5000
_CID = re.compile(r"\(cid:\d+\)")
_PASSWORD_ERROR = 4  # FPDF_ERR_PASSWORD


def read_pdf(doc: SourceDocument, settings: PipelineSettings | None = None) -> ReadResult:
    settings = settings or get_pipeline_settings()
    result = ReadResult(document=doc)
    timings = dict.fromkeys(("text", "render", "qr", "ocr"), 0.0)
    t0 = time.perf_counter()
    rendered = _open_pdfium(doc.data)
    try:
        count = len(rendered)
        if count == 0:
            raise CorruptDocument("the PDF has no pages")
        if count > settings.max_pdf_pages:
            raise DocumentTooLarge(
                f"the PDF has {count} pages, more than the {settings.max_pdf_pages}-page limit")
        with _parse_errors():
            plumber = pdfplumber.open(io.BytesIO(doc.data))
        with plumber:
            with _parse_errors():
                pages = _bounded_pages(plumber, settings.max_pdf_pages)
            timings["text"] += time.perf_counter() - t0
            for page_no, page in enumerate(pages):
                t0 = time.perf_counter()
                lines = text_lines(page, page_no)
                timings["text"] += time.perf_counter() - t0
                content = PageContent(page_no=page_no, width=float(page.width), height=float(page.height),
                                      lines=lines, source=FieldSource.TEXT_LAYER)
                needs_ocr = _needs_ocr(lines)
                if page_no < count and (needs_ocr or page_no < QR_PAGES):
                    _render_page(rendered[page_no], content, needs_ocr, settings, result, timings)
                result.pages.append(content)
    finally:
        rendered.close()
    t0 = time.perf_counter()
    result.structured = structured_keys(doc.data)
    timings["text"] += time.perf_counter() - t0
    result.timings = timings
    return result


def _bounded_pages(plumber: pdfplumber.PDF, limit: int) -> list[pdfplumber.page.Page]:
    """The page tree's pages, walked lazily and never beyond ``limit + 1``: ``/Count`` (which pdfium trusts) may
    lie, and pdfplumber's ``pages`` would parse every page the tree really holds."""
    pages, doctop = [], 0.0
    for number, page in enumerate(islice(PDFPage.create_pages(plumber.doc), limit + 1), start=1):
        if number > limit:
            raise DocumentTooLarge(f"the PDF has more pages than its page count says, more than the {limit}-page "
                                   "limit")
        pages.append(pdfplumber.page.Page(plumber, page, page_number=number, initial_doctop=doctop))
        doctop += pages[-1].height
    return pages


@contextmanager
def _parse_errors() -> Iterator[None]:
    """Turn pdfminer's failures on malformed content into ``CorruptDocument``."""
    try:
        yield
    except (PdfminerException, MalformedPDFException, PSException, ValueError, KeyError, TypeError,
            struct.error) as exc:
        raise CorruptDocument(
            f"the PDF file is damaged and its text cannot be read ({type(exc).__name__})") from None


def _open_pdfium(data: bytes) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if getattr(exc, "err_code", None) == _PASSWORD_ERROR or "password" in str(exc).lower():
            raise CorruptDocument("the PDF is password-protected; remove the password and upload it again") \
                from None
        raise CorruptDocument("the PDF file is damaged or incomplete and cannot be opened") from None


def _render_page(page: pdfium.PdfPage, content: PageContent, needs_ocr: bool, settings: PipelineSettings,
                 result: ReadResult, timings: dict[str, float]) -> None:
    t0 = time.perf_counter()
    scale = render_scale(content.width, content.height, settings)
    try:
        image = page.render(scale=scale, grayscale=not needs_ocr).to_numpy()
    except pdfium.PdfiumError as exc:
        result.warnings.append(f"page {content.page_no + 1} could not be rendered ({exc})")
        return
    if image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    timings["render"] += time.perf_counter() - t0
    t0 = time.perf_counter()
    result.qr_codes.extend(QrCode(text=qr.text, page=content.page_no, box=_unscale(qr.box, scale))
                           for qr in decode_qr(image, page=content.page_no, upscale=False))
    timings["qr"] += time.perf_counter() - t0
    if needs_ocr:
        t0 = time.perf_counter()
        content.lines = [TextLine(text=line.text, box=_unscale(line.box, scale), confidence=line.confidence,
                                  page=line.page) for line in ocr_lines(image, settings, content.page_no)]
        content.source = FieldSource.OCR
        timings["ocr"] += time.perf_counter() - t0
        result.warnings.append(f"page {content.page_no + 1} has no usable text layer; it was read by OCR")


def render_scale(width: float, height: float, settings: PipelineSettings) -> float:
    """``settings.pdf_render_scale``, reduced so the render stays within ``MAX_RENDER_SIDE`` and the pixel limit."""
    scale = settings.pdf_render_scale
    scale = min(scale, MAX_RENDER_SIDE / max(width, height, 1.0))
    scale = min(scale, (settings.max_image_pixels / max(width * height, 1.0)) ** 0.5)
    return max(scale, 0.1)


def _unscale(box, scale: float):
    return None if box is None else tuple(v / scale for v in box)


def text_lines(page: pdfplumber.page.Page, page_no: int) -> list[TextLine]:
    """The page's text layer as rows of words, top to bottom, split at column gaps (see the module contract)."""
    with _parse_errors():
        words = page.dedupe_chars().extract_words(keep_blank_chars=False, use_text_flow=False)
    lines = []
    for row in group_rows(words, lambda w: (w["x0"], w["top"], w["x1"], w["bottom"])):
        for segment in _split_columns(row):
            text = collapse_doubled(" ".join(w["text"] for w in segment))
            box = (min(w["x0"] for w in segment), min(w["top"] for w in segment),
                   max(w["x1"] for w in segment), max(w["bottom"] for w in segment))
            lines.append(TextLine(text=text, box=tuple(float(v) for v in box), confidence=1.0, page=page_no))
    return lines


def _split_columns(row: list[dict]) -> list[list[dict]]:
    segments = [[row[0]]]
    for prev, word in zip(row, row[1:], strict=False):
        height = max(min(prev["bottom"] - prev["top"], word["bottom"] - word["top"]), 1.0)
        if word["x0"] - prev["x1"] > COLUMN_GAP * height:
            segments.append([word])
        else:
            segments[-1].append(word)
    return segments


def collapse_doubled(text: str) -> str:
    """``'开开票票日日期期'`` -> ``'开票日期'`` when every word of ``text`` is a doubled string; else ``text``."""
    words = text.split(" ")
    joined = "".join(words)
    if len(joined) < 4 or all(c.isdigit() or c in ".,-:/%¥￥" for c in joined):
        return text
    if not all(_is_doubled(w) for w in words):
        return text
    return " ".join(w[0::2] for w in words)


def _is_doubled(word: str) -> bool:
    return len(word) % 2 == 0 and len(word) >= 2 and word[0::2] == word[1::2]


def _needs_ocr(lines: list[TextLine]) -> bool:
    text = "".join(line.text for line in lines)
    meaningful = len("".join(_CID.sub("", text).split()))
    return meaningful < MIN_TEXT_CHARS or meaningful < 0.5 * len("".join(text.split()))


def structured_keys(data: bytes) -> dict[str, str]:
    """The 数电 structured keys found in the PDF (Info dictionary first, then every dictionary), else ``{}``."""
    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        found = _pick(reader.trailer.get("/Info"))
        if not found:
            for obj in _all_objects(reader):
                found = _pick(obj)
                if found:
                    break
        return found
    except Exception as exc:  # noqa: BLE001 - the keys are optional hints; a broken file is reported elsewhere
        log.debug("no structured keys read: %s", exc)
        return {}


def _pick(obj) -> dict[str, str]:
    if obj is None:
        return {}
    obj = obj.get_object() if hasattr(obj, "get_object") else obj
    if not isinstance(obj, pypdf.generic.DictionaryObject):
        return {}
    found = {}
    for key in STRUCTURED_KEYS:
        value = obj.get("/" + key)
        if value is not None:
            value = value.get_object() if hasattr(value, "get_object") else value
            text = str(value).strip()
            if text:
                found[key] = text
    return found


def _all_objects(reader: pypdf.PdfReader) -> Iterator[object]:
    numbers = [(num, gen) for gen, nums in reader.xref.items() for num in nums]
    numbers += [(num, 0) for num in reader.xref_objStm]
    for num, gen in numbers[:_MAX_SCANNED_OBJECTS]:
        try:
            yield reader.get_object(pypdf.generic.IndirectObject(num, gen, reader))
        except Exception:  # noqa: BLE001 - skip unreadable objects
            continue


__all__ = ["STRUCTURED_KEYS", "collapse_doubled", "read_pdf", "render_scale", "structured_keys", "text_lines"]
