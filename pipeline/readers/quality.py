"""Is this photo good enough to read? Cheap measurements and plain-language problems.

Contract: ``assess(image, document=None) -> Quality``. ``image`` is a ``uint8`` BGR (or grey) photo as the reader
processes it; ``document`` optionally the paper's quadrilateral (4x2, image pixels, from
``pipeline.readers.cleanup.find_document``), so that only the paper is measured. It never raises on image content
and takes about 30–60 ms on a 2400 px photo (the analysis runs on a copy at most ``_ANALYSIS_SIDE`` px long).
``Quality`` holds the measures, ``problems`` (what is wrong, in words fit to show the user) and ``severe`` (whether
any problem is so bad that OCR cannot succeed). A measure that cannot be taken (e.g. a blank image has no edges)
is ``None`` and raises no problem.

Measures (calibrated on the real images in ../shared/data/real/cn_img*, which all pass with a wide margin, and
on blurred / shrunk / darkened copies of them and of generated photos, whose OCR outcome was recorded):

* ``text_height``: height-weighted median height in image pixels of character-like ink components. OCR
  (PP-OCRv6) found the invoice number down to ~6 px (once at 5) and mostly lost it at 5 px and below.
* ``blur``: the Gaussian blur of the text relative to its height (sigma / text height), estimated at a scale
  where text is about 8 px tall, on the edges of character components only, by comparing each edge's gradient
  with the gradient after a known extra blur (re-blur ratio, as in Zhuo & Sim 2011). Sharp scans and renders
  measure 0.00–0.05; OCR still read copies measuring up to 0.16 and lost all but two from 0.13; above 0.20
  it lost every one (the estimate saturates near 0.4). Text under 10 px is warned about from 0.06 (small and
  soft photos of the harsh generated set were unreadable from there). A bright photo with visible ink (contrast of 15 or
  more) but no character-shaped component at all counts as blurred beyond measure; without ink it is blank and
  raises nothing.
* ``brightness`` (the paper's level, 90th percentile of grey) and ``contrast`` (paper minus ink: that level
  minus the 10th percentile of the character components' pixels; without any, minus the 2nd percentile of all
  pixels): the invoice number was read at contrasts down to ~13 grey levels and lost at 10–14 (the reader's
  lighting step and PP-OCR's normalisation cope with dim photos), so only a nearly black photo is severe.
  Below ``CONTRAST_WARN`` text size and blur are not judged (noise dominates them).
* ``glare``: the share of the paper whose background (ink removed by a closing) is blown out (>= 250) while
  the paper's median background is at most 240 (a specular spot, not a white scan or render). Warned from 1% of
  the paper: spots measuring 1.96–2.11% erased the 发票号码 of three taxi receipts on generated photos (the
  narrow receipt leaves the spot a large share of its text), while photos read right measure anything from 0 to
  22%; a warning only refuses a photo whose invoice number is not read (``pipeline.runner``). Every real image
  measures 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from pipeline.readers.cleanup import background

_ANALYSIS_SIDE = 1600
_NORMAL_TEXT = 8.0  # px: text is resized to about this height before the blur is estimated
_REBLUR = 2.0  # px at that scale

# Thresholds: "severe" = OCR cannot work (refuse unless something else, e.g. a QR code, reads);
# "warn" = reading may fail (the reader still tries and refuses only when it finds nothing usable), so warning
# thresholds are generous: a warning alone never refuses a photo that OCR reads.
BLUR_WARN, BLUR_SEVERE = 0.10, 0.20
TEXT_WARN, TEXT_SEVERE = 7.0, 5.0
SMALL_SOFT_TEXT, SMALL_SOFT_BLUR = 10.0, 0.06  # small text tolerates less blur
CONTRAST_WARN, CONTRAST_SEVERE = 40.0, 6.0
BRIGHTNESS_WARN = 70.0
GLARE_WARN = 0.01
_SMEAR_CONTRAST = 15.0
_GLARE_PAPER_MAX = 240.0

BLURRED = "the photo is blurred, please retake it holding the phone steady"
TOO_SMALL = "the invoice is too small in the photo, move closer"
TOO_DARK = "the photo is too dark, please retake it in better light"
LOW_CONTRAST = "the print is too faint in the photo, please retake it in better light"
GLARE = "there is glare on the invoice, please retake it without the flash or direct light"


@dataclass
class Quality:
    text_height: float | None = None  # px in the image as given
    blur: float | None = None  # blur sigma / text height
    brightness: float | None = None  # 0..255
    contrast: float | None = None  # grey levels
    glare: float | None = None  # share of the paper
    problems: list[str] = field(default_factory=list)
    severe: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def message(self) -> str:
        return "; ".join(self.problems)


def assess(image: np.ndarray, document: np.ndarray | None = None) -> Quality:
    q = Quality()
    grey = _grey(image)
    if grey is None or min(grey.shape) < 16:
        return q
    grey, mask, scale = _paper(grey, document)
    pixels = grey[mask > 0] if mask is not None else grey.ravel()
    if pixels.size < 256:
        return q
    q.brightness = float(np.percentile(pixels, 90))
    q.glare = _glare(grey, mask)
    found, ink_height = _char_heights(grey)
    if found is None:
        q.contrast = q.brightness - float(np.percentile(pixels, 2))
        if q.contrast >= _SMEAR_CONTRAST:  # visible ink, yet nothing shaped like a character:
            if ink_height is not None and ink_height / scale < TEXT_WARN:
                q.text_height = ink_height / scale  # ... specks of text too small to tell apart
            else:
                q.blur = float("inf")  # ... or smeared
    else:
        height, chars = found
        q.text_height = height / scale
        q.contrast = q.brightness - float(np.percentile(grey[chars > 0], 10))
        if q.contrast >= CONTRAST_WARN:  # not judged below (see _judge): spare the time
            q.blur = _relative_blur(grey, height, chars)
    _judge(q)
    return q


def _judge(q: Quality) -> None:
    def problem(text: str, severe: bool) -> None:
        if text not in q.problems:
            q.problems.append(text)
        q.severe = q.severe or severe

    dark = q.brightness is not None and q.brightness < BRIGHTNESS_WARN
    if q.contrast is not None and q.contrast < CONTRAST_WARN and (dark or q.text_height is not None):
        problem(TOO_DARK if dark else LOW_CONTRAST, q.contrast < CONTRAST_SEVERE)
        return  # in a dim, noisy photo text size and sharpness cannot be measured reliably
    if dark:
        problem(TOO_DARK, False)
    if q.text_height is not None and q.text_height < TEXT_WARN:
        problem(TOO_SMALL, q.text_height < TEXT_SEVERE)
    elif (q.text_height is not None and q.text_height < SMALL_SOFT_TEXT and q.blur is not None
          and q.blur >= SMALL_SOFT_BLUR):
        problem(TOO_SMALL, False)
    if q.blur is not None and q.blur >= BLUR_WARN:
        problem(BLURRED, q.blur >= BLUR_SEVERE)
    if q.glare is not None and q.glare >= GLARE_WARN:
        problem(GLARE, False)


def _grey(image: np.ndarray) -> np.ndarray | None:
    if image is None or image.dtype != np.uint8 or image.size == 0:
        return None
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] in (3, 4):
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY if image.shape[2] == 3 else cv2.COLOR_BGRA2GRAY)
    return None


def _paper(grey: np.ndarray, document: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None, float]:
    """The analysis copy (at most ``_ANALYSIS_SIDE`` long, cropped to the paper's bounds), the paper mask on it
    (``None``: all of it) and its scale relative to the input."""
    mask = None
    if document is not None:
        quad = np.asarray(document, np.float32).reshape(4, 2)
        x0, y0 = np.floor(quad.min(0)).astype(int)
        x1, y1 = np.ceil(quad.max(0)).astype(int)
        x0, y0 = max(0, x0), max(0, y0)
        x1, y1 = min(grey.shape[1], x1), min(grey.shape[0], y1)
        if x1 - x0 >= 16 and y1 - y0 >= 16:
            grey = grey[y0:y1, x0:x1]
            mask = np.zeros_like(grey)
            cv2.fillPoly(mask, [np.rint(quad - [x0, y0]).astype(np.int32)], 255)
    h, w = grey.shape
    scale = min(1.0, _ANALYSIS_SIDE / max(h, w))
    if scale < 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
        if mask is not None:
            mask = cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST)
    return grey, mask, scale


def _glare(grey: np.ndarray, mask: np.ndarray | None) -> float:
    """Share of the paper whose background (the paper without ink) is blown out, when the paper as a whole is
    not: a white render or an evenly overexposed scan is blown out all over, and that is not glare."""
    paper = background(grey)
    values = paper[mask > 0] if mask is not None else paper.ravel()
    if values.size == 0 or np.median(values) > _GLARE_PAPER_MAX:
        return 0.0
    return float((values >= 250).mean())


def _char_heights(grey: np.ndarray) -> tuple[tuple[float, np.ndarray] | None, float | None]:
    """(height-weighted median height of ink components shaped like characters or their parts, their mask) --
    ``None`` with too few -- and the median height of all small ink components (``None`` without any)."""
    block = max(15, (min(grey.shape) // 40) | 1)
    ink = cv2.adaptiveThreshold(grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 10)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    hs, ws, area = (stats[:, k].astype(np.float32) for k in (cv2.CC_STAT_HEIGHT, cv2.CC_STAT_WIDTH,
                                                            cv2.CC_STAT_AREA))
    small = (hs <= grey.shape[0] / 6) & (area >= 2)
    small[0] = False  # the background
    ink_height = float(np.median(hs[small])) if small.sum() >= 15 else None
    fill = area / np.maximum(hs * ws, 1)
    chars = small & (hs >= 2) & (ws >= 0.3 * hs) & (ws <= 2 * hs) & (fill >= 0.12) & (fill <= 0.8)
    if chars.sum() < 15:
        return None, ink_height
    # weighted by height: a security-print pattern or dust makes many tiny components but little height
    h = np.sort(hs[chars])
    cum = np.cumsum(h)
    mask = chars[labels].astype(np.uint8) * 255
    return (float(h[np.searchsorted(cum, cum[-1] / 2)]), mask), ink_height


def _gradient(g: np.ndarray) -> np.ndarray:
    return cv2.magnitude(cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)) / 8


def _relative_blur(grey: np.ndarray, char_height: float, chars: np.ndarray) -> float | None:
    """Blur sigma / text height, measured on the edges of the character components only (table rules, the QR
    code and big titles stay sharp longer than body text). At a scale where text is about ``_NORMAL_TEXT`` px
    tall, an edge blurred by sigma keeps ``sqrt(sigma^2 + r^2) / sigma`` of its gradient when blurred again by
    ``r``; the median over the edge points is the estimate (edges the extra blur hardly changes count as
    infinitely blurred)."""
    f = float(np.clip(_NORMAL_TEXT / char_height, 0.25, min(2.0, _ANALYSIS_SIDE / max(grey.shape))))
    interp = cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR
    g = cv2.resize(grey, None, fx=f, fy=f, interpolation=interp)
    near_text = cv2.dilate(cv2.resize(chars, (g.shape[1], g.shape[0]), interpolation=cv2.INTER_NEAREST),
                           np.ones((5, 5), np.uint8)) > 0
    g = cv2.GaussianBlur(g.astype(np.float32), (0, 0), 0.5)
    g1 = _gradient(g)
    g2 = _gradient(cv2.GaussianBlur(g, (0, 0), _REBLUR))
    k = np.ones((15, 15), np.uint8)
    gu = np.clip(g, 0, 255).astype(np.uint8)
    local_range = cv2.dilate(gu, k).astype(np.float32) - cv2.erode(gu, k).astype(np.float32)
    floor = max(8.0, 0.2 * float(np.percentile(local_range[near_text], 99))) if near_text.any() else 8.0
    edges = near_text & (g1 >= cv2.dilate(g1, np.ones((3, 3), np.uint8))) & (local_range > floor) & (
        g1 > 0.1 * local_range)
    if edges.sum() < 30:  # at least 15 character components but hardly an edge: blurred beyond measure
        return float("inf")
    ratio = np.maximum(g1[edges] / np.maximum(g2[edges], 1e-3), 1.0 + 1e-6)
    sigma = _REBLUR / np.sqrt(ratio ** 2 - 1)  # an edge the extra blur hardly changes: sigma near infinity
    sigma = np.sqrt(np.maximum(sigma ** 2 - 0.25, 0))  # minus the 0.5 px pre-smoothing
    return float(np.median(sigma)) / (char_height * f)


__all__ = ["BLURRED", "GLARE", "LOW_CONTRAST", "TOO_DARK", "TOO_SMALL", "Quality", "assess"]
