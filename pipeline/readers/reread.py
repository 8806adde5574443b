"""A second, closer look at the taxpayer IDs that OCR read wrong: re-read each from a few variants of its line.

A 统一社会信用代码 carries two check characters, so a page read that fails them is known to be wrong. The line is
often read right when it is looked at again on its own: cut out with a margin (the detector then finds its exact
outline at full resolution instead of on the downscaled page), enlarged, or with the camera shake undone
(``pipeline.readers.deblur``, the photo's deepest cepstral candidate at three lengths). Each variant is read on
its own: recognised side by side, or laid out together for one detector pass, they read differently (and, on the
generated photos, worse).

Contract: ``reread_ids(image, lines, recognize) -> (lines, changed)``. ``image`` is the page the ``lines`` were
read from (BGR or grey uint8); ``recognize`` is an OCR engine's ``recognize``. A line holding an ID-like token that
fails the checks (``pipeline.ocr.repair.failing_ids``), or any ID token on a line read with confidence under
``SUSPECT_CONFIDENCE`` (what ``pipeline.ocr.repair`` leaves on a guessed repair), gets that token replaced by the
valid USCC that ``MIN_AGREEING`` variants read identically before any other (the value may be the one already
read) and its confidence set to ``REREAD_CONFIDENCE`` (a re-read key field goes to finance review); without such
agreement, or once two views agree on an ID that fails the checks (some real invoices print one), it is left as
read. Other lines are returned as they were;
``changed`` counts the replaced tokens. At most ``MAX_LINES`` lines are looked at, through at most five OCR calls
each (they stop once two views agree), only on pages with a suspect ID. Each call costs about what the detector
costs on a page on OpenVINO (its input is a fixed square): ~0.1–0.3 s.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace

import cv2
import numpy as np

from pipeline.ocr.repair import ID_TOKEN, failing_ids, id_tokens
from pipeline.readers.deblur import Motion, deconvolve, motion_candidates, nearby_lengths
from pipeline.taxid import is_valid_uscc
from pipeline.types import TextLine

MIN_AGREEING = 2
REREAD_CONFIDENCE = 0.6
SUSPECT_CONFIDENCE = 0.5  # an ID read below this is doubted even when it passes its checks (a repair's guess)
MAX_LINES = 3  # a VAT invoice prints two IDs (buyer, seller); a page of garbled IDs cannot stall a worker
KEPT_ROWS = 0.35  # line heights kept above and below the line's box in a view
DEBLUR_MARGIN = 64  # px of page around a line that is deconvolved with it (keeps the edge ringing off the line)


def reread_ids(image: np.ndarray, lines: list[TextLine],
               recognize: Callable[[np.ndarray], list[TextLine]]) -> tuple[list[TextLine], int]:
    suspects = suspect_lines(lines)[:MAX_LINES]
    if not suspects:
        return lines, 0
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    shake = motion_candidates(grey, 1)
    out, changed = list(lines), 0
    for i, token in suspects:
        line = lines[i]
        value = _agreed(recognize(view) for view in _views(image, line.box, shake))
        if value is None:
            continue
        out[i] = replace(line, text=line.text[:token.start()] + value + line.text[token.end():],
                         confidence=REREAD_CONFIDENCE)
        changed += 1
    return out, changed


def _agreed(readings: Iterator[list[TextLine]]) -> str | None:
    """The valid USCC read in ``MIN_AGREEING`` views before any other is; ``None`` once an invalid one has been
    read that often (the line prints what fails the checks: some real invoices do) or the views run out. Views are
    read (lazily) until one of these happens."""
    votes: Counter[str] = Counter()
    invalid: Counter[str] = Counter()
    for lines in readings:
        tokens = {m.group().upper() for line in lines for m in ID_TOKEN.finditer(line.text)}
        votes.update(t for t in tokens if is_valid_uscc(t))
        invalid.update(t for t in tokens if not is_valid_uscc(t))
        ranked = votes.most_common(2)
        if ranked and ranked[0][1] >= MIN_AGREEING and (len(ranked) == 1 or ranked[1][1] < ranked[0][1]):
            return ranked[0][0]
        if invalid and invalid.most_common(1)[0][1] >= MIN_AGREEING:
            return None
    return None


def suspect_lines(lines: list[TextLine]) -> list[tuple[int, re.Match[str]]]:
    """(index, ``suspect_id``) of every line with a box and a suspect ID, in order."""
    return [(i, token) for i, line in enumerate(lines)
            if line.box is not None and (token := suspect_id(line)) is not None]


def suspect_id(line: TextLine) -> re.Match[str] | None:
    """The ID token of ``line`` that fails its checks, or any ID token when the line's confidence is under
    ``SUSPECT_CONFIDENCE``; ``None`` when there is none."""
    failing = next(failing_ids(line.text), None)
    if failing is None and line.confidence < SUSPECT_CONFIDENCE:
        failing = next(id_tokens(line.text), None)
    return failing


def _views(image: np.ndarray, box: tuple[float, float, float, float], shake: list[Motion]) -> Iterator[np.ndarray]:
    """The line cut out with a margin of its own height, the same enlarged twice, and deconvolved by ``shake``'s
    nearby lengths; in each, the rows farther than ``KEPT_ROWS`` line heights from the line are painted over with
    the paper's colour (slivers of the lines above and below cost recognition time and read as noise)."""
    height, width = image.shape[:2]
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    pad = max(4, y1 - y0)
    cut = (max(0, y0 - pad), min(height, y1 + pad), max(0, x0 - pad), min(width, x1 + pad))
    if cut[0] >= cut[1] or cut[2] >= cut[3]:
        return
    keep = int(round(KEPT_ROWS * pad))
    rows = (max(0, y0 - keep - cut[0]), min(cut[1], y1 + keep) - cut[0])

    def alone(view: np.ndarray) -> np.ndarray:
        paper = np.median(view[rows[0]:rows[1]].reshape(-1, *view.shape[2:]), axis=0)
        view = view.copy()
        view[:rows[0]], view[rows[1]:] = paper, paper
        return view

    crop = alone(image[cut[0]:cut[1], cut[2]:cut[3]])
    yield crop
    yield cv2.resize(crop, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    around = (max(0, y0 - DEBLUR_MARGIN), min(height, y1 + DEBLUR_MARGIN),
              max(0, x0 - DEBLUR_MARGIN), min(width, x1 + DEBLUR_MARGIN))
    region = image[around[0]:around[1], around[2]:around[3]]
    inner = (cut[0] - around[0], cut[1] - around[0], cut[2] - around[2], cut[3] - around[2])
    for motion in (m for candidate in shake for m in nearby_lengths(candidate)):
        yield alone(deconvolve(region, motion)[inner[0]:inner[1], inner[2]:inner[3]])


__all__ = ["MIN_AGREEING", "REREAD_CONFIDENCE", "SUSPECT_CONFIDENCE", "reread_ids", "suspect_id", "suspect_lines"]
