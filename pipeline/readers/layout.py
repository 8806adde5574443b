"""Reading order for boxed text: group items into rows by vertical position, then left to right.

Contract: ``group_rows(items, box_of)`` returns the items as rows (top to bottom), each row sorted by ``x0``.
Two items share a row when their vertical extents overlap by at least half the shorter one's height and neither
is more than ``_MAX_HEIGHT_RATIO`` times taller than the other (a tall stamp or vertical label must not glue
two rows together); an item overlapping several open rows joins the one it overlaps most. Items without a box
go last, in input order.
``reading_order(lines)`` flattens that for ``TextLine`` lists.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from pipeline.types import Box, TextLine

T = TypeVar("T")
_MIN_OVERLAP = 0.5
_MAX_HEIGHT_RATIO = 2.3


def group_rows(items: Sequence[T], box_of: Callable[[T], Box | None]) -> list[list[T]]:
    boxed = [(box_of(item), item) for item in items]
    rows: list[tuple[list[float], list[T], list[float]]] = []  # (band [top, bottom], items, x0s)
    for box, item in sorted(((b, i) for b, i in boxed if b is not None), key=lambda bi: (bi[0][1], bi[0][0])):
        best, best_overlap = None, 0.0
        for row in rows:
            band = row[0]
            if band[1] <= box[1]:
                continue
            heights = sorted((band[1] - band[0], box[3] - box[1]))
            if heights[1] > _MAX_HEIGHT_RATIO * max(heights[0], 1e-6):
                continue
            overlap = min(band[1], box[3]) - max(band[0], box[1])
            if overlap / max(heights[0], 1e-6) >= _MIN_OVERLAP and overlap > best_overlap:
                best, best_overlap = row, overlap
        if best is None:
            rows.append(([box[1], box[3]], [item], [box[0]]))
        else:
            best[1].append(item)
            best[2].append(box[0])
    ordered = [[item for _, item in sorted(zip(x0s, members, strict=True), key=lambda xi: xi[0])]
               for _, members, x0s in rows]
    unboxed = [item for box, item in boxed if box is None]
    return ordered + ([unboxed] if unboxed else [])


def reading_order(lines: Sequence[TextLine]) -> list[TextLine]:
    return [line for row in group_rows(lines, lambda line: line.box) for line in row]


__all__ = ["group_rows", "reading_order"]
