"""Geometry of one page's text: find a printed label and read the value printed after it.

Contract:
* ``Layout(lines, width, height)`` wraps the ``TextLine``s of one page (or one invoice region of a page). Texts are
  normalised (full-width → half-width, ``￥`` → ``¥``); boxes are axis-aligned ``(x0, y0, x1, y1)``. Lines without
  a box get a synthetic one (one row each, in reading order), so text-only input still works.
* Works on any segmentation: one OCR box per phrase, one PDF word per box, or whole PDF lines. A label may be split
  across boxes (``名`` + ``称：个人``, ``校`` ``验`` ``码:``) and a value may continue in the next boxes
  (``开票日期：2019`` + ``05 08``, a 校验码 printed in groups of five).
* ``Layout.chain(seg)`` is the text of ``seg`` followed by the boxes to its right on the same row. Boxes more than
  ``COLUMN_GAP`` text heights apart are joined with a tab, which marks a column break: values never run across one.
* ``Layout.value_after(label, value)`` returns a ``Hit`` for every place where the regex ``label`` matches and the
  regex ``value`` matches right after it (after optional colons/spaces, and at most one column break); callers
  choose among the hits by position. ``Hit.conf`` is the lowest OCR score of the boxes the value was read from;
  where a label or value is only part of a box (a whole PDF line), its box is that share of the box's width.
* A photo taken a few degrees off makes rows drift across the page: the page's text slope is estimated from
  neighbouring boxes (``Layout.slope``) and boxes are shifted back onto level rows before anything is read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pipeline.text import normalize
from pipeline.types import Box, TextLine

COLUMN_GAP = 2.0  # a horizontal gap wider than this many text heights separates two columns
_SAME_ROW_OVERLAP = 0.45  # share of the smaller box height two boxes must overlap to be on one row
_MAX_HEIGHT_RATIO = 2.3  # taller boxes (vertical labels, stamps, titles) never join another box's row
_LEAD = re.compile(r"[\s:：]*")
_MIN_SKEW = 0.004  # below this (0.23°) boxes are used as they are


@dataclass(frozen=True)
class Seg:
    """One normalised text box."""

    text: str
    box: Box
    conf: float
    page: int
    index: int

    @property
    def x0(self) -> float:
        return self.box[0]

    @property
    def y0(self) -> float:
        return self.box[1]

    @property
    def x1(self) -> float:
        return self.box[2]

    @property
    def y1(self) -> float:
        return self.box[3]

    @property
    def h(self) -> float:
        return max(self.box[3] - self.box[1], 1e-6)

    @property
    def cx(self) -> float:
        return (self.box[0] + self.box[2]) / 2

    @property
    def cy(self) -> float:
        return (self.box[1] + self.box[3]) / 2


@dataclass(frozen=True)
class Hit:
    """A value read from the page, with where it was read."""

    value: str
    box: Box
    conf: float
    page: int
    label_box: Box

    @property
    def cy(self) -> float:
        return (self.box[1] + self.box[3]) / 2

    @property
    def x0(self) -> float:
        return self.label_box[0]

    @property
    def y0(self) -> float:
        return self.label_box[1]


def union(boxes: Iterable[Box]) -> Box:
    bs = list(boxes)
    return (min(b[0] for b in bs), min(b[1] for b in bs), max(b[2] for b in bs), max(b[3] for b in bs))


def _skew(segs: list[Seg]) -> float:
    """The page's text slope (dy/dx) from neighbouring boxes of one row: each box and the nearest box to its right
    within one text height vertically; the median over pairs at least three heights apart. A photo taken a few
    degrees off makes rows drift by more than a text height across the page."""
    slopes = []
    for a in segs:
        best = None
        for b in segs:
            if b is a or b.x0 < a.x1 or abs(b.h - a.h) > 0.5 * min(a.h, b.h):
                continue
            dx, dy = b.cx - a.cx, b.cy - a.cy
            if abs(dy) < 0.9 * min(a.h, b.h) and dx > 3 * a.h and (best is None or dx < best[0]):
                best = (dx, dy)
        if best is not None:
            slopes.append(best[1] / best[0])
    if len(slopes) < 8:
        return 0.0
    slopes.sort()
    return slopes[len(slopes) // 2]


def _unskew(s: Seg, slope: float) -> Seg:
    dy = slope * s.cx
    return Seg(s.text, (s.x0, s.y0 - dy, s.x1, s.y1 - dy), s.conf, s.page, s.index)


def span_box(spans: Sequence[tuple[int, int, Seg]], lo: int, hi: int) -> Box:
    """The box of characters ``lo:hi`` of a chain: whole boxes, or a share of one box's width (by characters)
    when the range starts or ends inside it (a whole PDF line holding a label and its value)."""
    parts = []
    for a, b, s in spans:
        if a >= hi or b <= lo:
            continue
        n = max(b - a, 1)
        left = s.x0 + (s.x1 - s.x0) * (max(lo, a) - a) / n
        right = s.x0 + (s.x1 - s.x0) * (min(hi, b) - a) / n
        parts.append((left, s.y0, max(right, left), s.y1))
    return union(parts) if parts else spans[0][2].box


def spaced(word: str) -> str:
    """A label regex that tolerates spaces/tabs between its characters: ``'名称'`` → ``'名\\s*称'``."""
    return r"\s*".join(re.escape(ch) for ch in word)


class Layout:
    def __init__(self, lines: Sequence[TextLine], width: float = 0.0, height: float = 0.0):
        segs: list[Seg] = []
        synthetic_y = 0.0
        for line in lines:
            text = normalize(line.text)
            if not text:
                continue
            parts = text.split("\n")
            for k, part in enumerate(parts):
                if line.box is None:
                    box = (0.0, synthetic_y, 10.0 * max(len(part), 1), synthetic_y + 10.0)
                    synthetic_y += 20.0
                else:  # a box holding several lines: each gets its share of the height
                    x0, y0, x1, y1 = (float(v) for v in line.box)
                    step = (y1 - y0) / len(parts)
                    box = (x0, y0 + k * step, x1, y0 + (k + 1) * step)
                segs.append(Seg(part, box, float(line.confidence), line.page, len(segs)))
        self.slope = _skew(segs)
        if abs(self.slope) > _MIN_SKEW:
            segs = [_unskew(s, self.slope) for s in segs]
        self.segs = segs
        self.width = width or max((s.x1 for s in segs), default=0.0)
        self.height = height or max((s.y1 for s in segs), default=0.0)
        self._row_cache: dict[int, list[Seg]] = {}

    def subset(self, segs: Sequence[Seg]) -> Layout:
        """A layout over some of this one's boxes (same page size)."""
        sub = Layout([], self.width, self.height)
        sub.segs = list(segs)
        return sub

    def tokens(self, segs: Sequence[Seg]) -> list[Seg]:
        """``segs`` with every box holding several space-separated words cut into one box per word, each given
        a share of the width by its characters (Chinese counted double). Used to read table rows from whole lines."""
        out: list[Seg] = []
        for s in segs:
            words = [(m.start(), m.end()) for m in re.finditer(r"\S+", s.text)]
            if len(words) <= 1:
                out.append(s)
                continue
            weights = [2 if "\u4e00" <= ch <= "\u9fff" else 1 for ch in s.text]
            total = sum(weights) or 1
            scale = (s.x1 - s.x0) / total
            for a, b in words:
                x0 = s.x0 + sum(weights[:a]) * scale
                x1 = s.x0 + sum(weights[:b]) * scale
                out.append(Seg(s.text[a:b], (x0, s.y0, x1, s.y1), s.conf, s.page, s.index))
        return out

    @property
    def median_height(self) -> float:
        hs = sorted(s.h for s in self.segs)
        return hs[len(hs) // 2] if hs else 0.0

    # ------------------------------------------------------------------ geometry

    @staticmethod
    def same_row(a: Seg, b: Seg) -> bool:
        small, big = sorted((a.h, b.h))
        if big > _MAX_HEIGHT_RATIO * small:
            return False
        overlap = min(a.y1, b.y1) - max(a.y0, b.y0)
        return overlap >= _SAME_ROW_OVERLAP * small

    def right_of(self, seg: Seg) -> list[Seg]:
        """Boxes on ``seg``'s row that start at or after its right edge, nearest first."""
        if seg.index not in self._row_cache:
            tol = 0.6 * seg.h
            row = [s for s in self.segs if s is not seg and s.x0 >= seg.x1 - tol and s.cx > seg.x1
                   and self.same_row(seg, s)]
            self._row_cache[seg.index] = sorted(row, key=lambda s: s.x0)
        return self._row_cache[seg.index]

    def right_of_box(self, box: Box) -> list[Seg]:
        """Boxes on the row of ``box`` (e.g. a label spread over several boxes) that start at or after its right."""
        probe = Seg("", box, 1.0, 0, -1)
        tol = 0.6 * probe.h
        row = [s for s in self.segs if s.x0 >= probe.x1 - tol and s.cx > probe.x1 and self.same_row(probe, s)]
        return sorted(row, key=lambda s: s.x0)

    def row(self, seg: Seg) -> list[Seg]:
        """Every box on ``seg``'s row (``seg`` included), left to right."""
        return sorted([s for s in self.segs if s is seg or self.same_row(seg, s)], key=lambda s: s.x0)

    def chain(self, seg: Seg, max_segs: int = 8) -> tuple[str, list[tuple[int, int, Seg]]]:
        """``seg``'s text plus the following boxes on its row; tab at a column break. Returns text and spans."""
        text, spans = seg.text, [(0, len(seg.text), seg)]
        prev = seg
        for nxt in self.right_of(seg)[:max_segs]:
            if nxt.x0 < prev.x1 - 0.6 * prev.h:  # overlaps the previous box: a duplicate line, stop
                break
            gap = nxt.x0 - prev.x1
            sep = "\t" if gap > COLUMN_GAP * min(prev.h, nxt.h) else " "
            start = len(text) + 1
            text += sep + nxt.text
            spans.append((start, len(text), nxt))
            prev = nxt
        return text, spans

    # ------------------------------------------------------------------ search

    def find(self, pattern: str | re.Pattern[str]) -> list[tuple[Seg, re.Match[str], str, list]]:
        """Every box whose chain matches ``pattern`` with the match starting inside the box itself."""
        rx = re.compile(pattern) if isinstance(pattern, str) else pattern
        out = []
        for seg in self.segs:
            text, spans = self.chain(seg)
            out.extend((seg, m, text, spans) for m in rx.finditer(text) if m.start() < len(seg.text))
        return out

    def labels(self, pattern: str | re.Pattern[str]) -> list[tuple[Box, Seg]]:
        """The box covered by each match of ``pattern`` (a label split over several boxes gives their union),
        with the box the match starts in."""
        out: list[tuple[Box, Seg]] = []
        for seg, m, text, spans in self.find(pattern):
            box = span_box(spans, m.start(), m.end())
            if all(box != b for b, _ in out):
                out.append((box, seg))
        return out

    def label_boxes(self, pattern: str | re.Pattern[str]) -> list[Box]:
        return [b for b, _ in self.labels(pattern)]

    def segs_matching(self, pattern: str | re.Pattern[str]) -> list[Seg]:
        rx = re.compile(pattern) if isinstance(pattern, str) else pattern
        return [s for s in self.segs if rx.search(s.text)]

    def value_after(self, label: str | re.Pattern[str], value: str | re.Pattern[str], *, compact: bool = False,
                    skip_gap: bool = True) -> list[Hit]:
        """Values matching ``value`` printed right after ``label``, one hit per label occurrence.

        The value may start after one column break (``skip_gap``; a label spaced far from its value) but never
        spans one. ``compact`` removes spaces before matching (numbers printed in groups). The value is group 1
        of ``value`` if it has groups, else the whole match.
        """
        vrx = re.compile(value) if isinstance(value, str) else value
        hits: list[Hit] = []
        for seg, m, text, spans in self.find(label):
            start = _LEAD.match(text, m.end()).end()
            if not skip_gap and "\t" in text[m.end():start]:
                continue
            rest = text[start:].split("\t", 1)[0]
            kept = [(i, ch) for i, ch in enumerate(rest) if not (compact and ch.isspace())]
            vm = vrx.match("".join(ch for _, ch in kept))
            if not vm or vm.end() == 0:
                continue
            lo, hi = kept[vm.start()][0], kept[vm.end() - 1][0] + 1
            val = vm.group(1) if vrx.groups else vm.group(0)
            if val is None:
                continue
            used = [s for a, b, s in spans if a < start + hi and b > start + lo] or [seg]
            hits.append(Hit(val.strip(), span_box(spans, start + lo, start + hi), min(s.conf for s in used),
                            seg.page, span_box(spans, m.start(), m.end())))
        return hits

    def region(self, x0: float = float("-inf"), y0: float = float("-inf"), x1: float = float("inf"),
               y1: float = float("inf")) -> list[Seg]:
        """Boxes whose centre lies inside the rectangle, top to bottom, left to right."""
        inside = [s for s in self.segs if x0 <= s.cx <= x1 and y0 <= s.cy <= y1]
        return sorted(inside, key=lambda s: (s.cy, s.x0))

    def rows(self, segs: Sequence[Seg]) -> list[list[Seg]]:
        """Group ``segs`` into rows (top to bottom), each left to right."""
        rows: list[list[Seg]] = []
        for s in sorted(segs, key=lambda s: s.cy):
            for r in rows:
                ref = r[0]
                if self.same_row(ref, s) or abs(ref.cy - s.cy) < 0.35 * min(ref.h, s.h):
                    r.append(s)
                    break
            else:
                rows.append([s])
        return [sorted(r, key=lambda s: s.x0) for r in rows]

    def text(self) -> str:
        return "\n".join(" ".join(s.text for s in r) for r in self.rows(self.segs))


__all__ = ["COLUMN_GAP", "Hit", "Layout", "Seg", "spaced", "union"]
