"""Clean up a phone photo of an invoice before OCR: find the paper, flatten it, turn it upright, even the light.

Contract: ``clean_photo(image, steps=STEPS) -> Cleaned``. ``image`` is a ``uint8`` BGR array. ``Cleaned.image``
is the cleaned BGR image, ``Cleaned.matrix`` the 3x3 homography from input pixels to output pixels (``map_box``
applies it to a box), ``Cleaned.steps`` names the steps that changed something (``document``,
``rotate:90|180|270``, ``deskew:<deg>``, ``lighting``), ``Cleaned.document`` is the paper's quadrilateral in input
pixels when one was found, and ``Cleaned.timings`` has seconds per step. Each step runs only when its measurement
says the photo needs it, so a flat, upright, evenly lit scan or render comes back unchanged (the same array,
identity matrix). It never raises on image content. The analyses run on small copies (measured: median 80 ms of
CPU, at most ~250 ms, for a 2000 px photo; most of it in warping and dividing the full-size image):

1. ``document``: the largest bright quadrilateral against a darker or textured background (Otsu on a 640 px grey
   copy, the same after dividing out a smooth light gradient, or the hull of Canny edges), accepted when it
   covers 12–92 % of the frame, fills its own hull, lies on edges all round and is brighter than what is just
   outside it on at least three sides (so a table frame printed on a scan is not taken for the paper); the paper
   is warped to a rectangle with the sides' lengths (perspective and tilt corrected at once).
2. ``rotate``: quarter turns. A decodable QR code decides (invoices print it upright; zxing-cpp reports its
   rotation). Without one, text lines decide: horizontal vs vertical by which way merging ink makes more long
   thin line blobs (each way merging gaps up to 0.8 of its median glyph height, so a tall receipt's tight rows
   are not merged into "lines" once turned), then 0° vs 180° by the PP-OCR text-direction classifier shipped in the rapidocr wheel, run on
   up to 24 line crops (a flip needs a clear majority: some lines, like legacy cipher rows, read both ways, and a
   wrong flip would ruin the page).
3. ``deskew``: the width-weighted median angle of text-line blobs (``minAreaRect``), applied when 0.4°–20°.
4. ``lighting``: when the paper's background (a closing on a small copy) varies by more than 25 % or is dim,
   each channel is divided by its own background, so paper comes out near white.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from pipeline.types import Box

try:
    import zxingcpp
except ImportError:  # optional: without it orientation falls back to the text-line classifier
    zxingcpp = None

log = logging.getLogger(__name__)

_ANALYSIS_SIDE = 640  # document search works on this long side
_TEXT_SIDE = 1000  # orientation / skew analysis works on this long side
_MIN_DOC_AREA, _MAX_DOC_AREA = 0.12, 0.92
_MIN_EDGE_SUPPORT = 0.6
_MIN_PAPER_STEP = 10  # grey levels between paper and desk along a side
_MIN_SKEW_DEG = 0.4
_MAX_SKEW_DEG = 20.0
_UNEVEN_LIGHT = 1.25
_FLIP_CROPS = 24
_FLIP_MIN_VOTES = 5
_FLIP_MIN_MEAN = 0.55
_FLIP_MIN_SHARE = 0.6


@dataclass
class Cleaned:
    image: np.ndarray
    matrix: np.ndarray = field(default_factory=lambda: np.eye(3))
    steps: list[str] = field(default_factory=list)
    document: np.ndarray | None = None  # 4x2 float32, input pixels, clockwise from top-left
    timings: dict[str, float] = field(default_factory=dict)


STEPS = ("document", "rotate", "deskew", "lighting")


def clean_photo(image: np.ndarray, steps: tuple[str, ...] = STEPS) -> Cleaned:
    """Run the clean-up ``steps`` (all by default; a subset is for measuring what each one brings)."""
    out = Cleaned(image=image)
    if image is None or image.ndim != 3 or min(image.shape[:2]) < 64:
        return out
    t0 = time.perf_counter()
    quad = find_document(image) if "document" in steps else None
    if quad is not None:
        warped, m = warp_document(image, quad)
        out.image, out.matrix, out.document = warped, m @ out.matrix, quad
        out.steps.append("document")
    t1 = time.perf_counter()
    out.timings["document"] = t1 - t0
    turns = _orientation(out.image) if "rotate" in steps else 0
    if turns:
        _rotate_quarter(out, turns)
    t2 = time.perf_counter()
    out.timings["rotate"] = t2 - t1
    angle = estimate_skew(out.image) if "deskew" in steps else None
    if angle is not None and _MIN_SKEW_DEG <= abs(angle) <= _MAX_SKEW_DEG:
        _rotate_small(out, angle)
        out.steps.append(f"deskew:{angle:.1f}")
    t3 = time.perf_counter()
    out.timings["deskew"] = t3 - t2
    flattened = even_lighting(out.image) if "lighting" in steps else None
    if flattened is not None:
        out.image = flattened
        out.steps.append("lighting")
    out.timings["lighting"] = time.perf_counter() - t3
    return out


def map_box(matrix: np.ndarray, box: Box) -> Box:
    """The axis-aligned bounds of ``box`` after the homography ``matrix``."""
    x0, y0, x1, y1 = box
    pts = np.array([[[x0, y0], [x1, y0], [x1, y1], [x0, y1]]], np.float64)
    mapped = cv2.perspectiveTransform(pts, np.asarray(matrix, np.float64))[0]
    return (float(mapped[:, 0].min()), float(mapped[:, 1].min()), float(mapped[:, 0].max()),
            float(mapped[:, 1].max()))


# ------------------------------------------------------------------ 1. the paper

def _small_grey(image: np.ndarray, side: int) -> tuple[np.ndarray, float]:
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    h, w = grey.shape
    scale = min(1.0, side / max(h, w))
    if scale < 1.0:
        grey = cv2.resize(grey, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return grey, scale


def find_document(image: np.ndarray) -> np.ndarray | None:
    """The paper's corners (4x2, input pixels, clockwise from top-left), or ``None`` when no distinct paper is
    found (a scan, a render, or a photo filled by the paper)."""
    grey, scale = _small_grey(image, _ANALYSIS_SIDE)
    blurred = cv2.GaussianBlur(grey, (5, 5), 0)
    edges = cv2.dilate(cv2.Canny(blurred, 20, 60), np.ones((5, 5), np.uint8))
    best: tuple[float, np.ndarray] | None = None
    for mask in (_bright_mask(blurred), _bright_mask(_flatten_grey(blurred)), _edge_mask(edges)):
        quad = _quad_from_mask(mask)
        if quad is None:
            continue
        support = _edge_support(quad, edges)
        if support < _MIN_EDGE_SUPPORT or not _brighter_inside(quad, blurred):
            continue
        if best is None or support > best[0]:
            best = (support, quad)
    return None if best is None else (best[1] / scale).astype(np.float32)


def _brighter_inside(quad: np.ndarray, grey: np.ndarray) -> bool:
    """Whether, along at least three sides, the band just inside the outline is brighter than the band just
    outside: paper on a desk. A table frame printed on the paper has paper on both sides and fails."""
    h, w = grey.shape
    centre = quad.mean(0)
    t = np.linspace(0.1, 0.9, 30)[:, None]
    brighter = 0
    for a, b in zip(quad, np.roll(quad, -1, axis=0), strict=True):
        side = a + t * (b - a)
        normal = side - centre
        normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-6)
        offset = 0.02 * max(h, w)
        levels = []
        for pts in (side - normal * offset, side + normal * offset):  # inside, outside
            pts = np.rint(pts).astype(int)
            ok = (pts[:, 0] >= 0) & (pts[:, 0] < w) & (pts[:, 1] >= 0) & (pts[:, 1] < h)
            levels.append(float(np.median(grey[pts[ok, 1], pts[ok, 0]])) if ok.sum() >= 5 else None)
        inside, outside = levels
        if inside is not None and outside is not None and inside - outside >= _MIN_PAPER_STEP:
            brighter += 1
    return brighter >= 3


def _flatten_grey(grey: np.ndarray) -> np.ndarray:
    """``grey`` divided by a very smooth copy of itself: a light gradient or vignette no longer decides which
    side of the threshold a pixel falls."""
    h, w = grey.shape
    tiny = cv2.resize(grey, (max(1, w // 16), max(1, h // 16)), interpolation=cv2.INTER_AREA).astype(np.float32)
    smooth = cv2.resize(cv2.GaussianBlur(tiny, (0, 0), min(tiny.shape) / 5), (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(grey.astype(np.float32) / np.maximum(smooth, 1.0) * 128, 0, 255).astype(np.uint8)


def _bright_mask(grey: np.ndarray) -> np.ndarray:
    _, mask = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    k = max(3, min(grey.shape) // 40) | 1
    return cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))


def _edge_mask(edges: np.ndarray) -> np.ndarray:
    contours, _ = cv2.findContours(edges, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    mask = np.zeros_like(edges)
    if contours:
        biggest = max(contours, key=cv2.contourArea)
        cv2.drawContours(mask, [cv2.convexHull(biggest)], -1, 255, -1)
    return mask


def _edge_support(quad: np.ndarray, edges: np.ndarray) -> float:
    """The smallest, over the four sides, fraction of points on the side that lie on an edge: a sheet's outline
    is an edge all round; a region cut by a shadow or the frame border is not."""
    h, w = edges.shape
    t = np.linspace(0.05, 0.95, 40)[:, None]
    worst = 1.0
    for a, b in zip(quad, np.roll(quad, -1, axis=0), strict=True):
        pts = np.rint(a + t * (b - a)).astype(int)
        inside = (pts[:, 0] >= 0) & (pts[:, 0] < w) & (pts[:, 1] >= 0) & (pts[:, 1] < h)
        if inside.mean() < 0.9:
            return 0.0
        pts = pts[inside]
        worst = min(worst, float((edges[pts[:, 1], pts[:, 0]] > 0).mean()))
    return worst


def _quad_from_mask(mask: np.ndarray) -> np.ndarray | None:
    h, w = mask.shape
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    contour = max(contours, key=cv2.contourArea)
    hull = cv2.convexHull(contour)
    hull_area = cv2.contourArea(hull)
    if not _MIN_DOC_AREA * h * w <= hull_area <= _MAX_DOC_AREA * h * w:
        return None
    if cv2.contourArea(contour) < 0.85 * hull_area:  # a ragged blob, not a sheet of paper
        return None
    quad = _four_corners(hull.reshape(-1, 2).astype(np.float32))
    if quad is None or cv2.contourArea(quad) < 0.9 * hull_area:
        return None
    return quad


def _four_corners(points: np.ndarray) -> np.ndarray | None:
    """Corners of a convex polygon that is roughly a quadrilateral: approxPolyDP when it gives four points,
    else the hull points extreme along the four diagonals."""
    perimeter = cv2.arcLength(points.reshape(-1, 1, 2), True)
    for eps in (0.01, 0.02, 0.03, 0.05):
        approx = cv2.approxPolyDP(points.reshape(-1, 1, 2), eps * perimeter, True).reshape(-1, 2)
        if len(approx) == 4:
            return _order_corners(approx.astype(np.float32))
    s, d = points.sum(1), points[:, 0] - points[:, 1]
    quad = np.array([points[np.argmin(s)], points[np.argmax(d)], points[np.argmax(s)], points[np.argmin(d)]])
    return _order_corners(quad.astype(np.float32)) if len({tuple(p) for p in quad}) == 4 else None


def _order_corners(quad: np.ndarray) -> np.ndarray:
    """Clockwise from the corner nearest the image's top-left."""
    centre = quad.mean(0)
    angles = np.arctan2(quad[:, 1] - centre[1], quad[:, 0] - centre[0])
    quad = quad[np.argsort(angles)]  # clockwise in image coordinates (y down)
    start = int(np.argmin(quad.sum(1)))
    return np.roll(quad, -start, axis=0)


