"""Reader for PDF files: text layer (pdfium's text API, pdfplumber as fallback), page renders (pdfium) for QR
codes and for OCR of pages without text, and the structured invoice keys some 数电 PDFs carry.

Contract: ``read_pdf(doc, settings) -> ReadResult`` with one ``PageContent`` per page (``page_no`` from 0).
All boxes (text lines and QR codes) are in PDF points with the origin at the page's top-left, as pdfplumber
reports them; ``width``/``height`` are the page size in points.

* Text-layer pages (``source`` TEXT_LAYER): words are read by pdfium (the document opened once serves text and
  renders) and built as pdfplumber's ``dedupe_chars().extract_words()`` builds them: glyphs boxed as pdfminer
  boxes them (the font's advance across; pdfminer's descent below the baseline and one em up), duplicates of a
  glyph within 1 pt dropped, runs of upright glyphs kept apart, chars clustered into lines within 3 pt of
  ``top``, a word broken at blanks (runs of blanks pdfium merged restored) and at gaps over 3 pt. Pages pdfium
  cannot stand in for (no text, unmapped or replacement glyphs, visible non-upright glyphs, Type 3 or unknown
  fonts, form XObjects, a rotated page or one whose media box is not at the origin) are read by pdfplumber.
  Words (blanks dropped) are grouped into rows by
  vertical position; a row is cut where the gap between two words reaches ``COLUMN_GAP`` text heights (a column
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
  file, object streams included), as hints to verify against the QR code; a file without object streams or
  escaped names that never spells a key's name is not parsed for them.
* ``timings``: ``text`` (open, page load, words, keys), ``render``, ``qr``, ``ocr`` in seconds.
* Raises ``CorruptDocument`` for damaged or password-protected files, ``DocumentTooLarge`` for more than
  ``settings.max_pdf_pages`` pages: counted by pdfium from ``/Count`` before any page is parsed, and, since
  ``/Count`` may lie, by walking the page tree lazily no further than one page past the limit.
"""

from __future__ import annotations

import ctypes
import io
import logging
import re
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import groupby, islice

import cv2
import pdfplumber
import pypdf
import pypdfium2 as pdfium
from pdfminer.pdffont import FontMetricsDB
from pdfminer.pdfpage import PDFPage
from pdfminer.pdftypes import dict_value, list_value, num_value, resolve1
from pdfminer.psexceptions import PSException
from pdfminer.psparser import PSLiteral, literal_name
from pdfplumber.utils.exceptions import MalformedPDFException, PdfminerException
from pdfplumber.utils.text import LIGATURES

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
_KEY_NAMES = tuple(("/" + key).encode() for key in STRUCTURED_KEYS)
_ESCAPED_NAME = re.compile(rb"/[^\s/<>\[\]()%{}#]*#[0-9A-Fa-f]{2}")
COLUMN_GAP = 2.0  # a gap wider than this many text heights separates two columns of a row
_GAP_SLACK = 0.01  # pt: a gap of exactly COLUMN_GAP heights splits too, whatever the float noise in the boxes
MIN_TEXT_CHARS = 10
QR_PAGES = 5
MAX_RENDER_SIDE = 3200
_MAX_SCANNED_OBJECTS = 5000
_CID = re.compile(r"\(cid:\d+\)")
_SUBSET_TAG = re.compile(r"^[A-Z]{6}\+")
_STRIPPED = "\0"  # prefix of font names without their subset tag
_PASSWORD_ERROR = 4  # FPDF_ERR_PASSWORD
_WORD_TOLERANCE = 3.0  # pdfplumber's x/y_tolerance
_DEDUPE_TOLERANCE = 1.0  # pdfplumber's dedupe_chars tolerance
_BLANK_SLACK = 0.5  # pt a glyph may start after the blank before it without a blank pdfium dropped
_BAD_CODES = frozenset((0, 0xFFFD, 0xFFFE, 0xFFFF))


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
        pages: list[pdfplumber.page.Page] = []
        try:
            with _parse_errors():
                pages = _bounded_pages(plumber, settings.max_pdf_pages)
            timings["text"] += time.perf_counter() - t0
            for page_no, page in enumerate(pages):
                t0 = time.perf_counter()
                pdfium_page = rendered[page_no] if page_no < count else None
                try:
                    lines = text_lines(page, page_no, pdfium_page)
                    timings["text"] += time.perf_counter() - t0
                    content = PageContent(page_no=page_no, width=float(page.width), height=float(page.height),
                                          lines=lines, source=FieldSource.TEXT_LAYER)
                    needs_ocr = _needs_ocr(lines)
                    if pdfium_page is not None and (needs_ocr or page_no < QR_PAGES):
                        _render_page(pdfium_page, content, needs_ocr, settings, result, timings)
                finally:
                    if pdfium_page is not None:
                        pdfium_page.close()
                result.pages.append(content)
        finally:
            _close(plumber, pages)
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


