"""Reader for photos and scans (JPEG/PNG/WebP/BMP/TIFF): decode, QR decode, OCR.

Contract: ``read_image(doc, settings) -> ReadResult`` with exactly one ``PageContent`` (``page_no`` 0,
``source`` OCR) whose ``width``/``height`` are those of the image as processed: upright (JPEG EXIF orientation
applied) and scaled down to at most ``MAX_SIDE`` pixels on its longer side. Line boxes and QR boxes are in that
image's pixel coordinates; lines are in reading order (rows top to bottom, left to right within a row).
``timings`` has ``decode``, ``qr`` and ``ocr`` in seconds. Raises ``DocumentTooLarge`` for more than
``settings.max_image_pixels`` pixels (from the header, before decoding), ``CorruptDocument`` for undecodable
bytes, ``UnreadableImage`` for an image too small to hold an invoice, ``BackendUnavailable`` when the
configured OCR engine cannot run.
"""

from __future__ import annotations

import time

import numpy as np

from pipeline.config import PipelineSettings, get_pipeline_settings
from pipeline.errors import UnreadableImage
from pipeline.ocr import get_engine
from pipeline.readers.imageio import decode_image
from pipeline.readers.layout import reading_order
from pipeline.readers.qr import decode_qr
from pipeline.types import FieldSource, PageContent, ReadResult, SourceDocument, TextLine

MAX_SIDE = 2400  # OCR gains nothing above this (rapidocr resizes to 2000 for detection); QR decodes fine
MIN_SIDE = 48


def read_image(doc: SourceDocument, settings: PipelineSettings | None = None) -> ReadResult:
    settings = settings or get_pipeline_settings()
    result = ReadResult(document=doc)
    t0 = time.perf_counter()
    image = decode_image(doc.data, settings.max_image_pixels, MAX_SIDE)
    result.timings["decode"] = time.perf_counter() - t0
    h, w = image.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise UnreadableImage(f"the image is only {w}x{h} pixels, too small to read an invoice from")
    t0 = time.perf_counter()
    result.qr_codes = decode_qr(image, page=0)
    result.timings["qr"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    lines = ocr_lines(image, settings, page=0)
    result.timings["ocr"] = time.perf_counter() - t0
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


__all__ = ["MAX_SIDE", "ocr_lines", "read_image"]
