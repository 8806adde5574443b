"""Layout-aware OCR: which detected text boxes are not worth recognising.

Contract: ``cipher_rows(boxes, width, height) -> set[int]`` takes the detector's axis-aligned boxes
``(x0, y0, x1, y1)`` on a ``width``×``height`` page, before any recognition, and returns the indices of the boxes
that make up a VAT invoice's 密码区 (cipher area): a stack of at least ``MIN_ROWS`` long, equally wide lines with
the same left and right edges, one under the other, in the upper right of the page. Extraction ignores the
cipher (DOMAIN §1: "ignore, OCR noise source"), and its lines are among the longest, so they cost the most to
recognise. Anything that does not match the shape exactly is kept: a miss only costs time, never a field.

``labelled_values(boxes) -> dict[int, int]`` maps each long box that has a short box of its own to its left on
the same row (a printed label in its own cell, as in the buyer and seller blocks of a VAT invoice) to that label's
index. The recogniser reads the labels first; ``unneeded_label(text)`` then tells which values no extraction uses:
the addresses, telephone numbers and bank accounts (地址、电话 / 开户行及账号), four of the longest lines of a
paper or e-VAT invoice. A value whose label is misread, merged into its cell or anything else is recognised.
"""

from __future__ import annotations

import re
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


VALUE_ASPECT = 5.0  # a value worth deferring is a long line (an address holds ~20 characters)
LABEL_ASPECT = 6.5  # a label cell holds a few characters: 地址、电话： / 开户行及账号：
MAX_LABEL_GAP = 4.0  # label to value, in row heights
_UNNEEDED = re.compile(r"地\s*址|电\s*话|开\s*户|[账帐]\s*号")


def labelled_values(boxes: Sequence[Box]) -> dict[int, int]:
    """{value index: label index} for long boxes with a short box just left of them on the same row."""
    found: dict[int, int] = {}
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        h = y1 - y0
        if h <= 0 or (x1 - x0) / h < VALUE_ASPECT:
            continue
        best, best_gap = None, MAX_LABEL_GAP * h
        for j, (a0, b0, a1, b1) in enumerate(boxes):
            lh = b1 - b0
            same_row = lh > 0 and abs((b0 + b1) - (y0 + y1)) / 2 <= 0.5 * min(h, lh)
            if j == i or not same_row or (a1 - a0) / lh > LABEL_ASPECT:
                continue
            gap = x0 - a1
            if -0.5 * h <= gap <= best_gap and a0 < x0:
                best, best_gap = j, gap
        if best is not None:
            found[i] = best
    return {value: label for value, label in found.items() if label not in found}  # a label is not a value


def unneeded_label(text: str) -> bool:
    """Whether a label heads a value that extraction never uses: an address, telephone number or bank account."""
    return bool(_UNNEEDED.search(text))


__all__ = ["cipher_rows", "labelled_values", "unneeded_label"]
