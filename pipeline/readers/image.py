"""Reader for photos and scans (JPEG/PNG/WebP/BMP/TIFF): decode, QR decode, clean up, quality gate, OCR.

Contract: ``read_image(doc, settings) -> ReadResult`` with exactly one ``PageContent`` (``page_no`` 0,
``source`` OCR) whose ``width``/``height`` are those of the image as processed: upright (JPEG EXIF orientation
applied), scaled down to at most ``MAX_SIDE`` pixels on its longer side, then cleaned up by
``pipeline.readers.cleanup`` (paper found and flattened, quarter turns and small skew undone, uneven light
evened out; each step only when the photo needs it, so a clean scan is processed as it is). Line boxes and QR
boxes are in that image's pixel coordinates; lines are in reading order (rows top to bottom, left to right
within a row). ``timings`` has ``decode``, ``qr``, ``cleanup``, ``quality`` and ``ocr`` in seconds.

The quality gate (``pipeline.readers.quality``) runs on the cheap path, before OCR:
* a decoded QR code always wins: the photo is read, its quality problems become ``warnings``;
* otherwise a *severe* problem (blurred or shrunk beyond what OCR reads, nearly black) raises
  ``UnreadableImage`` with the problems in plain words, without spending seconds on OCR;
* otherwise lesser problems become ``warnings``, and if OCR then finds no invoice number candidate (no run of
  8 or more digits) and not both a date and an amount with cents (what a receipt prints instead), the photo is
  refused with ``UnreadableImage`` as well, instead of passing garbage on.

Camera shake: when no QR code was decoded and either the photo is about to be refused or OCR read the title of a
kind that always prints one (``QR_KINDS``), the straight motion blur is estimated from the photo
(``pipeline.readers.deblur``: ``DEBLUR_CANDIDATES`` cepstral candidates, each at three lengths) and undone; the
sharpened photo replaces the original only if its QR code then decodes (the proof the estimate was right). It is
cleaned up and read again, with a warning that it was sharpened; ``timings["deblur"]`` holds the time the attempt
took (~0.2 s per candidate length tried; when it succeeds, about one more second and a second OCR).

A line whose taxpayer ID fails its check characters (or was a low-confidence repair) is read again from close-ups
of the line (``pipeline.readers.reread``); ``timings["reread"]`` holds the time when that happened.

Raises ``DocumentTooLarge`` for more than ``settings.max_image_pixels`` pixels (from the header, before
decoding), ``CorruptDocument`` for undecodable bytes, ``UnreadableImage`` for an image too small to hold an
invoice or failing the quality gate as above, ``BackendUnavailable`` when the configured OCR engine cannot run.
"""

from __future__ import annotations

import re
import time
from dataclasses import replace

import cv2
import numpy as np

from pipeline.codes import kind_from_title
from pipeline.config import PipelineSettings, get_pipeline_settings
from pipeline.errors import UnreadableImage
from pipeline.ocr import get_engine
from pipeline.readers.cleanup import Cleaned, clean_photo, map_box, turn_upright_from_vertical_text
from pipeline.readers.deblur import deconvolve, motion_candidates, nearby_lengths
from pipeline.readers.imageio import decode_image
from pipeline.readers.layout import reading_order
from pipeline.readers.qr import decode_qr
from pipeline.readers.quality import Quality, assess
from pipeline.readers.reread import reread_ids, suspect_lines
from pipeline.text import normalize
from pipeline.types import (
    FieldSource,
    InvoiceKind,
    PageContent,
    QrCode,
    ReadResult,
    SourceDocument,
    TextLine,
)

MAX_SIDE = 2400  # OCR gains nothing above this (rapidocr resizes to 2000 for detection); QR decodes fine
MIN_SIDE = 48
DEBLUR_CANDIDATES = 1  # cepstral minima tried as camera shake, each at three lengths (~0.2 s per try)
QR_KINDS = frozenset({  # the kinds that always print a QR code (DOMAIN §1.1)
    InvoiceKind.VAT_SPECIAL, InvoiceKind.VAT_NORMAL, InvoiceKind.VAT_ROLL, InvoiceKind.VAT_E_NORMAL,
    InvoiceKind.VAT_E_SPECIAL, InvoiceKind.VAT_E_TOLL, InvoiceKind.DIGITAL_SPECIAL, InvoiceKind.DIGITAL_NORMAL,
    InvoiceKind.RAIL_E_TICKET, InvoiceKind.AIR_E_ITINERARY})
_NUMBER_CANDIDATE = re.compile(r"\d{8,}")  # every invoice kind we read prints an 8- or 20-digit number
_DATE = re.compile(r"\d{1,4}[-/.年]\d{1,2}[-/.月]\d{1,4}")  # receipts print no such number, but a date
_AMOUNT = re.compile(r"\d[.,]\d{2}(?!\d)")  # ... and an amount with cents