def warp_document(image: np.ndarray, quad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    tl, tr, br, bl = quad
    width = max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl))
    height = max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr))
    w, h = max(1, round(width)), max(1, round(height))
    target = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float32)
    m = cv2.getPerspectiveTransform(quad.astype(np.float32), target)
    return cv2.warpPerspective(image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE), m


# ------------------------------------------------------------------ 2. quarter turns

def _ink_mask(grey: np.ndarray) -> np.ndarray:
    block = max(15, (min(grey.shape) // 30) | 1)
    return cv2.adaptiveThreshold(grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 15)


def _orientation(image: np.ndarray) -> int:
    """Clockwise quarter turns that make the page upright (0..3)."""
    turns = qr_orientation(image)
    if turns is not None:
        return turns
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    small, _ = _small_grey(grey, _TEXT_SIDE)
    turns = 0 if text_is_horizontal(small) else 1
    if turns:
        grey = cv2.rotate(grey, cv2.ROTATE_90_CLOCKWISE)
    if text_is_upside_down(grey):
        turns += 2
    return turns % 4


def qr_orientation(image: np.ndarray) -> int | None:
    """Clockwise quarter turns that make the first decodable QR code upright, ``None`` without one."""
    if zxingcpp is None:
        return None
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    try:
        found = zxingcpp.read_barcodes(grey, formats=zxingcpp.BarcodeFormat.QRCode)
    except (RuntimeError, ValueError) as exc:
        log.debug("zxing failed: %s", exc)
        return None
    for result in found:
        if result.valid:
            return (-round(result.orientation / 90)) % 4
    return None


def text_is_horizontal(grey: np.ndarray) -> bool:
    """Whether text lines run left-right: merging ink sideways makes more long, thin line blobs than merging it
    after a quarter turn (stray texture and table rules do not make such blobs). Both ways use the same size
    limits, and each merges gaps up to ``_MERGE_PER_GLYPH`` of its own median glyph height: that joins the
    letters of a line but not the rows of a tall receipt whose line spacing is tighter than its word spacing."""
    side = min(grey.shape[:2])
    scores = []
    for view in (grey, cv2.rotate(grey, cv2.ROTATE_90_CLOCKWISE)):
        scores.append(sum(bw for _, (bw, _), _ in _line_blobs(view, side, _glyph_merge(view, side))))
    return scores[0] >= scores[1]


_MERGE_PER_GLYPH = 0.8


def _glyph_merge(grey: np.ndarray, side: int) -> int | None:
    """``_MERGE_PER_GLYPH`` times the median height of the ink's glyph-sized components, ``None`` without any."""
    _, _, stats, _ = cv2.connectedComponentsWithStats(_ink_mask(grey))
    heights = stats[1:, cv2.CC_STAT_HEIGHT]
    heights = heights[(stats[1:, cv2.CC_STAT_AREA] >= 12) & (heights < side / 15)]
    return max(3, int(_MERGE_PER_GLYPH * np.median(heights))) if len(heights) else None


def _line_blobs(grey: np.ndarray, side: int | None = None,
                merge: int | None = None) -> list[tuple[tuple[float, float], tuple[float, float], float]]:
    """minAreaRects of text-line-like blobs: ink merged horizontally, long and thin, not table rules. ``side``
    (default: width across, height down) scales the rule and blob size limits; ``merge`` is the widest gap
    merged (default: ``side`` / 60, at least 9 pixels)."""
    ink = _ink_mask(grey)
    h, w = ink.shape
    across, down = side or w, side or h
    merge = merge or max(9, across // 60)
    # remove long rules: they are not text and dominate angles
    rules = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (max(20, across // 12), 1)))
    rules |= cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(20, down // 12))))
    text = cv2.subtract(ink, cv2.dilate(rules, np.ones((3, 3), np.uint8)))
    merged = cv2.morphologyEx(text, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (merge, 3)))
    contours, _ = cv2.findContours(merged, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    blobs = []
    for c in contours:
        (cx, cy), (bw, bh), angle = cv2.minAreaRect(c)
        if bw < bh:  # make the angle that of the long side
            bw, bh, angle = bh, bw, angle - 90
        angle = (angle + 90) % 180 - 90  # in [-90, 90)
        if 5 <= bh <= down / 15 and 4 * bh <= bw <= 0.9 * w and abs(angle) <= 45:
            blobs.append(((cx, cy), (bw, bh), angle))
    return blobs


_cls_lock = threading.Lock()
_cls_session: list = []  # [session] once loaded, [None] when unavailable


def _classifier():
    with _cls_lock:
        if not _cls_session:
            _cls_session.append(_load_classifier())
        return _cls_session[0]


def _load_classifier():
    try:
        import onnxruntime as ort

        from pipeline.ocr.rapid import MODEL_FILES, models_dir
        path = models_dir() / MODEL_FILES["Cls"]
        if not path.is_file():
            return None
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - any failure just disables the 180° check
        log.info("text direction classifier unavailable: %s", exc)
        return None


def text_is_upside_down(grey: np.ndarray) -> bool:
    """Whether the text lines of the (grey, horizontal-text) page read upside down: the PP-OCR direction
    classifier, run on up to ``_FLIP_CROPS`` line crops (found on a small copy, cut from ``grey``), must call a
    clear majority of them flipped. Some lines (legacy cipher rows, digits) look alike both ways, hence a vote."""
    session = _classifier()
    if session is None:
        return False
    small, scale = _small_grey(grey, _TEXT_SIDE)
    blobs = sorted(_line_blobs(small), key=lambda b: -b[1][0])[:_FLIP_CROPS]
    crops = []
    for (cx, cy), (bw, bh), _ in blobs:
        cx, cy, bw, bh = cx / scale, cy / scale, bw / scale, bh / scale
        pad = bh * 0.25
        x0, x1 = int(max(0, cx - bw / 2 - pad)), int(min(grey.shape[1], cx + bw / 2 + pad))
        y0, y1 = int(max(0, cy - bh / 2 - pad)), int(min(grey.shape[0], cy + bh / 2 + pad))
        if x1 - x0 > 8 and y1 - y0 > 4:
            crops.append(_cls_input(grey[y0:y1, x0:x1]))
    if len(crops) < _FLIP_MIN_VOTES:
        return False
    flipped = session.run(None, {session.get_inputs()[0].name: np.stack(crops)})[0][:, 1]
    return bool(flipped.mean() > _FLIP_MIN_MEAN and (flipped > 0.5).mean() >= _FLIP_MIN_SHARE)


def _cls_input(crop: np.ndarray) -> np.ndarray:
    """A grey crop as the cls model wants it: 3x48x192, height 48, width by aspect (at most 192), in [-1, 1]."""
    h, w = crop.shape
    width = min(192, max(1, int(np.ceil(48 * w / h))))
    resized = cv2.resize(crop, (width, 48)).astype(np.float32) / 127.5 - 1.0
    out = np.zeros((3, 48, 192), np.float32)
    out[:, :, :width] = resized[None, :, :]
    return out


def turn_upright_from_vertical_text(out: Cleaned) -> None:
    """A page whose OCR found its text running vertically (the orientation guess missed): a quarter turn
    clockwise, and a half turn more if the text then reads upside down."""
    _rotate_quarter(out, 1)
    if text_is_upside_down(cv2.cvtColor(out.image, cv2.COLOR_BGR2GRAY)):
        _rotate_quarter(out, 2)


def _rotate_quarter(out: Cleaned, turns: int) -> None:
    h, w = out.image.shape[:2]
    op = {1: cv2.ROTATE_90_CLOCKWISE, 2: cv2.ROTATE_180, 3: cv2.ROTATE_90_COUNTERCLOCKWISE}[turns]
    out.image = cv2.rotate(out.image, op)
    m = {1: [[0, -1, h - 1], [1, 0, 0], [0, 0, 1]], 2: [[-1, 0, w - 1], [0, -1, h - 1], [0, 0, 1]],
         3: [[0, 1, 0], [-1, 0, w - 1], [0, 0, 1]]}[turns]
    out.matrix = np.array(m, np.float64) @ out.matrix
    out.steps.append(f"rotate:{90 * turns}")


# ------------------------------------------------------------------ 3. small skew

def estimate_skew(image: np.ndarray) -> float | None:
    """Degrees the text lines are turned (positive: clockwise, as image y points down); ``None`` when there are
    too few line blobs to say."""
    grey, _ = _small_grey(image, _TEXT_SIDE)
    blobs = _line_blobs(grey)
    if len(blobs) < 5:
        return None
    angles = np.array([a for _, _, a in blobs])
    weights = np.array([bw for _, (bw, _), _ in blobs])
    order = np.argsort(angles)
    cum = np.cumsum(weights[order])
    return float(angles[order][np.searchsorted(cum, cum[-1] / 2)])  # width-weighted median


def _rotate_small(out: Cleaned, angle: float) -> None:
    h, w = out.image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = round(float(h * sin + w * cos)), round(float(h * cos + w * sin))
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    out.image = cv2.warpAffine(out.image, m, (nw, nh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    out.matrix = np.vstack([m, [0, 0, 1]]) @ out.matrix


# ------------------------------------------------------------------ 4. light

def background(image: np.ndarray, factor: int = 8) -> np.ndarray:
    """The paper's brightness without the ink: a closing on a 1/``factor`` copy, smoothed, at full size
    (``uint8``, same channels as ``image``)."""
    h, w = image.shape[:2]
    small = cv2.resize(image, (max(1, w // factor), max(1, h // factor)), interpolation=cv2.INTER_AREA)
    k = max(3, (min(small.shape[:2]) // 12) | 1)
    closed = cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    closed = cv2.GaussianBlur(closed, (0, 0), k / 2)
    return cv2.resize(closed, (w, h), interpolation=cv2.INTER_LINEAR)


def even_lighting(image: np.ndarray) -> np.ndarray | None:
    """The image with each channel divided by its background, or ``None`` when the light is already even."""
    small, _ = _small_grey(image, 400)
    lo, hi = np.percentile(background(small, 1), (5, 95))
    if hi < _UNEVEN_LIGHT * max(lo, 1.0) and lo > 150:
        return None
    bg = np.maximum(background(image), 8)
    return cv2.divide(image, bg, scale=245.0)


__all__ = ["STEPS", "Cleaned", "background", "clean_photo", "estimate_skew", "even_lighting", "find_document",
           "map_box", "qr_orientation", "text_is_horizontal", "text_is_upside_down", "turn_upright_from_vertical_text",
           "warp_document"]