def _close(plumber: pdfplumber.PDF, pages: list[pdfplumber.page.Page]) -> None:
    """Close what ``_bounded_pages`` opened. Not ``plumber.close()``: that walks the whole page tree (its ``pages``
    property), which for a PDF hiding 100,000 pages behind a false ``/Count`` took 34 s after the refusal."""
    plumber.flush_cache()
    for page in pages:
        page.close()
    if not plumber.stream_is_external:
        plumber.stream.close()


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


def text_lines(page: pdfplumber.page.Page, page_no: int, pdfium_page: pdfium.PdfPage | None = None) -> list[TextLine]:
    """The page's text layer as rows of words, top to bottom, split at column gaps (see the module contract);
    read by pdfium when ``pdfium_page`` is given and can stand in for pdfplumber, else by pdfplumber."""
    words = None
    if pdfium_page is not None:
        words = pdfium_words(pdfium_page, page)
    if words is None:
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


def pdfium_words(page: pdfium.PdfPage, plumber_page: pdfplumber.page.Page) -> list[dict] | None:
    """The page's words as pdfplumber's ``dedupe_chars().extract_words()`` gives them (``text x0 top x1
    bottom``, top-left origin), read with pdfium; ``None`` when pdfium cannot stand in for pdfplumber on this
    page (see the module contract). ``plumber_page`` gives the page height and pdfminer's font descents."""
    if page.get_rotation() % 360 or tuple(page.get_mediabox()[:2]) != (0, 0) \
            or tuple(page.get_cropbox()) != tuple(page.get_mediabox()):
        return None
    descents = _font_descents(plumber_page)
    if descents is None:
        return None
    height = float(plumber_page.height)
    fonts = _FontDescents(descents)
    try:
        textpage = page.get_textpage()
    except pdfium.PdfiumError:
        return None
    try:
        hidden = _hidden_blanks(page, textpage, height, fonts)
        chars = _pdfium_chars(textpage, height, fonts, hidden[0]) if hidden is not None else None
    finally:
        textpage.close()
    if not chars:
        return None
    chars = sorted(chars + hidden[1], key=lambda c: c[8])
    words = []
    for upright, run in groupby(_dedupe(chars), key=lambda c: c[7]):
        if upright:
            words.extend(_chars_to_words(list(run)))
    return words


class _FontDescents:
    """pdfminer's descent of each pdfium font (by font handle), ``None`` if unknown."""

    def __init__(self, descents: dict[str, float | None]) -> None:
        self._descents, self._cache = descents, {}

    def get(self, font) -> float | None:
        key = ctypes.cast(font, ctypes.c_void_p).value if font else None
        if key not in self._cache:
            self._cache[key] = _font_metrics(font, self._descents) if font else None
        return self._cache[key]