def read_image(doc: SourceDocument, settings: PipelineSettings | None = None, *, cleanup: bool = True) -> ReadResult:
    """``cleanup=False`` skips the clean-up (for measuring what it brings); the quality gate always runs."""
    settings = settings or get_pipeline_settings()
    result = ReadResult(document=doc)
    t0 = time.perf_counter()
    image = decode_image(doc.data, settings.max_image_pixels, MAX_SIDE)
    result.timings["decode"] = time.perf_counter() - t0
    h, w = image.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise UnreadableImage(f"the image is only {w}x{h} pixels, too small to read an invoice from")
    t0 = time.perf_counter()
    qr_codes = decode_qr(image, page=0)
    result.timings["qr"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    cleaned = clean_photo(image) if cleanup else Cleaned(image=image)
    result.timings["cleanup"] = time.perf_counter() - t0
    if qr_codes:
        result.qr_codes = [_moved(code, cleaned) for code in qr_codes]
    elif cleaned.steps:  # a flattened, upright copy may decode where the photo did not
        t0 = time.perf_counter()
        result.qr_codes = decode_qr(cleaned.image, page=0)
        result.timings["qr"] += time.perf_counter() - t0
    t0 = time.perf_counter()
    quality = assess(image, cleaned.document)
    result.timings["quality"] = time.perf_counter() - t0
    sharpened = False
    if quality.severe and not result.qr_codes:
        restored = _unshaken(image, result) if cleanup else None
        if restored is None:
            raise UnreadableImage(_refusal(quality))
        cleaned, sharpened = restored, True
    result.warnings.extend(quality.problems)
    result.quality_problems.extend(quality.problems)
    t0 = time.perf_counter()
    lines = ocr_lines(cleaned.image, settings, page=0)
    if cleanup and not result.qr_codes and _mostly_vertical(lines):  # the orientation guess missed: turn, read again
        turn_upright_from_vertical_text(cleaned)
        lines = ocr_lines(cleaned.image, settings, page=0)
    result.timings["ocr"] = time.perf_counter() - t0
    readable = _has_invoice_evidence(lines)
    if (cleanup and not sharpened and not result.qr_codes
            and ((quality.problems and not readable) or _expects_qr(lines))):
        restored = _unshaken(image, result)
        if restored is not None:
            cleaned = restored
            t0 = time.perf_counter()
            lines = ocr_lines(cleaned.image, settings, page=0)
            result.timings["ocr"] += time.perf_counter() - t0
            readable = _has_invoice_evidence(lines)
    if quality.problems and not result.qr_codes and not readable:
        raise UnreadableImage(_refusal(quality))
    if cleanup and suspect_lines(lines):
        t0 = time.perf_counter()
        lines, _ = reread_ids(cleaned.image, lines, get_engine(settings.ocr_backend, settings).recognize)
        result.timings["reread"] = time.perf_counter() - t0
    h, w = cleaned.image.shape[:2]
    result.pages.append(PageContent(page_no=0, width=float(w), height=float(h), lines=lines,
                                    source=FieldSource.OCR))
    if not lines:
        result.warnings.append("no text was found in the image")
    return result


def ocr_lines(image: np.ndarray, settings: PipelineSettings, page: int) -> list[TextLine]:
    """OCR ``image`` with the configured engine; lines tagged with ``page``, in reading order."""
    engine = get_engine(settings.ocr_backend, settings)
    lines = [TextLine(text=line.text, box=line.box, confidence=line.confidence, page=page)
             for line in engine.recognize(image)]
    return reading_order(lines)


def _expects_qr(lines: list[TextLine]) -> bool:
    """A title of a kind that always prints a QR code (VAT and 数电 invoices, e-tickets) was read."""
    return any(kind_from_title(line.text) in QR_KINDS for line in lines if "票" in line.text)


def _unshaken(image: np.ndarray, result: ReadResult) -> Cleaned | None:
    """The photo with its camera shake undone and cleaned up again, when a QR code decodes afterwards: the only
    proof that the blur estimated from the photo (``pipeline.readers.deblur``) was the real one. The codes go into
    ``result`` (in the new page's coordinates) with a warning; ``None`` when no candidate blur lets one decode."""
    t0 = time.perf_counter()
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    try:
        for candidate in motion_candidates(grey, DEBLUR_CANDIDATES):
            for motion in nearby_lengths(candidate):
                codes = decode_qr(deconvolve(grey, motion), page=0)
                if codes:
                    cleaned = clean_photo(deconvolve(image, motion))
                    result.qr_codes = [_moved(code, cleaned) for code in codes]
                    result.warnings.append(f"the photo is blurred by camera shake (about {motion.length:.0f} px); "
                                           "it was sharpened before reading")
                    return cleaned
        return None
    finally:
        result.timings["deblur"] = result.timings.get("deblur", 0.0) + time.perf_counter() - t0


def _moved(code: QrCode, cleaned: Cleaned) -> QrCode:
    return code if code.box is None or not cleaned.steps else replace(code, box=map_box(cleaned.matrix, code.box))


def _mostly_vertical(lines: list[TextLine]) -> bool:
    """Most text boxes of two or more characters are at least 1.5 times as tall as wide (the ratio at which the
    recogniser itself takes a crop for vertical text and turns it)."""
    boxes = [line.box for line in lines if line.box is not None and len(line.text.strip()) >= 2]
    tall = sum(1 for x0, y0, x1, y1 in boxes if y1 - y0 >= 1.5 * (x1 - x0))
    return len(boxes) >= 5 and tall >= 0.6 * len(boxes)


def _has_invoice_evidence(lines: list[TextLine]) -> bool:
    """An invoice number candidate, or (for receipts, which print none) both a date and an amount with cents."""
    texts = ["".join(normalize(line.text).split()) for line in lines]
    if any(_NUMBER_CANDIDATE.search(text) for text in texts):
        return True
    return any(_DATE.search(text) for text in texts) and any(_AMOUNT.search(text) for text in texts)


def _refusal(quality: Quality) -> str:
    return f"this photo cannot be read: {quality.message()}"


__all__ = ["MAX_SIDE", "ocr_lines", "read_image"]
