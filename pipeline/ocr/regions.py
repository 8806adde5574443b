"""Layout-aware OCR: which detected text boxes are not worth recognising.

Contract: ``cipher_rows(boxes, width, height) -> set[int]`` takes the detector's axis-aligned boxes
``(x0, y0, x1, y1)`` on a ``width``×``height`` page, before any recognition, and returns the indices of the boxes
that make up a VAT invoice's 密码区 (cipher area): a stack of at least ``MIN_ROWS`` long, equally wide lines with
the same left and right edges, one under the other, in the upper right of the page. Extraction ignores the
cipher (DOMAIN §1: "ignore, OCR noise source"), and its lines are among the longest, so they cost the most to
recognise. Anything that does not match the shape exactly is kept: a miss only costs time, never a field.
"""

from __future__ import annotations

from collections.abc import Sequence

Box = tuple[float, float, float, float]

MIN_ROWS = 3
MIN_ASPECT = 9.0  # a cipher row holds ~27 characters on one line
EDGE_TOL = 0.025  # left/right edges agree within this share of the page width
MAX_GAP = 1.2  # vertical gap between rows, in row heights


def cipher_rows(boxes: Sequence[Box], width: float, height: float) -> set[int]:
    long = sorted((i for i, (x0, y0, x1, y1) in enumerate(boxes)
                   if y1 > y0 and (x1 - x0) / (y1 - y0) >= MIN_ASPECT
                   and (x0 + x1) / 2 > 0.5 * width and y1 < 0.6 * height),
                  key=lambda i: boxes[i][1])
    found: set[int] = set()
    for start in long:
        if start in found:
            continue
        stack = [start]
        for j in long:
            last = boxes[stack[-1]]
            x0, y0, x1, y1 = boxes[j]
            h = last[3] - last[1]
            if j in stack or y0 <= last[1]:
                continue
            if (abs(x0 - last[0]) <= EDGE_TOL * width and abs(x1 - last[2]) <= EDGE_TOL * width
                    and 0.7 < (y1 - y0) / h < 1.4 and y0 - last[3] <= MAX_GAP * h):
                stack.append(j)
        if len(stack) >= MIN_ROWS:
            found.update(stack)
    return found


__all__ = ["cipher_rows"]