def _hidden_blanks(page: pdfium.PdfPage, textpage: pdfium.PdfTextPage, height: float,
                   fonts: _FontDescents) -> tuple[dict[int, int], list[tuple]] | None:
    """The content position of each text object, and a stand-in blank (a non-upright char for pdfminer) for
    each text object whose matrix pdfminer finds not upright and pdfium lists no glyph of (a degenerate matrix):
    such glyphs split pdfplumber's runs of upright chars. ``None`` when the page holds form XObjects (their
    glyphs are not positioned here) or such a text object's font is unknown."""
    raw = pdfium.raw
    matrix = raw.FS_MATRIX()
    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    font_size = ctypes.c_float()
    order, blanks = {}, []
    for index in range(raw.FPDFPage_CountObjects(page.raw)):
        obj = raw.FPDFPage_GetObject(page.raw, index)
        kind = raw.FPDFPageObj_GetType(obj)
        if kind == raw.FPDF_PAGEOBJ_FORM:
            return None
        if kind != raw.FPDF_PAGEOBJ_TEXT:
            continue
        order[ctypes.cast(obj, ctypes.c_void_p).value] = index
        if not raw.FPDFPageObj_GetMatrix(obj, matrix) or _upright(matrix) \
                or raw.FPDFTextObj_GetText(obj, textpage.raw, None, 0) > 2:
            continue
        descent = fonts.get(raw.FPDFTextObj_GetFont(obj))
        if descent is None or matrix.b or matrix.c or not raw.FPDFPageObj_GetBounds(obj, left, bottom, right, top) \
                or not raw.FPDFTextObj_GetFontSize(obj, font_size):
            return None
        size = font_size.value * matrix.d
        low = height - (bottom.value + descent * size)
        blanks.append((" ", left.value, low - size, left.value, low, None, 0.0, False, (index, -1)))
    return order, blanks


def _upright(matrix) -> bool:
    """pdfminer's test of an upright glyph."""
    return matrix.a * matrix.d > 0 and matrix.b * matrix.c <= 0


def _font_descents(page: pdfplumber.page.Page) -> dict[str, float | None] | None:
    """pdfminer's descent (share of the font size) of each font in the page's resources, by name and by
    ``_STRIPPED`` + name without subset tag (``None`` for an ambiguous name); ``None`` when a font is Type 3
    (pdfminer sizes those glyphs differently) or cannot be read (pdfplumber then reads the page, as before)."""
    descents: dict[str, float | None] = {}
    try:
        fonts = resolve1((page.page_obj.resources or {}).get("Font")) or {}
        for ref in fonts.values():
            spec = resolve1(ref)
            found = _pdfminer_descent(spec) if isinstance(spec, dict) else (set(), 0.0)
            if found is None:
                return None
            names, descent = found
            for name in names:
                for key in (name, _STRIPPED + _font_key(name)):
                    descents[key] = descent if descents.get(key, descent) == descent else None
    except Exception as exc:  # noqa: BLE001 - any oddity sends the page to pdfplumber, which reports damage
        log.debug("font metrics not read: %s", exc)
        return None
    return descents


def _pdfminer_descent(spec: dict) -> tuple[set[str], float] | None:
    """The names (``BaseFont``, ``FontName``) and descent pdfminer gives a font, without building the font (its
    CMaps are slow to parse); ``None`` for Type 3."""
    subtype = literal_name(spec["Subtype"]) if "Subtype" in spec else "Type1"
    if subtype == "Type3":
        return None
    if subtype == "Type0":
        return _pdfminer_descent(dict_value(list_value(spec["DescendantFonts"])[0]))
    basefont = literal_name(spec["BaseFont"]) if "BaseFont" in spec else "unknown"
    descriptor = None
    if subtype not in ("CIDFontType0", "CIDFontType2"):
        try:
            descriptor = FontMetricsDB.get_metrics(basefont)[0]
        except KeyError:
            pass
    if descriptor is None:
        descriptor = dict_value(spec.get("FontDescriptor", {}))
    fontname = resolve1(descriptor.get("FontName", "unknown"))
    fontname = literal_name(fontname) if isinstance(fontname, PSLiteral) else str(fontname)
    return {basefont, fontname}, -abs(num_value(descriptor.get("Descent", 0))) * 0.001


