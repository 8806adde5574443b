"""QR decoding for invoice images and rendered PDF pages.

Contract: ``decode_qr(image, page=0) -> list[QrCode]`` returns every distinct QR code found (text as decoded,
``page`` as given, ``box`` axis-aligned in ``image`` pixel coordinates), or ``[]``. It never raises on image
content. ``image`` is a ``uint8`` BGR, BGRA or grey array.

Strategy, cheapest first, stopping at the first pass that finds something (measured on the real invoice images:
zxing-cpp decodes all of them in ~3 ms; OpenCV needs a 2x grey upscale and ~150 ms for the same):
1. zxing-cpp (when the ``zxingcpp`` module is installed) on the grey image, then on 2x upscales of its top-left
   and top-right quarters, where invoices print their QR code; then, for blurred phone photos, the same on an
   unsharp-masked copy (on the generated photo set this found the codes of the two photos blurred at
   sigma 1.4-1.5 that every other pass missed, for ~20 ms);
2. only without zxing-cpp: OpenCV ``QRCodeDetector`` on the grey image as is, then on a 2x grey upscale (skipped
   for images already larger than ``_MAX_UPSCALE_SIDE``), then on 2x upscales of the same quarters. OpenCV never
   found a code that zxing-cpp's passes had missed: its upscaled passes on the real images and on halved /
   photo-degraded copies of them, and its plain pass on 248 images (the 220 generated photos of four draws and the
   28 real images; 157 images where zxing found nothing, ~70–100 ms each, no code found).
An image without any QR code goes through every pass.
``upscale=False`` skips the upscaled passes: for renders of vector pages, already made at a high scale.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator

import cv2
import numpy as np

from pipeline.types import Box, QrCode

try:
    import zxingcpp
except ImportError:  # optional: OpenCV alone decodes clean images, slower
    zxingcpp = None

log = logging.getLogger(__name__)

_MAX_UPSCALE_SIDE = 1800  # a 2x upscale beyond this costs more than it finds
_Decoded = list[tuple[str, Box]]


def decode_qr(image: np.ndarray, page: int = 0, *, upscale: bool = True) -> list[QrCode]:
    grey = _to_grey(image)
    if grey is None:
        return []
    for found in _passes(grey, upscale):
        if found:
            return _unique(found, page)
    return []


def _passes(grey: np.ndarray, upscale: bool) -> Iterator[_Decoded]:
    h, w = grey.shape
    corners = ((0, w // 2), (w // 2, w)) if upscale else ()  # top-left, top-right quarter
    if zxingcpp is not None:
        yield _zxing(grey)
        for x0, x1 in corners:
            yield _shifted(_scaled(_zxing, grey[: h // 2, x0:x1], 2.0), x0, 0)
        if upscale:
            yield _zxing(_unsharp(grey))
            for x0, x1 in corners:
                yield _shifted(_scaled(_zxing, _unsharp(grey[: h // 2, x0:x1], 2.0), 2.0), x0, 0)
        return  # measured: OpenCV's passes never found a code zxing's had missed
    yield _opencv(grey)
    if upscale and max(h, w) <= _MAX_UPSCALE_SIDE:
        yield _scaled(_opencv, grey, 2.0)
    for x0, x1 in corners:
        yield _shifted(_scaled(_opencv, grey[: h // 2, x0:x1], 2.0), x0, 0)


def _zxing(grey: np.ndarray) -> _Decoded:
    found = []
    for result in zxingcpp.read_barcodes(grey, formats=zxingcpp.BarcodeFormat.QRCode):
        if result.valid and result.text:
            p = result.position
            corners = np.array([[c.x, c.y] for c in (p.top_left, p.top_right, p.bottom_right, p.bottom_left)])
            found.append((result.text, _bounds(corners)))
    return found


_local = threading.local()  # OpenCV detectors are not shared between threads


def _opencv(grey: np.ndarray) -> _Decoded:
    detector = getattr(_local, "detector", None)
    if detector is None:
        detector = _local.detector = cv2.QRCodeDetector()
    try:
        ok, texts, points, _ = detector.detectAndDecodeMulti(grey)
    except cv2.error as exc:  # OpenCV raises on some degenerate detections
        log.debug("OpenCV QR decode failed: %s", exc)
        return []
    if not ok or points is None:
        return []
    return [(text, _bounds(quad)) for text, quad in zip(texts, points, strict=False) if text]


def _scaled(decoder: Callable[[np.ndarray], _Decoded], grey: np.ndarray, factor: float) -> _Decoded:
    if grey.size == 0:
        return []
    big = cv2.resize(grey, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
    return [(text, tuple(v / factor for v in box)) for text, box in decoder(big)]


def _unsharp(grey: np.ndarray, sigma: float = 2.0) -> np.ndarray:
    """``2 * grey - blur(grey)``: steepens the module edges a blurred photo has softened."""
    if grey.size == 0:
        return grey
    return cv2.addWeighted(grey, 2.0, cv2.GaussianBlur(grey, (0, 0), sigma), -1.0, 0)


def _shifted(found: _Decoded, dx: float, dy: float) -> _Decoded:
    return [(text, (b[0] + dx, b[1] + dy, b[2] + dx, b[3] + dy)) for text, b in found]


def _bounds(points: np.ndarray) -> Box:
    pts = np.asarray(points, dtype=float).reshape(-1, 2)
    return (float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max()))


def _to_grey(image: np.ndarray) -> np.ndarray | None:
    if image is None or image.size == 0 or image.dtype != np.uint8:
        return None
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    return None


def _unique(found: _Decoded, page: int) -> list[QrCode]:
    seen: dict[str, QrCode] = {}
    for text, box in found:
        seen.setdefault(text, QrCode(text=text, page=page, box=box))
    return list(seen.values())


__all__ = ["decode_qr"]