def _font_key(name: str) -> str:
    """A font's name without its subset tag (pdfium drops it, pdfminer keeps it)."""
    return _SUBSET_TAG.sub("", name)


def _pdfium_chars(textpage: pdfium.PdfTextPage, height: float, fonts: _FontDescents,
                  order: dict[int, int]) -> list[tuple] | None:
    """``(text, x0, top, x1, bottom, font, size, upright, position)`` per glyph pdfium lists (generated blanks
    skipped), boxed as pdfminer boxes it: for unrotated text from the origin one advance (the font's width)
    across, and from the baseline pdfminer's descent down and one em up; rotated glyphs get pdfium's loose
    box."""
    raw, handle = pdfium.raw, textpage.raw
    rect, matrix = raw.FS_RECTF(), raw.FS_MATRIX()
    x, y = ctypes.c_double(), ctypes.c_double()
    advance = ctypes.c_float()
    objects: dict[int, tuple | None] = {}  # text object -> (position, font, font id, descent)
    widths: dict[tuple, float | None] = {}
    chars = []
    for i in range(raw.FPDFText_CountChars(handle)):
        if raw.FPDFText_IsGenerated(handle, i):
            continue
        code = raw.FPDFText_GetUnicode(handle, i)
        if code in _BAD_CODES or raw.FPDFText_HasUnicodeMapError(handle, i):
            return None
        text_object = raw.FPDFText_GetTextObject(handle, i)
        key = ctypes.cast(text_object, ctypes.c_void_p).value
        if key not in objects:
            objects[key] = _text_object(text_object, order, fonts) if key else None
        known = objects[key]
        raw.FPDFText_GetMatrix(handle, i, matrix)
        if known is None or not _upright(matrix):
            return None  # a visible non-upright glyph, one inside a form XObject, or an unknown font
        position, font, font_id, descent = known
        font_size = raw.FPDFText_GetFontSize(handle, i)
        width = None
        if matrix.b == 0 and matrix.c == 0:
            if (font_id, code, font_size) not in widths:
                ok = raw.FPDFFont_GetGlyphWidth(font, code, ctypes.c_float(font_size), advance)
                widths[font_id, code, font_size] = advance.value if ok else None
            width = widths[font_id, code, font_size]
        if width is not None:
            raw.FPDFText_GetCharOrigin(handle, i, x, y)
            x0, x1 = sorted((x.value, x.value + width * matrix.a))
            low, high = (y.value + matrix.d * font_size * share for share in (descent, descent + 1))
            top, bottom = height - max(low, high), height - min(low, high)
        else:
            raw.FPDFText_GetLooseCharBox(handle, i, rect)
            x0, top, x1, bottom = rect.left, height - rect.top, rect.right, height - rect.bottom
        if chars and chars[-1][0] == " " and chars[-1][8][0] == position:
            _restore_blanks(chars, x0)
        chars.append((chr(code), x0, top, x1, bottom, font_id, round(font_size, 3), True, (position, i)))
    return chars


def _text_object(text_object, order: dict[int, int], fonts: _FontDescents) -> tuple | None:
    position = order.get(ctypes.cast(text_object, ctypes.c_void_p).value)
    font = pdfium.raw.FPDFTextObj_GetFont(text_object)
    descent = fonts.get(font)
    if position is None or descent is None:
        return None
    return position, font, ctypes.cast(font, ctypes.c_void_p).value, descent


def _restore_blanks(chars: list[tuple], until: float) -> None:
    """pdfium keeps one of a run of blanks; pdfminer keeps them all, and each may break a word. Refill the gap
    between the kept blank (``chars[-1]``) and the next glyph of its text object, at ``until``, with blanks."""
    blank = chars[-1]
    width = blank[3] - blank[1]
    x0, n = blank[3], 0
    while width > 0.1 and x0 < until - _BLANK_SLACK and n < 1000:
        chars.append((" ", x0, blank[2], x0 + width, *blank[4:8], (blank[8][0], blank[8][1] + (n + 1) / 2000)))
        x0, n = x0 + width, n + 1


def _font_metrics(font, descents: dict[str, float | None]) -> float | None:
    """pdfminer's descent for a pdfium font, found by name; ``None`` if unknown."""
    if not font:
        return None
    size = pdfium.raw.FPDFFont_GetBaseFontName(font, None, 0)
    buffer = ctypes.create_string_buffer(size)
    pdfium.raw.FPDFFont_GetBaseFontName(font, buffer, size)
    name = buffer.value.decode("utf-8", "replace")
    return descents[name] if name in descents else descents.get(_STRIPPED + _font_key(name))


def _clusters(items: list, key, tolerance: float) -> list[list]:
    """pdfplumber's ``cluster_objects``: values chained within ``tolerance`` share a cluster; clusters in value
    order, items in each in input order."""
    index, group, last = {}, -1, None
    for value in sorted({key(item) for item in items}):
        if last is None or value > last + tolerance:
            group += 1
        index[value], last = group, value
    out: list[list] = [[] for _ in range(group + 1)]
    for item in items:
        out[index[key(item)]].append(item)
    return out


def _dedupe(chars: list[tuple]) -> list[tuple]:
    """pdfplumber's ``dedupe_chars`` (tolerance 1, same text, font and size): the first of each cluster by
    position is kept, in content order."""
    groups: dict[tuple, list[int]] = {}
    for i, char in enumerate(chars):
        groups.setdefault((char[7], char[0], char[5], char[6]), []).append(i)
    keep = []
    for members in groups.values():
        if len(members) == 1:
            keep.append(members[0])
            continue
        for row in _clusters(members, lambda i: chars[i][2], _DEDUPE_TOLERANCE):
            for cluster in _clusters(row, lambda i: chars[i][1], _DEDUPE_TOLERANCE):
                keep.append(min(cluster, key=lambda i: (chars[i][2], chars[i][1])))
    return [chars[i] for i in sorted(keep)]


def _chars_to_words(chars: list[tuple]) -> list[dict]:
    """pdfplumber's ``extract_words`` for upright text (tolerances 3, blanks dropped, ligatures expanded)."""
    words = []
    for line in _clusters(chars, lambda c: c[2], _WORD_TOLERANCE):
        word: list[tuple] = []
        for char in sorted(line, key=lambda c: c[1]):
            if char[0].isspace():
                _flush(word, words)
                word = []
            elif word and (char[1] < word[-1][1] or char[1] > word[-1][3] + _WORD_TOLERANCE
                           or abs(char[2] - word[-1][2]) > _WORD_TOLERANCE):
                _flush(word, words)
                word = [char]
            else:
                word.append(char)
        _flush(word, words)
    return words


def _flush(word: list[tuple], words: list[dict]) -> None:
    if word:
        words.append({"text": "".join(LIGATURES.get(c[0], c[0]) for c in word),
                      "x0": min(c[1] for c in word), "top": min(c[2] for c in word),
                      "x1": max(c[3] for c in word), "bottom": max(c[4] for c in word)})


def _split_columns(row: list[dict]) -> list[list[dict]]:
    segments = [[row[0]]]
    for prev, word in zip(row, row[1:], strict=False):
        height = max(min(prev["bottom"] - prev["top"], word["bottom"] - word["top"]), 1.0)
        if word["x0"] - prev["x1"] > COLUMN_GAP * height - _GAP_SLACK:
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
    """The 数电 structured keys found in the PDF (Info dictionary first, then every dictionary), else ``{}``.
    A file that spells none of the key names, and has no object streams or escaped names to hide them in, is
    not parsed."""
    if b"/ObjStm" not in data and not _ESCAPED_NAME.search(data) and not any(key in data for key in _KEY_NAMES):
        return {}
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


__all__ = ["STRUCTURED_KEYS", "collapse_doubled", "pdfium_words", "read_pdf", "render_scale", "structured_keys",
           "text_lines"]
